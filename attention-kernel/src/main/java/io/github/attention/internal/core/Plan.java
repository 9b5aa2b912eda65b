package io.github.attention.internal.core;

import io.github.attention.internal.core.WorkItem.HeadSweep;
import io.github.attention.internal.core.WorkItem.KeyChunk;
import io.github.attention.internal.core.WorkItem.KvAccess;
import io.github.attention.internal.core.WorkItem.QueryBlock;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.Blocking;
import java.util.ArrayList;
import java.util.List;

/**
 * How one attention call is cut into work items. What each output row's arithmetic is depends on the shapes
 * alone ({@link Blocking}):
 *
 * <ul>
 *   <li>A split call (at most {@link Blocking#SPLIT_MAX_QUERY_ROWS} query rows over more than one chunk of
 *       {@link Blocking#chunkKeys} keys, partial results within {@link Blocking#SPLIT_MAX_PARTIAL_FLOATS}):
 *       one {@link KeyChunk} per (chunk, group of KV heads), merged afterwards in chunk order.
 *   <li>A call whose query rows fit one block of {@code ROW_TARGET / groupSize} rows: one {@link HeadSweep}
 *       per group of KV heads.
 *   <li>Any other call: one {@link QueryBlock} per (KV head, block of query rows), head-major, so that a
 *       thread prepares a head's keys and values once for all the blocks of it that it runs.
 * </ul>
 *
 * How many KV heads one item sweeps depends on the thread count (all of them when single-threaded, so that
 * K and V are read in address order, otherwise enough items for the threads); heads are independent, so that
 * changes no result. A plan does not depend on the exact key count, only on what it decides ({@code split},
 * {@code prepareHeads}): consecutive decoding steps share one plan, which {@link #of} finds again instead of
 * allocating a new one.
 *
 * @param ops the backend's block operations, whose widths the plan is sized for
 * @param spec the call's spec
 * @param qLen query rows of the call
 * @param threads threads the call may use
 * @param paddedDim the head width rounded up to {@link BlockOps#dimStep()}: accumulator and packed rows
 * @param split the key chunks of a split call, or null if the call is not split
 * @param prepareHeads whether {@link QueryBlock}s of a KV head share its keys and values, prepared once
 * @param rowsPerItem most rows (query rows × query heads of one KV head) an item has
 * @param headsPerItem most KV heads an item sweeps
 * @param items the work items, in the order threads take them
 */
record Plan(BlockOps ops, AttentionSpec spec, int qLen, int threads, int paddedDim, KeyChunks split,
    boolean prepareHeads, int rowsPerItem, int headsPerItem, List<WorkItem> items) {

  /** Rows (query rows × query heads of a group) per item when the group is not larger. */
  static final int ROW_TARGET = 128;
  /** Rows below which an item reads keys and values in place (see {@link KvAccess#IN_PLACE}). */
  static final int FEW_ROWS = 16;
  /**
   * Largest transposed-K (and packed-V) scratch, in floats, for preparing a whole KV head once for all its
   * query blocks; longer heads are packed block by block in every item.
   */
  static final int PREPARED_LIMIT = 1 << 20;

  /**
   * The chunks of a split call.
   *
   * @param keys keys per chunk, {@link Blocking#chunkKeys}
   * @param count number of chunks, more than one
   */
  record KeyChunks(int keys, int count) {}

  Plan {
    items = List.copyOf(items);
  }

  /** @return whether the call's keys are split into chunks */
  boolean isSplit() {
    return split != null;
  }

  /**
   * The plan of a call, one of {@code recent} if an equal one is there (then nothing is allocated), else a
   * new one, which replaces the oldest entry of {@code recent}.
   *
   * @param recent a small cache of plans, owned by the calling thread
   */
  static Plan of(BlockOps ops, AttentionSpec spec, int qLen, int kvLen, int threads, Plan[] recent) {
    int group = spec.groupSize();
    int paddedDim = roundUp(spec.headDim(), ops.dimStep());
    int chunkKeys = Blocking.chunkKeys(kvLen);
    int chunks = Blocking.chunks(kvLen);
    long partialFloats = (long) chunks * spec.queryHeads() * qLen * paddedDim;
    boolean split = qLen <= Blocking.SPLIT_MAX_QUERY_ROWS && chunks > 1
        && partialFloats <= Blocking.SPLIT_MAX_PARTIAL_FLOATS;
    // The whole query range in one block when it fits (or when split: then rows are few).
    int queryRows = split ? qLen : Math.max(1, ROW_TARGET / group);
    boolean oneBlock = qLen <= queryRows;
    long keyBlocks = ((long) kvLen + Blocking.KEY_BLOCK - 1) / Blocking.KEY_BLOCK;
    boolean prepare = !oneBlock && keyBlocks * Blocking.KEY_BLOCK * paddedDim <= PREPARED_LIMIT;
    for (int i = 0; i < recent.length; i++) {
      Plan p = recent[i];
      if (p != null && p.ops == ops && p.qLen == qLen && p.threads == threads && p.prepareHeads == prepare
          && (split ? p.split != null && p.split.keys == chunkKeys && p.split.count == chunks : p.split == null)
          && p.spec.equals(spec)) {
        return p;
      }
    }
    KeyChunks chunking = split ? new KeyChunks(chunkKeys, chunks) : null;
    Plan plan = build(ops, spec, qLen, threads, paddedDim, chunking, prepare, queryRows);
    System.arraycopy(recent, 0, recent, 1, recent.length - 1);
    recent[0] = plan;
    return plan;
  }

  private static Plan build(BlockOps ops, AttentionSpec spec, int qLen, int threads, int paddedDim,
      KeyChunks split, boolean prepare, int queryRows) {
    int group = spec.groupSize();
    int kvHeads = spec.kvHeads();
    List<WorkItem> items = new ArrayList<>();
    if (qLen <= queryRows) {
      int perHead = split == null ? 1 : split.count;
      // Sweeping all heads block by block reads K and V in address order; give items fewer heads only
      // when the threads need more items.
      int heads = threads == 1 || perHead >= 2 * threads ? kvHeads : 1;
      KvAccess access = access(ops, qLen * group, spec.headDim(), false);
      for (int c = 0; c < perHead; c++) {
        for (int g0 = 0; g0 < kvHeads; g0 += heads) {
          items.add(split == null ? new HeadSweep(g0, g0 + heads, access)
              : new KeyChunk(c, g0, g0 + heads, access));
        }
      }
      return new Plan(ops, spec, qLen, threads, paddedDim, split, false, qLen * group, heads, items);
    }
    for (int g = 0; g < kvHeads; g++) {
      for (int i0 = 0; i0 < qLen; i0 += queryRows) {
        int i1 = Math.min(qLen, i0 + queryRows);
        items.add(new QueryBlock(g, i0, i1, access(ops, (i1 - i0) * group, spec.headDim(), prepare)));
      }
    }
    return new Plan(ops, spec, qLen, threads, paddedDim, null, prepare, queryRows * group, 1, items);
  }

  /** Few rows read in place where the backend can; otherwise prepared per head if the plan does, else packed. */
  private static KvAccess access(BlockOps ops, int rows, int headDim, boolean prepare) {
    if (rows < FEW_ROWS && ops.readsInPlace(headDim)) {
      return KvAccess.IN_PLACE;
    }
    return prepare ? KvAccess.PREPARED_HEAD : KvAccess.PACKED_BLOCK;
  }

  static int roundUp(int n, int step) {
    return (n + step - 1) / step * step;
  }
}
