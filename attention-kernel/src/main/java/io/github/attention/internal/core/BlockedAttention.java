package io.github.attention.internal.core;

import io.github.attention.internal.core.WorkItem.HeadSweep;
import io.github.attention.internal.core.WorkItem.KeyChunk;
import io.github.attention.internal.core.WorkItem.KvAccess;
import io.github.attention.internal.core.WorkItem.QueryBlock;
import io.github.attention.internal.core.Workspace.Activity;
import io.github.attention.internal.parallel.Teams;
import io.github.attention.internal.parallel.WorkerTeam;
import io.github.attention.kernel.AttentionBatch;
import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.Blocking;
import io.github.attention.kernel.HeadRows;
import io.github.attention.kernel.KvTensor;
import io.github.attention.kernel.KvType;
import io.github.attention.kernel.Parallelism;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The blocked, one-pass attention algorithm, written once for every backend (the structure of
 * FlashAttention-2, Dao 2023, arXiv 2307.08691, with the online softmax of {@link OnlineSoftmax}); the
 * backend supplies only the leaf {@link BlockOps}.
 *
 * <p>A call is checked, planned ({@link Plan}: work items fixed by the shapes), run on the threads of its
 * {@link Parallelism} and, if its keys were split into chunks, merged ({@link SplitMerge}). An item covers
 * query rows of the query heads of some KV heads: its rows are every (query row, query head of KV head
 * {@code g}) pair, {@code r = row · groupSize + headInGroup}, so all query heads sharing a KV head reuse each
 * key block. For every visible key block the item
 *
 * <ol>
 *   <li>gets the block's keys and values ({@link KvAccess}): read in place for few rows, else packed
 *       contiguously (token rows of the caller's arrays are a power-of-two stride apart and would fight over
 *       a few L1 cache sets) and the keys transposed, {@code kt[d][key]}, so SIMD lanes run across keys;
 *   <li>computes raw scores {@code q·k};
 *   <li>turns them into weights and updates the running maximum and sum ({@link OnlineSoftmax});
 *   <li>rescales the output accumulator and adds {@code p·V}.
 * </ol>
 *
 * Key blocks wholly in the causal future of an item's rows are never visited. At the end each accumulator
 * row is divided by its running sum (rows that saw no key give zeros), or, for a key chunk, left in the
 * call's {@link Partials}.
 *
 * <p>Decoding reads K and V in place, sweeping all KV heads block by block so that memory is read in address
 * order. How fp32 blocks are touched depends on the processor ({@link DecodeOrder}, the same bits either
 * way): in address order, {@link #inPhases} computes straight from memory, a few keys of every head at a
 * time, so that a hardware prefetcher that follows the token-strided rows streams the block while the tiles
 * compute (Intel Xeon); read first, it reads the block's keys once in address order ({@link
 * BlockOps#prefetch}), which streams them into L2, computes every head's scores from there, and does the same
 * for the values (AMD Zen 4, whose prefetchers do not follow those rows). The stored 16- and 8-bit rows and,
 * in address order, head-major layouts go head by head after one such pass over the block's K and V. A pass
 * and the arithmetic do not overlap: Java has no prefetch instruction, and loads that miss to memory in the
 * middle of the arithmetic fill the core's queues and slow it more than they overlap. Measured on
 * decode-32k-gqa (Zen 5, one thread): the pass alone reads at 32-34 GB/s; with the arithmetic, the call reads
 * 18-20 GB/s. Computing straight from the stream token by token with all heads of a token together (no
 * separate pass) was slower there: 9 GB/s, as the query rows no longer stayed in registers and partial sums
 * went through memory, at 2 to 3 cycles per 512-bit store. Both orders keep the register tiles of the
 * per-head order (4 query rows × 4 keys for scores, 4 rows × 64 columns over 16 keys for values).
 */
public final class BlockedAttention implements AttentionKernel {

  private static final int KEY_BLOCK = Blocking.KEY_BLOCK;
  private static final AtomicLong CALL_IDS = new AtomicLong();

  private final Backend backend;
  private final BlockOps ops;
  private final DecodeOrder decodeOrder;

  /**
   * @param backend the backend whose {@link BlockOps} the kernel runs on
   */
  public BlockedAttention(Backend backend) {
    this(backend, DecodeOrder.forThisMachine());
  }

  /**
   * @param backend the backend whose {@link BlockOps} the kernel runs on
   * @param decodeOrder how decoding items read fp32 K and V in place (the bits are the same either way)
   */
  public BlockedAttention(Backend backend, DecodeOrder decodeOrder) {
    this.backend = backend;
    this.ops = backend.blockOps();
    this.decodeOrder = Objects.requireNonNull(decodeOrder, "decodeOrder");
  }

  /** @return the backend this kernel runs on */
  public Backend backend() {
    return backend;
  }

  @Override
  public String name() {
    return backend.name();
  }

  @Override
  public void attend(AttentionSpec spec, int qLen, int kvLen, float[] q, float[] k, float[] v, float[] mask,
      float[] out) {
    attend(spec, qLen, kvLen, q, k, v, mask, out, Parallelism.single());
  }

  @Override
  public void attend(AttentionSpec spec, int qLen, int kvLen, float[] q, float[] k, float[] v, float[] mask,
      float[] out, Parallelism parallelism) {
    attendArrays(spec, qLen, kvLen, q, k, v, mask, out, null, parallelism);
  }

  @Override
  public void attend(AttentionSpec spec, int qLen, int kvLen, float[] q, float[] k, float[] v, float[] mask,
      float[] out, float[] lse, Parallelism parallelism) {
    Objects.requireNonNull(lse, "lse must not be null");
    attendArrays(spec, qLen, kvLen, q, k, v, mask, out, lse, parallelism);
  }

  /** The array overloads, with or without a log-sum-exp output. */
  private void attendArrays(AttentionSpec spec, int qLen, int kvLen, float[] q, float[] k, float[] v,
      float[] mask, float[] out, float[] lse, Parallelism parallelism) {
    Checks.attendArguments(spec, qLen, kvLen, q, k, v, mask, out);
    if (lse != null) {
      Checks.lseArgument(lse, spec, qLen, q, k, v, mask, out);
    }
    Objects.requireNonNull(parallelism, "parallelism must not be null");
    Workspace workspace = Workspace.current();
    Call call = workspace.call;
    // enter() first: a refused nested call must leave the running call's sources alone.
    workspace.enter(Activity.ATTEND);
    try {
      // The call's own sources over the arrays: nothing allocated.
      run(spec, qLen, kvLen, q, call.ownKeys(k, kvLen, spec), call.ownValues(v, kvLen, spec), mask, out,
          lse, Teams.of(parallelism), workspace);
    } finally {
      call.close();
      workspace.leave(Activity.ATTEND);
    }
  }

  @Override
  public void attend(AttentionSpec spec, int qLen, int kvLen, float[] q, KvTensor k, KvTensor v, float[] mask,
      float[] out) {
    attend(spec, qLen, kvLen, q, k, v, mask, out, Parallelism.single());
  }

  @Override
  public void attend(AttentionSpec spec, int qLen, int kvLen, float[] q, KvTensor k, KvTensor v, float[] mask,
      float[] out, Parallelism parallelism) {
    attendTensors(spec, qLen, kvLen, q, k, v, mask, out, null, parallelism);
  }

  @Override
  public void attend(AttentionSpec spec, int qLen, int kvLen, float[] q, KvTensor k, KvTensor v, float[] mask,
      float[] out, float[] lse, Parallelism parallelism) {
    Objects.requireNonNull(lse, "lse must not be null");
    attendTensors(spec, qLen, kvLen, q, k, v, mask, out, lse, parallelism);
  }

  /** The tensor overloads, with or without a log-sum-exp output. */
  private void attendTensors(AttentionSpec spec, int qLen, int kvLen, float[] q, KvTensor k, KvTensor v,
      float[] mask, float[] out, float[] lse, Parallelism parallelism) {
    Objects.requireNonNull(k, "k must not be null");
    Objects.requireNonNull(v, "v must not be null");
    Objects.requireNonNull(parallelism, "parallelism must not be null");
    WorkerTeam team = Teams.of(parallelism);
    KvSource keys = KvSources.of(k);
    KvSource values = KvSources.of(v);
    Checks.attendArguments(spec, qLen, kvLen, q, keys, values, mask, out, team.threads());
    if (lse != null) {
      Checks.lseArgument(lse, spec, qLen, q, mask, out, keys.heapArray, values.heapArray, keys.scalesArray,
          values.scalesArray);
    }
    Workspace workspace = Workspace.current();
    workspace.enter(Activity.ATTEND);
    try {
      run(spec, qLen, kvLen, q, keys, values, mask, out, lse, team, workspace);
    } finally {
      workspace.call.close();
      workspace.leave(Activity.ATTEND);
    }
  }

  @Override
  public void attend(AttentionSpec spec, AttentionBatch batch, Parallelism parallelism) {
    Objects.requireNonNull(spec, "spec must not be null");
    Objects.requireNonNull(batch, "batch must not be null");
    Objects.requireNonNull(parallelism, "parallelism must not be null");
    WorkerTeam team = Teams.of(parallelism);
    int n = batch.size();
    Checks.batchArguments(spec, batch, team.threads());
    if (n == 0) {
      return;
    }
    Workspace workspace = Workspace.current();
    workspace.enter(Activity.ATTEND);
    BatchCall calls = workspace.batch;
    try {
      calls.ensure(n);
      for (int s = 0; s < n; s++) {
        KvSource k = KvSources.of(batch.k(s));
        KvSource v = KvSources.of(batch.v(s));
        // Each slot keeps its own last plan: a serving loop keeps sequence s in slot s, whose plan changes
        // only when its chunk count does, however many different lengths the batch holds.
        Plan plan = Plan.of(ops, spec, batch.qLen(s), span(spec, batch.qLen(s), batch.kvLen(s)), team.threads(),
            k.readsInPlace() && v.readsInPlace(), calls.plans[s]);
        Partials partials = calls.partials[s];
        if (plan.isSplit()) {
          Workspace.ensurePartials(partials, plan);
        }
        calls.calls[s].open(this, plan, CALL_IDS.incrementAndGet(), batch.qLen(s), batch.kvLen(s), batch.q(s),
            k, v, batch.mask(s), batch.out(s), partials);
      }
      team.run(calls, calls.open(n));
      for (int s = 0; s < n; s++) {
        if (calls.calls[s].plan.isSplit()) {
          merge(calls.calls[s]);
        }
      }
    } finally {
      calls.close(Math.min(n, calls.calls.length));
      workspace.leave(Activity.ATTEND);
    }
  }

  @Override
  public void attend(AttentionSpec spec, int qLen, int kvLen, HeadRows q, KvTensor k, KvTensor v,
      float[] mask, HeadRows out, Parallelism parallelism) {
    Objects.requireNonNull(q, "q must not be null");
    Objects.requireNonNull(k, "k must not be null");
    Objects.requireNonNull(v, "v must not be null");
    Objects.requireNonNull(out, "out must not be null");
    Objects.requireNonNull(parallelism, "parallelism must not be null");
    WorkerTeam team = Teams.of(parallelism);
    KvSource queries = KvSources.of(q.asTensor());
    KvSource outputs = KvSources.of(out.asTensor());
    KvSource keys = KvSources.of(k);
    KvSource values = KvSources.of(v);
    Checks.segmentArguments(spec, qLen, kvLen, queries, keys, values, mask, outputs, team.threads());
    Workspace workspace = Workspace.current();
    workspace.enter(Activity.ATTEND);
    try {
      int size = qLen * spec.queryHeads() * spec.headDim();
      float[] qRows = workspace.segmentRows(size);
      float[] outRows = workspace.segmentOut(size);
      gather(queries, qLen, workspace.segmentRowsView());
      run(spec, qLen, kvLen, qRows, keys, values, mask, outRows, null, team, workspace);
      scatter(workspace.segmentOutView(), qLen, outputs);
    } finally {
      workspace.call.close();
      workspace.leave(Activity.ATTEND);
    }
  }

  /** Copies rows {@code t < tokens} of {@code src} (F32) into {@code dst}, token-major (segment copies). */
  private static void gather(KvSource src, int tokens, MemorySegment dst) {
    int heads = src.kvHeads;
    long rowBytes = (long) src.headDim * Float.BYTES;
    for (int t = 0; t < tokens; t++) {
      for (int h = 0; h < heads; h++) {
        MemorySegment.copy(src.data, src.row(t, h) * Float.BYTES, dst, (t * heads + h) * rowBytes, rowBytes);
      }
    }
  }

  /** Copies token-major {@code src} into rows {@code t < tokens} of {@code dst} (F32). */
  private static void scatter(MemorySegment src, int tokens, KvSource dst) {
    int heads = dst.kvHeads;
    long rowBytes = (long) dst.headDim * Float.BYTES;
    for (int t = 0; t < tokens; t++) {
      for (int h = 0; h < heads; h++) {
        MemorySegment.copy(src, (t * heads + h) * rowBytes, dst.data, dst.row(t, h) * Float.BYTES, rowBytes);
      }
    }
  }

  /**
   * The keys a call's plan covers: from {@link Call#keyBase} (a sliding window's first block) to kvLen. The
   * split rule of {@link Blocking} applies to this span.
   */
  private static int span(AttentionSpec spec, int qLen, int kvLen) {
    return kvLen - Call.keyBase(spec, qLen, kvLen);
  }

  /** Plans and runs a checked call (inside {@link Activity#ATTEND}). */
  private void run(AttentionSpec spec, int qLen, int kvLen, float[] q, KvSource k, KvSource v, float[] mask,
      float[] out, float[] lse, WorkerTeam team, Workspace workspace) {
    boolean inPlace = k.readsInPlace() && v.readsInPlace();
    Plan plan = Plan.of(ops, spec, qLen, span(spec, qLen, kvLen), team.threads(), inPlace, workspace.plans);
    if (plan.isSplit()) {
      workspace.ensurePartials(plan);
    }
    Call call = workspace.call;
    call.open(this, plan, CALL_IDS.incrementAndGet(), qLen, kvLen, q, k, v, mask, out, workspace.partials);
    call.lse = lse;
    team.run(call, plan.items().size());
    if (plan.isSplit()) {
      merge(call);
    }
  }

  /** Runs one work item of {@code call}, on the thread whose workspace {@code w} is. */
  void run(Call call, WorkItem item, Workspace w) {
    w.ensureItems(call.plan, call.kvLen - call.keyBase);
    try {
      runItem(call, item, w);
    } finally {
      w.endItem(call.plan.headsPerItem());
    }
  }

  private void runItem(Call call, WorkItem item, Workspace w) {
    int qLen = call.qLen;
    switch (item) {
      case QueryBlock b -> {
        int g = b.kvHead();
        if (b.access() == KvAccess.PREPARED_HEAD && !w.holdsPrepared(call.id, g)) {
          prepareHead(call, g, w);
          w.markPrepared(call.id, g);
        }
        start(call, g, g + 1, b.firstRow(), b.endRow(), w);
        sweep(call, g, g + 1, b.firstRow(), b.endRow(), visibleBegin(call, b.firstRow()),
            visibleEnd(call, b.endRow()), b.access(), w);
        normalize(call, g, g + 1, b.endRow() - b.firstRow(), w);
      }
      case HeadSweep s -> {
        start(call, s.firstHead(), s.endHead(), 0, qLen, w);
        sweep(call, s.firstHead(), s.endHead(), 0, qLen, call.keyBase, visibleEnd(call, qLen), s.access(), w);
        normalize(call, s.firstHead(), s.endHead(), qLen, w);
      }
      case KeyChunk c -> {
        int chunkKeys = call.plan.split().get().keys();
        int begin = call.keyBase + c.chunk() * chunkKeys;
        int end = Math.min(visibleEnd(call, qLen), begin + chunkKeys);
        startChunk(call, c, w);
        sweep(call, c.firstHead(), c.endHead(), 0, qLen, begin, end, c.access(), w);
        leavePartials(call, c, w);
      }
    }
  }

  /**
   * The first key block rows from {@code firstRow} on can see: the start of the earliest row's sliding
   * window, rounded down to a block (0 without a window).
   */
  private static int visibleBegin(Call call, int firstRow) {
    return Math.max(call.keyBase, Call.keyBase(call.spec, call.qLen - firstRow, call.kvLen));
  }

  /** Query rows before {@code endRow} see keys {@code j <= row + kvLen - qLen} when causal: the keys to visit. */
  private static int visibleEnd(Call call, int endRow) {
    return call.spec.causal() ? Math.min(call.kvLen, endRow + (call.kvLen - call.qLen)) : call.kvLen;
  }

  /** Fresh states for rows {@code [i0, i1)} of KV heads {@code [g0, g1)}, accumulating into their own rows. */
  private void start(Call call, int g0, int g1, int i0, int i1, Workspace w) {
    for (int g = g0; g < g1; g++) {
      RowState state = w.heads[g - g0];
      locateRows(call, g, i0, i1, state);
      state.start((i1 - i0) * call.spec.groupSize(), call.plan.paddedDim(), ops.sumLanes(), state.own);
    }
  }

  /** Fresh states for a key chunk, accumulating straight into the chunk's blocks of the call's partials. */
  private void startChunk(Call call, KeyChunk c, Workspace w) {
    int kvHeads = call.spec.kvHeads();
    for (int g = c.firstHead(); g < c.endHead(); g++) {
      RowState state = w.heads[g - c.firstHead()];
      locateRows(call, g, 0, call.qLen, state);
      float[] accumulator = call.partials.out[c.chunk() * kvHeads + g];
      state.start(call.qLen * call.spec.groupSize(), call.plan.paddedDim(), ops.sumLanes(), accumulator);
    }
  }

  private static void locateRows(Call call, int g, int i0, int i1, RowState state) {
    AttentionSpec spec = call.spec;
    int headDim = spec.headDim();
    int group = spec.groupSize();
    int qStride = spec.queryHeads() * headDim;
    int rows = (i1 - i0) * group;
    for (int r = 0; r < rows; r++) {
      state.qOffset[r] = (i0 + r / group) * qStride + (g * group + r % group) * headDim;
    }
  }

  /** Keys {@code [keyBegin, keyEnd)} (block-aligned at keyBegin), block by block. */
  private void sweep(Call call, int g0, int g1, int i0, int i1, int keyBegin, int keyEnd, KvAccess access,
      Workspace w) {
    int rows = (i1 - i0) * call.spec.groupSize();
    for (int j0 = keyBegin; j0 < keyEnd; j0 += KEY_BLOCK) {
      block(call, g0, g1, i0, rows, j0, Math.min(KEY_BLOCK, keyEnd - j0), access, w);
    }
  }

  /** Keys {@code j0 .. j0+n-1}, one block, for the item's rows and heads: scores, softmax, accumulation. */
  private void block(Call call, int g0, int g1, int i0, int rows, int j0, int n, KvAccess access,
      Workspace w) {
    int headDim = call.spec.headDim();
    int stride = call.plan.paddedDim();
    KvSource k = call.k;
    KvSource v = call.v;
    if (access == KvAccess.IN_PLACE) {
      inPhases(call, g0, g1, i0, rows, j0, n, w);
      return;
    }
    if (access == KvAccess.STORED_ROWS) {
      // Each head's block is its own range in head-major layouts, each page's in paged ones.
      pass(k, j0, n, g0, g1, w);
      pass(v, j0, n, g0, g1, w);
    } else if (access == KvAccess.PACKED_BLOCK || access == KvAccess.PACKED_ROWS) {
      // All heads first, in address order where they are adjacent: widening then streams the stored bytes
      // (measured on decode-32k-gqa-bf16, Intel Xeon: 29 calls/s; widening each head just before it is
      // used, after a prefetch pass over the block's bytes, 23).
      for (int g = g0; g < g1; ) {
        g += packRows(k, j0, n, g, g1, w.keys, (g - g0) * KEY_BLOCK * stride, headDim, stride, w);
      }
      for (int g = g0; g < g1; ) {
        g += packRows(v, j0, n, g, g1, w.values, (g - g0) * KEY_BLOCK * stride, headDim, stride, w);
      }
    }
    int width = Plan.roundUp(n, ops.keyStep());
    describeRows(call, i0, rows, j0, n, width, w.blockRows);
    float[] s = w.scores;
    int keyBlock = (j0 - call.keyBase) / KEY_BLOCK;
    for (int g = g0; g < g1; g++) {
      RowState state = w.heads[g - g0];
      w.blockRows.head(g);
      // Scores from the head's keys of the block, wherever they are; then where its values are.
      float[] values;
      int valueOffset;
      int valueStride;
      switch (access) {
        case STORED_ROWS -> {
          locateStored(k, j0, n, g, w);
          ops.scoresStored(call.q, state.qOffset, rows, headDim, k.data, k.type, w.rowAt, w.rowScales, 0, n, s,
              w.tile);
          OnlineSoftmax.step(ops, s, width, w.blockRows, state);
          locateStored(v, j0, n, g, w);
          ops.accumulateStored(s, rows, n, v.data, v.type, w.rowAt, w.rowScales, state.alpha, state.o, stride,
              w.blockRows);
          continue;
        }
        case PACKED_ROWS -> {
          int packed = (g - g0) * KEY_BLOCK * stride;
          ops.scoresInPlace(call.q, state.qOffset, rows, headDim, w.keys, packed, stride, 0, n, s, w.tile);
          values = w.values;
          valueOffset = packed;
          valueStride = stride;
        }
        case PREPARED_HEAD -> {
          ops.scores(call.q, state.qOffset, rows, headDim, w.preparedKeys, keyBlock * headDim * KEY_BLOCK,
              width, s, w.blockRows);
          if (ops.valuePanel() > 0) {
            OnlineSoftmax.step(ops, s, width, w.blockRows, state);
            ops.accumulatePanels(s, rows, n, w.preparedValues, keyBlock * KEY_BLOCK * stride, state.alpha,
                state.o, stride, w.blockRows);
            continue;
          }
          values = w.preparedValues;
          valueOffset = keyBlock * KEY_BLOCK * stride;
          valueStride = stride;
        }
        case PACKED_BLOCK -> {
          int packed = (g - g0) * KEY_BLOCK * stride;
          ops.transposeKeys(w.keys, packed, stride, n, headDim, w.kt, 0, w.tile);
          ops.scores(call.q, state.qOffset, rows, headDim, w.kt, 0, width, s, w.blockRows);
          values = w.values;
          valueOffset = packed;
          valueStride = stride;
        }
        default -> throw new AssertionError(access);
      }
      OnlineSoftmax.step(ops, s, width, w.blockRows, state);
      ops.accumulate(s, rows, n, values, valueOffset, valueStride, state.alpha, state.o, stride, w.blockRows);
    }
  }

  /**
   * One block of a decoding item reading fp32 K and V in place, in phases: every head's scores, then every
   * head's softmax step, then every head's values; the same arithmetic as {@link #block}'s per-head loop, bit
   * for bit, in another order. Every in-place block goes this way. How each phase touches memory is the
   * {@link DecodeOrder}'s (head-major always reads first, see below):
   *
   * <ul>
   *   <li>{@link DecodeOrder#ADDRESS_ORDER} (only for heads side by side in every token, token-major): scores
   *       {@link BlockOps#addressOrderScoreKeys()} keys at a time through all the item's heads, values
   *       {@link BlockOps#addressOrderValueKeys()} keys at a time, so keys and then values are read in address
   *       order and Intel's prefetchers stream them while the tiles compute (Zen 4's do not: 30.6–34.2
   *       calls/s there against 45.1–49.1 read first; Zen 3's do, see {@link DecodeOrder}). Head by head, a
   *       head's rows are a token stride apart (a page at 8 heads × 128), which no prefetcher follows: the
   *       per-head order reads the block once beforehand and then computes, waiting for memory and computing
   *       in turn. Measured on decode-32k-gqa, Intel Xeon (best
   *       of 3): 38.9 calls/s against 35.0–37.0 per head on one thread, 88.6 against 73.5–77.2 on two; the
   *       stored 16- and 8-bit rows lost the same way (bf16 38.5–47.9 against 53.4–55.7, int8 49.8–80.4
   *       against 71.6–81.1, with 4, 16 or 32 value keys and 16 or 64 score keys), so they keep the per-head
   *       order.
   *   <li>{@link DecodeOrder#READ_THEN_COMPUTE} (any layout): the block's keys of all the item's heads are read
   *       once ({@link #pass}) before the scores, each head's keys all at once from cache, and its values once
   *       before the values. A key pass and a value pass, each just before its phase, measured faster on Zen 4
   *       than one pass over both followed by the heads one by one (best of 3, three alternating rounds:
   *       decode-32k-gqa 45.1–49.1 calls/s against 44.9–46.6 on one thread, 82.4–85.0 against 77.7–80.1 on
   *       two; decode-32k-gqa-headmajor 46.0–47.3 against 38.8–39.7).
   * </ul>
   */
  private void inPhases(Call call, int g0, int g1, int i0, int rows, int j0, int n, Workspace w) {
    int headDim = call.spec.headDim();
    int stride = call.plan.paddedDim();
    KvSource k = call.k;
    KvSource v = call.v;
    // Heads not side by side (head-major) are read first whatever the order: measured on AMD EPYC Zen 3
    // (ADDRESS_ORDER there; one thread, medians), decode-32k-gqa-headmajor ran at 0.58-0.64 of
    // decode-32k-gqa read first (four runs), 0.59-0.60 in address-order chunks, 0.53-0.56 head by head.
    boolean readFirst = decodeOrder == DecodeOrder.READ_THEN_COMPUTE
        || !(k.headsAdjacent() && v.headsAdjacent());
    int scoreKeys = readFirst ? n : ops.addressOrderScoreKeys();
    int valueKeys = readFirst ? n : ops.addressOrderValueKeys();
    int width = Plan.roundUp(n, ops.keyStep());
    describeRows(call, i0, rows, j0, n, width, w.blockRows);
    if (readFirst) {
      pass(k, j0, n, g0, g1, w);
    }
    for (int from = 0; from < n; from += scoreKeys) {
      int to = Math.min(n, from + scoreKeys);
      for (int g = g0; g < g1; g++) {
        RowState state = w.heads[g - g0];
        ops.scoresInPlace(call.q, state.qOffset, rows, headDim, k.floats, (int) k.row(j0, g),
            (int) k.tokenStride, from, to, state.scores(rows), w.tile);
      }
    }
    for (int g = g0; g < g1; g++) {
      RowState state = w.heads[g - g0];
      w.blockRows.head(g);
      OnlineSoftmax.step(ops, state.scores, width, w.blockRows, state);
      ops.rescale(rows, state.alpha, state.o, stride);
    }
    if (readFirst) {
      pass(v, j0, n, g0, g1, w);
    }
    for (int from = 0; from < n; from += valueKeys) {
      int to = Math.min(n, from + valueKeys);
      for (int g = g0; g < g1; g++) {
        RowState state = w.heads[g - g0];
        ops.accumulateKeys(state.scores, rows, from, to, v.floats, (int) v.row(j0, g), (int) v.tokenStride,
            state.o, stride, w.blockRows);
      }
    }
  }

  /**
   * Reads tokens {@code j0 .. j0+n-1} of heads {@code [g0, g1)} of {@code src} once, in address order within
   * each range: one range per page (the whole block if not paged) when those heads are adjacent, else one
   * per head and page. Several ranges are read together, a line of each in turn ({@link BlockOps#prefetch(
   * MemorySegment, long[], long[], int)}), so that their streams start at once instead of one after the
   * other. Measured on decode-32k-gqa-paged (bf16, 16-token pages in shuffled order; AMD EPYC Zen 4, best of 3,
   * alternating rounds): 46.2–58.0 calls/s against 40.2–49.8 page after page on one thread, 91–97 against
   * 68–81 on two. Head-major fp32 (8 ranges of 32 KiB per block) about the same. Not measured on the Xeon.
   */
  private void pass(KvSource src, int j0, int n, int g0, int g1, Workspace w) {
    long unit = src.floats != null ? 1 : src.type.bytes();
    int ranges = src.headsAdjacent() ? 1 : g1 - g0;
    long rowElements = src.headsAdjacent() ? (long) (g1 - g0) * src.headDim : src.headDim;
    long[] from = w.passFrom;
    long[] length = w.passLength;
    int count = 0;
    for (int j = 0; j < n; ) {
      int t = j0 + j;
      int m = Math.min(n - j, src.run(t));
      for (int h = 0; h < ranges; h++, count++) {
        if (count == from.length) {
          passOver(src, from, length, count);
          count = 0;
        }
        from[count] = src.row(t, g0 + h) * unit;
        length[count] = ((m - 1) * src.tokenStride + rowElements) * unit;
      }
      j += m;
    }
    passOver(src, from, length, count);
  }

  private void passOver(KvSource src, long[] from, long[] length, int count) {
    if (src.floats != null) {
      ops.prefetch(src.floats, from, length, count);
    } else {
      ops.prefetch(src.data, from, length, count);
    }
  }

  /**
   * Where the rows of tokens {@code j0 .. j0+n-1} of head {@code g} start, and their INT8 scales: one
   * block-table lookup per page, then a token stride per row.
   */
  private static void locateStored(KvSource src, int j0, int n, int g, Workspace w) {
    long[] rowAt = w.rowAt;
    for (int j = 0; j < n; ) {
      int m = Math.min(n - j, src.run(j0 + j));
      long at = src.row(j0 + j, g);
      for (int end = j + m; j < end; j++, at += src.tokenStride) {
        rowAt[j] = at;
      }
    }
    if (src.type == KvType.INT8) {
      float[] scales = w.rowScales;
      for (int j = 0; j < n; j++) {
        scales[j] = src.scale(j0 + j, g);
      }
    }
  }

  /**
   * Copies tokens {@code j0 .. j0+n-1} of heads {@code g ..} (one head, or all up to {@code g1} when they
   * are adjacent in a {@code float[]}) as fp32 rows {@code stride} apart, head {@code g + h} at
   * {@code dst[dstOffset + (h·KEY_BLOCK + j)·stride]}, zero-padded; page by page for a paged source.
   *
   * @return how many heads were copied
   */
  private int packRows(KvSource src, int j0, int n, int g, int g1, float[] dst, int dstOffset, int headDim,
      int stride, Workspace w) {
    int heads = src.headsAdjacent() ? g1 - g : 1;
    for (int j = 0; j < n; ) {
      int t = j0 + j;
      int m = Math.min(n - j, src.run(t));
      long at = src.row(t, g);
      int to = dstOffset + j * stride;
      if (src.floats != null) {
        ops.pack(src.floats, (int) src.tokenStride, (int) at, m, heads, headDim, stride, dst, to);
      } else {
        if (src.type == KvType.INT8) {
          for (int h = 0; h < heads; h++) {
            for (int i = 0; i < m; i++) {
              w.rowScales[h * KEY_BLOCK + i] = src.scale(t + i, g + h);
            }
          }
        }
        ops.widen(src.data, src.type, at, src.tokenStride, m, heads, headDim, w.rowScales, stride, dst, to);
      }
      j += m;
    }
    return heads;
  }

  /**
   * What each row sees of keys {@code j0 .. j0+n-1}: its window's start, its causal limit, where its mask
   * entries are and its ALiBi offset.
   */
  private static void describeRows(Call call, int i0, int rows, int j0, int n, int width, BlockRows out) {
    AttentionSpec spec = call.spec;
    int group = spec.groupSize();
    int causalShift = call.kvLen - call.qLen;
    int window = spec.slidingWindow();
    float[] mask = call.mask;
    out.start(rows, spec.scale(), mask, spec.softcap(), call.slopes, group);
    for (int r = 0; r < rows; r++) {
      int i = i0 + r / group;
      int p = i + causalShift;
      int visible = spec.causal() ? p + 1 - j0 : n;
      // Window: p − window < j, so the first visible key is p − window + 1 (as a long: no overflow).
      long first = window == 0 ? 0 : (long) p - window + 1 - j0;
      out.set(r, (int) Math.max(0, Math.min(n, first)), Math.max(0, Math.min(n, visible)),
          mask == null ? 0 : i * call.kvLen + j0, j0 - p);
    }
    out.decide(width);
  }

  /** Divides each accumulator row by its running sum into the output; rows that saw no key get zeros. */
  private void normalize(Call call, int g0, int g1, int queryRows, Workspace w) {
    int headDim = call.spec.headDim();
    int stride = call.plan.paddedDim();
    int group = call.spec.groupSize();
    int rows = queryRows * group;
    float[] out = call.out;
    float[] sinks = call.sinks;
    float[] lse = call.lse;
    for (int g = g0; g < g1; g++) {
      RowState state = w.heads[g - g0];
      for (int r = 0; r < rows; r++) {
        int dst = state.qOffset[r];
        float max = state.max[r];
        float total = ops.rowSum(state.sum, r);
        float sink = sinks == null ? Float.NEGATIVE_INFINITY : sinks[g * group + r % group];
        if (lse != null) {
          lse[dst / headDim] = SplitMerge.logSumExp(max, total, sink);
        }
        if (sinks != null) {
          total = SplitMerge.withSink(total, sink, max);
        }
        if (total > 0f) {
          ops.divide(state.o, r * stride, total, headDim, out, dst);
        } else {
          // No visible key, or a NaN sum. (Visible keys always give total >= 1: the maximum's own weight is 1.)
          Arrays.fill(out, dst, dst + headDim, 0f);
        }
      }
    }
  }


  /** Leaves a chunk's maxima and sums beside its accumulators in the call's partials. */
  private void leavePartials(Call call, KeyChunk c, Workspace w) {
    Partials partials = call.partials;
    int rows = call.qLen * call.spec.groupSize();
    for (int g = c.firstHead(); g < c.endHead(); g++) {
      RowState state = w.heads[g - c.firstHead()];
      int block = c.chunk() * call.spec.kvHeads() + g;
      System.arraycopy(state.max, 0, partials.max, block * rows, rows);
      for (int r = 0; r < rows; r++) {
        partials.sum[block * rows + r] = ops.rowSum(state.sum, r);
      }
    }
  }

  /** Merges the chunks of every row of a split call into its output, in chunk order. */
  private void merge(Call call) {
    AttentionSpec spec = call.spec;
    int headDim = spec.headDim();
    int group = spec.groupSize();
    int kvHeads = spec.kvHeads();
    int rows = call.qLen * group;
    int qStride = spec.queryHeads() * headDim;
    int chunks = call.plan.chunks();
    for (int g = 0; g < kvHeads; g++) {
      for (int r = 0; r < rows; r++) {
        int dst = (r / group) * qStride + (g * group + r % group) * headDim;
        float sink = call.sinks == null ? Float.NEGATIVE_INFINITY : call.sinks[g * group + r % group];
        SplitMerge.mergeRow(ops, call.partials, r, g, kvHeads, chunks, headDim, call.out, dst,
            call.sinks != null, sink, call.lse, dst / headDim);
      }
    }
  }

  /** Transposes all keys and packs all values of KV head {@code g}, block by block, into the workspace. */
  private void prepareHead(Call call, int g, Workspace w) {
    int headDim = call.spec.headDim();
    int stride = call.plan.paddedDim();
    for (int j0 = call.keyBase, b = 0; j0 < call.kvLen; j0 += KEY_BLOCK, b++) {
      int n = Math.min(KEY_BLOCK, call.kvLen - j0);
      packRows(call.k, j0, n, g, g + 1, w.keys, 0, headDim, stride, w);
      ops.transposeKeys(w.keys, 0, stride, n, headDim, w.preparedKeys, b * headDim * KEY_BLOCK, w.tile);
      if (ops.valuePanel() > 0) {
        packRows(call.v, j0, n, g, g + 1, w.values, 0, headDim, stride, w);
        ops.toPanels(w.values, n, stride, w.preparedValues, b * KEY_BLOCK * stride);
      } else {
        packRows(call.v, j0, n, g, g + 1, w.preparedValues, b * KEY_BLOCK * stride, headDim, stride, w);
      }
    }
  }
}
