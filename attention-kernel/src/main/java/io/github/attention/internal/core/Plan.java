package io.github.attention.internal.core;

import io.github.attention.internal.core.WorkItem.HeadSweep;
import io.github.attention.internal.core.WorkItem.KeyChunk;
import io.github.attention.internal.core.WorkItem.KvAccess;
import io.github.attention.internal.core.WorkItem.QueryBlock;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.Blocking;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * How one attention call is cut into work items. What each output row's arithmetic is depends on the shapes
 * alone ({@link Blocking}):
 *
 * <ul>
 *   <li>A split call ({@link Blocking#splits}): one {@link KeyChunk} per (chunk, group of KV heads), merged
 *       afterwards in chunk order.
 *   <li>A call whose query rows fit one block of {@code ROW_TARGET / groupSize} rows: one {@link HeadSweep}
 *       per group of KV heads.
 *   <li>Any other call: one {@link QueryBlock} per (KV head, block of query rows), head-major, so that a
 *       thread prepares a head's keys and values once for all the blocks of it that it runs.
 * </ul>
 *
 * How many KV heads one item sweeps depends on the thread count (all of them when single-threaded, so that
 * K and V are read in address order, otherwise enough items for the threads); heads are independent, so that
 * changes no result. A plan does not depend on the exact key count, only on what it decides (the chunks,
 * whether heads are prepared, and with a sliding window narrower than the keys the height of the query
 * blocks, which the cache compares too): consecutive decoding steps share one plan, which {@link #of} finds again
 * instead of allocating a new one.
 *
 * @param ops the backend's block operations, whose widths the plan is sized for
 * @param spec the call's spec
 * @param qLen query rows of the call
 * @param threads threads the call may use
 * @param paddedDim the head width rounded up to {@link BlockOps#dimStep()}: accumulator and packed rows
 * @param split the key chunks of a split call; empty if the call is not split
 * @param inPlace whether the call's K and V can be read where they are ({@link KvSource#readsInPlace}):
 *     otherwise few-row items widen them block by block, {@link KvAccess#PACKED_ROWS}
 * @param prepareHeads whether {@link QueryBlock}s read their KV head prepared once per thread (decided by
 *     the head's length, so part of what makes two calls' plans equal); their items then say
 *     {@link KvAccess#PREPARED_HEAD}, except for blocks of so few rows that they read in place
 * @param rowsPerItem most rows (query rows × query heads of one KV head) an item has
 * @param headsPerItem most KV heads an item sweeps
 * @param packs whether some item packs key and value blocks (or prepares heads) in the workspace
 * @param items the work items, in the order threads take them
 */
record Plan(BlockOps ops, AttentionSpec spec, int qLen, int threads, int paddedDim, Optional<KeyChunks> split,
    boolean inPlace, boolean prepareHeads, int rowsPerItem, int headsPerItem, boolean packs, List<WorkItem> items) {

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
   * Most floats of one key block packed for all the KV heads of an item; items of calls with more heads (or
   * wider ones) sweep fewer heads each.
   */
  static final int PACKED_LIMIT = 1 << 22;
  /** How many recent plans a thread keeps. */
  static final int RECENT = 16;

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
    return split.isPresent();
  }

  /** @return how many chunks the keys are cut into: 1 for a call that is not split */
  int chunks() {
    return split.isPresent() ? split.get().count() : 1;
  }

  /**
   * The plan of a call: one of {@code recent} if an equal one is there (then nothing is allocated, and it
   * moves to the front), else a new one, at the front; the least recently used falls out.
   *
   * @param recent the calling thread's recent plans, most recently used first ({@link #RECENT} of them)
   */
  static Plan of(BlockOps ops, AttentionSpec spec, int qLen, int kvLen, int threads, Plan[] recent) {
    return of(ops, spec, qLen, kvLen, threads, true, recent);
  }

  /**
   * As {@link #of(BlockOps, AttentionSpec, int, int, int, Plan[])}, for K and V that may not be readable in
   * place.
   */
  static Plan of(BlockOps ops, AttentionSpec spec, int qLen, int kvLen, int threads, boolean inPlace,
      Plan[] recent) {
    int group = spec.groupSize();
    int paddedDim = roundUp(spec.headDim(), ops.dimStep());
    boolean split = Blocking.splits(qLen, kvLen, spec.queryHeads(), paddedDim);
    int chunkKeys = split ? Blocking.chunkKeys(kvLen) : 0;
    int chunks = split ? Blocking.chunks(kvLen) : 1;
    // The whole query range in one block when it fits (or when split: then rows are few).
    int queryRows = split ? qLen : Math.max(1, rowTarget(spec, kvLen) / group);
    boolean oneBlock = qLen <= queryRows;
    long keyBlocks = ((long) kvLen + Blocking.KEY_BLOCK - 1) / Blocking.KEY_BLOCK;
    boolean prepare = !oneBlock && keyBlocks * Blocking.KEY_BLOCK * paddedDim <= PREPARED_LIMIT;
    for (int i = 0; i < recent.length; i++) {
      Plan p = recent[i];
      if (p != null && p.ops == ops && p.qLen == qLen && p.threads == threads && p.inPlace == inPlace
          && p.prepareHeads == prepare && p.rowsPerItem == (oneBlock ? qLen : queryRows) * group
          && p.chunks() == chunks && (!split || p.split.get().keys() == chunkKeys) && p.spec.equals(spec)) {
        System.arraycopy(recent, 0, recent, 1, i);
        recent[0] = p;
        return p;
      }
    }
    Optional<KeyChunks> chunking = split ? Optional.of(new KeyChunks(chunkKeys, chunks)) : Optional.empty();
    Plan plan = build(ops, spec, qLen, threads, paddedDim, chunking, inPlace, prepare, queryRows);
    System.arraycopy(recent, 0, recent, 1, recent.length - 1);
    recent[0] = plan;
    return plan;
  }

  private static Plan build(BlockOps ops, AttentionSpec spec, int qLen, int threads, int paddedDim,
      Optional<KeyChunks> split, boolean inPlace, boolean prepare, int queryRows) {
    int group = spec.groupSize();
    int kvHeads = spec.kvHeads();
    List<WorkItem> items = new ArrayList<>();
    if (qLen <= queryRows) {
      int perHead = split.isPresent() ? split.get().count() : 1;
      // Sweeping all heads block by block reads K and V in address order; give items fewer heads only
      // when the threads need more items, or when one block of all heads would not fit the scratch.
      int heads = threads == 1 || perHead >= 2 * threads ? kvHeads : 1;
      heads = (int) Math.max(1, Math.min(heads, PACKED_LIMIT / ((long) Blocking.KEY_BLOCK * paddedDim)));
      KvAccess access = access(ops, qLen * group, spec.headDim(), inPlace, false);
      for (int c = 0; c < perHead; c++) {
        for (int g0 = 0; g0 < kvHeads; g0 += heads) {
          int g1 = Math.min(kvHeads, g0 + heads);
          items.add(split.isEmpty() ? new HeadSweep(g0, g1, access) : new KeyChunk(c, g0, g1, access));
        }
      }
      return new Plan(ops, spec, qLen, threads, paddedDim, split, inPlace, false, qLen * group, heads,
          access != KvAccess.IN_PLACE && access != KvAccess.STORED_ROWS, items);
    }
    boolean packs = false;
    for (int g = 0; g < kvHeads; g++) {
      for (int i0 = 0; i0 < qLen; i0 += queryRows) {
        int i1 = Math.min(qLen, i0 + queryRows);
        KvAccess access = access(ops, (i1 - i0) * group, spec.headDim(), inPlace, prepare);
        packs |= access != KvAccess.IN_PLACE && access != KvAccess.STORED_ROWS;
        items.add(new QueryBlock(g, i0, i1, access));
      }
    }
    return new Plan(ops, spec, qLen, threads, paddedDim, split, inPlace, prepare, queryRows * group, 1, packs,
        items);
  }

  /**
   * Few rows read in place where the backend can (from the caller's arrays if they can be, else from rows
   * widened block by block); otherwise prepared per head if the plan does, else packed.
   */
  private static KvAccess access(BlockOps ops, int rows, int headDim, boolean inPlace, boolean prepare) {
    if (rows < FEW_ROWS && ops.readsInPlace(headDim)) {
      if (inPlace) {
        return KvAccess.IN_PLACE;
      }
      return ops.readsStored(headDim) ? KvAccess.STORED_ROWS : KvAccess.PACKED_ROWS;
    }
    return prepare ? KvAccess.PREPARED_HEAD : KvAccess.PACKED_BLOCK;
  }

  /**
   * Rows (times the group) per query block: {@link #ROW_TARGET}, or for a sliding window narrower than the
   * keys a block of {@code window/16} rows (at least 32): a block visits the keys of its first row's window
   * to its last row's position, so its height is wasted work on every row; at 1/16 of the window that is
   * about 6% (measured on prefill-2k-causal-window512, Intel Xeon: 61 GFLOP/s against 57 with 128 rows).
   */
  private static int rowTarget(AttentionSpec spec, int keys) {
    int window = spec.slidingWindow();
    if (window == 0 || window >= keys) {
      return ROW_TARGET;
    }
    return Math.min(ROW_TARGET, Math.max(2 * FEW_ROWS, window / 16));
  }

  static int roundUp(int n, int step) {
    return (n + step - 1) / step * step;
  }
}
