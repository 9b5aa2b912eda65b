package io.github.attention.kernel;

/**
 * The rules that fix the order of every call's floating-point operations. A kernel's output depends on these
 * rules and on its backend, never on the number of threads, so they are part of the contract: tests that
 * bound the kernels' rounding errors (attention-verify's {@code ErrorBound}) read them from here.
 *
 * <ul>
 *   <li>Keys are taken in blocks of {@link #KEY_BLOCK}, aligned at key 0, with an online softmax: one running
 *       maximum per row, and one rescale of the row's sum and output per block whose maximum grew.
 *   <li>A call of at most {@link #SPLIT_MAX_QUERY_ROWS} query rows over more than one chunk of
 *       {@link #chunkKeys(int)} keys (decoding) is split into those chunks, aligned at key 0: each chunk runs
 *       the online softmax from a fresh state, and the chunks' results are merged in chunk order
 *       (split-KV, as in FlashDecoding), unless their partial results would take more than
 *       {@link #SPLIT_MAX_PARTIAL_FLOATS} floats (each head's row counted at the backend's padded width).
 *   <li>With a sliding window ({@link AttentionSpec#withSlidingWindow}), the call covers only the keys from
 *       the block holding query row 0's first visible key, {@code base = ⌊max(0, kvLen − qLen − window + 1)
 *       / KEY_BLOCK⌋·KEY_BLOCK}, to kvLen: the split rule and the chunks apply to that span
 *       ({@code kvLen − base} keys), the chunks aligned at {@code base}, and blocks before it are never
 *       read. (Blocks stay aligned at key 0.)
 * </ul>
 */
public final class Blocking {

  /** Keys per block of the online softmax. */
  public static final int KEY_BLOCK = 64;
  /** Most query rows (tokens) of a call that splits its keys into chunks. */
  public static final int SPLIT_MAX_QUERY_ROWS = 4;
  /** Fewest keys per chunk of a split call. */
  public static final int MIN_CHUNK_KEYS = 256;
  /** Most chunks a split call has: longer key ranges get longer chunks. */
  public static final int MAX_CHUNKS = 64;
  /**
   * Most floats of partial results a split call may keep (chunks × query heads × query rows × padded head
   * width); a call that would need more is not split.
   */
  public static final int SPLIT_MAX_PARTIAL_FLOATS = 1 << 22;

  private Blocking() {}

  /**
   * Keys per chunk of a split call over {@code kvLen} keys: {@link #MIN_CHUNK_KEYS} up to
   * {@code MIN_CHUNK_KEYS · MAX_CHUNKS} keys, then longer, so that there are at most {@link #MAX_CHUNKS}
   * chunks; always a whole number of key blocks.
   *
   * @param kvLen number of keys, at least 1
   * @return keys per chunk (the last chunk may be shorter)
   * @throws IllegalArgumentException if {@code kvLen < 1}
   */
  public static int chunkKeys(int kvLen) {
    if (kvLen < 1) {
      throw new IllegalArgumentException("kvLen must be positive, got " + kvLen);
    }
    int perChunk = (int) (((long) kvLen + MAX_CHUNKS - 1) / MAX_CHUNKS);
    int blocks = (perChunk + KEY_BLOCK - 1) / KEY_BLOCK;
    return Math.max(MIN_CHUNK_KEYS, blocks * KEY_BLOCK);
  }

  /**
   * The split rule: whether a call splits its keys into chunks. It does when it has at most
   * {@link #SPLIT_MAX_QUERY_ROWS} query rows, more than one chunk of {@link #chunkKeys} keys, and the chunks'
   * partial results, {@code chunks · queryHeads · qLen · rowFloats} floats, are at most
   * {@link #SPLIT_MAX_PARTIAL_FLOATS}.
   *
   * @param qLen query rows of the call, at least 1
   * @param kvLen keys of the call, at least 1
   * @param queryHeads query heads, at least 1
   * @param rowFloats floats of one head's partial output row: the head width rounded up to the backend's
   *     vector width (the width itself for the scalar backend)
   * @return whether the call splits
   * @throws IllegalArgumentException if {@code kvLen < 1}
   */
  public static boolean splits(int qLen, int kvLen, int queryHeads, int rowFloats) {
    int chunks = chunks(kvLen);
    long partialFloats = (long) chunks * queryHeads * qLen * rowFloats;
    return qLen <= SPLIT_MAX_QUERY_ROWS && chunks > 1 && partialFloats <= SPLIT_MAX_PARTIAL_FLOATS;
  }

  /**
   * How many chunks a split call over {@code kvLen} keys has: {@code ceil(kvLen / chunkKeys(kvLen))}. A call
   * can split only when this is more than one.
   *
   * @param kvLen number of keys, at least 1
   * @return the number of chunks, 1 to {@link #MAX_CHUNKS}
   * @throws IllegalArgumentException if {@code kvLen < 1}
   */
  public static int chunks(int kvLen) {
    int chunk = chunkKeys(kvLen);
    return (int) (((long) kvLen + chunk - 1) / chunk);
  }
}
