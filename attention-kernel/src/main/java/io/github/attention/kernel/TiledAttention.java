package io.github.attention.kernel;

import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The blocked, one-pass attention algorithm shared by both backends (FlashAttention-2 structure, Dao 2023,
 * arXiv 2307.08691; online softmax after Milakov and Gimelshein 2018, arXiv 1805.02867).
 *
 * <p>A task is one key/value head {@code g} and one block of query rows. Its rows are every
 * (query row, query head of group {@code g}) pair, {@code r = row * groupSize + headInGroup}, so all query
 * heads sharing a KV head reuse each key block. For every visible key block the task
 *
 * <ol>
 *   <li>packs the block's keys and values contiguously (all heads of the task at once, in address order)
 *       and transposes the keys into {@code kt[d][key]}, so SIMD lanes run across keys and no dot product
 *       needs a horizontal reduction; when several query blocks read a KV head, {@link #prepareHead} does
 *       this once per head instead, and decoding-sized tasks read K and V in place;
 *   <li>computes raw scores {@code s[r][key] = q_r · k_key};
 *   <li>scales, masks, takes the block's row maximum, rescales the running sum and exponentiates in place,
 *       turning scores into unnormalized weights {@code p};
 *   <li>rescales the output accumulator by {@code exp(oldMax - newMax)} and adds {@code p · V}.
 * </ol>
 *
 * At the end each accumulator row is divided by its running sum (rows that saw no key give zeros). Key
 * blocks wholly in the causal future of the task's rows are never visited. Tasks are independent and write
 * disjoint output rows (or their own partial results, for split key ranges), so {@link Call} runs them as
 * work items on any number of threads. Subclasses supply the block steps.
 */
abstract class TiledAttention implements AttentionKernel {

  /** Keys per block. A multiple of every backend's {@link #keyStep()}. */
  static final int KEY_BLOCK = 64;
  /** Rows (query rows × heads of a group) per task, when the group is not larger. */
  static final int ROW_TARGET = 128;
  /**
   * Largest transposed-K (and packed-V) scratch, in floats, for preparing a whole KV head once for all its
   * query blocks; longer heads are prepared block by block in every task.
   */
  static final int PREPARED_LIMIT = 1 << 20;

  private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(() -> new Scratch(new Call()));

  /** Granularity of a packed key block's width: blocks are padded with zero keys to a multiple of it. */
  abstract int keyStep();

  /** A linear map {@code x·Wᵀ + b} on this backend, for {@link MultiHeadAttention}. */
  Projection projection(float[] weights, float[] bias, int out, int in) {
    return new ScalarProjection(weights, bias, out, in);
  }

  /** How many partial sums {@link #softmax} keeps per row. */
  int sumLanes() {
    return 1;
  }

  /**
   * Row r's running sum from its {@link #sumLanes()} partial sums, added in a fixed order: results must not
   * depend on the JIT's state, so that every thread computes the same bits.
   */
  float rowSum(float[] sum, int r) {
    return sum[r];
  }

  /** Granularity of the accumulator's row width: {@code headDim} rounded up to a multiple of it. */
  abstract int dimStep();

  /**
   * Transposes keys {@code j < n} ({@code keys[offset + j·stride + d]}) into
   * {@code kt[ktOffset + d·KEY_BLOCK + j]}, so that lanes can run across keys.
   */
  abstract void transposeKeys(float[] keys, int offset, int stride, int n, int headDim, float[] kt,
      int ktOffset);

  /**
   * Raw scores {@code s[r·KEY_BLOCK + j] = Σ_d q[qOffset[r] + d] · kt[ktOffset + d·KEY_BLOCK + j]} for
   * {@code r < rows}, {@code j < width}, from transposed keys. Columns from the block's key count on may
   * receive anything: {@link #softmax} replaces them by {@code -∞}.
   */
  abstract void scores(float[] q, int[] qOffset, int rows, int headDim, float[] kt, int ktOffset, int width,
      float[] s);

  /**
   * Raw scores as {@link #scores}, from keys read where they are ({@code k[offset + j·stride + d]});
   * only called when {@link #readsInPlace}.
   */
  abstract void scoresInPlace(float[] q, int[] qOffset, int rows, int headDim, float[] k, int offset,
      int stride, int n, float[] s);

  /**
   * Turns the block's raw scores into weights and updates the running state, for every row r:
   * {@code x_j = s_j·scale + mask_j}, or {@code -∞} where {@code j >= limit[r]} (causal or past the block);
   * {@code newMax = max(max[r], max_j x_j)}; {@code alpha[r] = exp(max[r] - newMax)} (1 while both are
   * {@code -∞}); {@code s_j = exp(x_j - newMax)} (0 while newMax is {@code -∞});
   * {@code sum_r = sum_r·alpha[r] + Σ_j s_j}; {@code max[r] = newMax}. {@code maskOffset[r] < 0} means no mask.
   * The running sum {@code sum_r} may be kept as {@link #sumLanes()} partial sums,
   * {@code sum[r·sumLanes() ..]}, which {@link #rowSum} adds up.
   */
  abstract void softmax(float[] s, int rows, int width, int[] limit, float scale, float[] mask,
      int[] maskOffset, float[] max, float[] sum, float[] alpha);

  /**
   * {@code o[r][d] = o[r][d]·alpha[r] + Σ_{j<n} p[r][j] · values[valueOffset + j·valueStride + d]} for all
   * {@code d < stride}; rows of {@code o} are {@code stride} apart. Values are a packed, zero-padded block,
   * or the caller's array when {@link #readsInPlace} (then {@code headDim == stride}).
   */
  abstract void accumulate(float[] p, int rows, int n, float[] values, int valueOffset, int valueStride,
      float[] alpha, float[] o, int stride);

  /**
   * Whether tasks of this many rows skip packing: {@link #scoresInPlace} and {@link #accumulate} get the
   * caller's K and V with the token stride. Only allowed when {@code headDim} is a multiple of
   * {@link #dimStep()}.
   */
  abstract boolean readsInPlace(int rows, int headDim);

  /** Fewest keys per chunk of a split key range (see {@link #chunkKeys}). */
  static final int MIN_CHUNK = 256;
  /** Most chunks a key range is split into: longer ranges get longer chunks. */
  static final int MAX_CHUNKS = 64;
  /**
   * Query rows (tokens) up to which a call splits its key range into chunks that are separate work items
   * (split-KV, as in FlashDecoding): decoding has few rows, so otherwise a long cache would give one item
   * per KV head.
   */
  static final int SPLIT_QUERIES = 4;
  /** Most floats of partial results a split call may keep; calls that would need more are not split. */
  static final int SPLIT_LIMIT = 1 << 22;

  private static final AtomicLong CALLS = new AtomicLong();

  @Override
  public final void attend(AttentionSpec spec, int qLen, int kvLen, float[] q, float[] k, float[] v,
      float[] mask, float[] out) {
    attend(spec, qLen, kvLen, q, k, v, mask, out, Parallelism.single());
  }

  @Override
  public final void attend(AttentionSpec spec, int qLen, int kvLen, float[] q, float[] k, float[] v,
      float[] mask, float[] out, Parallelism parallelism) {
    Checks.attendArguments(spec, qLen, kvLen, q, k, v, mask, out);
    Objects.requireNonNull(parallelism, "parallelism must not be null");
    Call call = scratch.get().call;
    if (call.spec != null) {
      throw new IllegalStateException("attend called again from inside a work item on this thread");
    }
    try {
      call.plan(spec, qLen, kvLen, q, k, v, mask, out, parallelism.threads(), CALLS.incrementAndGet());
      parallelism.run(call, call.items);
      if (call.split) {
        call.merge();
      }
    } finally {
      call.release();
    }
  }

  /**
   * Keys per chunk of a split range of {@code kvLen} keys: {@link #MIN_CHUNK} up to 16384 keys, then longer so
   * that there are at most {@link #MAX_CHUNKS}. A whole number of key blocks; depends on kvLen only.
   */
  static int chunkKeys(int kvLen) {
    int perChunk = (kvLen + MAX_CHUNKS - 1) / MAX_CHUNKS;
    return Math.max(MIN_CHUNK, roundUp(perChunk, KEY_BLOCK));
  }

  /**
   * One call cut into work items. What each output row's arithmetic is depends on the shapes alone:
   *
   * <ul>
   *   <li>A split call (at most {@link #SPLIT_QUERIES} query rows, more than one chunk of
   *       {@link #chunkKeys}{@code (kvLen)} keys, partial results within {@link #SPLIT_LIMIT}): every chunk
   *       runs the online softmax from a fresh state, as a work item of (chunk, KV heads); {@link #merge}
   *       then combines the chunks' (max, sum, output) in chunk order.
   *   <li>Any other call: one online softmax over all keys, in work items of (KV heads, block of
   *       {@code ROW_TARGET / groupSize} query rows); with several query blocks, one head per item,
   *       head-major, and a thread prepares a head's keys and values once for all the items of that head
   *       it runs.
   * </ul>
   * How many KV heads one item sweeps may depend on the thread count (all of them when single-threaded, so
   * that K and V are read in address order); heads are independent, so that changes no result. The output
   * is therefore bitwise identical for every thread count.
   *
   * <p>Reused by its thread from call to call; {@link #release} drops the references to the caller's arrays.
   */
  final class Call implements Parallelism.Work {
    AttentionSpec spec;
    int qLen;
    int kvLen;
    float[] q;
    float[] k;
    float[] v;
    float[] mask;
    float[] out;
    long id;
    int items;
    int queryRows;
    int queryBlocks;
    boolean prepare;
    int keyBlocks;
    int paddedDim;
    /** Whether the key range is split into chunks, merged by {@link #merge} after all have run. */
    boolean split;
    int chunk;
    int chunks;
    int headsPerItem;
    /** Partial results of a split call: block {@code chunk · kvHeads + head}. */
    final Partials partials = new Partials();

    void plan(AttentionSpec spec, int qLen, int kvLen, float[] q, float[] k, float[] v, float[] mask,
        float[] out, int threads, long id) {
      this.spec = spec;
      this.qLen = qLen;
      this.kvLen = kvLen;
      this.q = q;
      this.k = k;
      this.v = v;
      this.mask = mask;
      this.out = out;
      this.id = id;
      int group = spec.groupSize();
      int kvHeads = spec.kvHeads();
      paddedDim = roundUp(spec.headDim(), dimStep());
      keyBlocks = (kvLen + KEY_BLOCK - 1) / KEY_BLOCK;
      chunk = chunkKeys(kvLen);
      chunks = (kvLen + chunk - 1) / chunk;
      long partialFloats = (long) chunks * spec.queryHeads() * qLen * paddedDim;
      split = qLen <= SPLIT_QUERIES && chunks > 1 && partialFloats <= SPLIT_LIMIT;
      // The whole query range in one block when it fits (or when split: then rows are few).
      queryRows = split ? qLen : Math.max(1, ROW_TARGET / group);
      queryBlocks = (qLen + queryRows - 1) / queryRows;
      prepare = false;
      if (queryBlocks == 1) {
        int perHead = split ? chunks : 1;
        // Sweeping all heads block by block reads K and V in address order; give items fewer heads only
        // when the threads need more items.
        headsPerItem = threads == 1 || perHead >= 2 * threads ? kvHeads : 1;
        items = perHead * (kvHeads / headsPerItem);
        if (split) {
          partials.ensure(chunks * kvHeads, qLen * group, paddedDim);
        }
      } else {
        headsPerItem = 1;
        items = kvHeads * queryBlocks;
        prepare = (long) keyBlocks * KEY_BLOCK * paddedDim <= PREPARED_LIMIT;
      }
    }

    @Override
    public void run(int item) {
      Scratch work = scratch.get();
      int group = spec.groupSize();
      if (queryBlocks == 1) {
        int headGroups = spec.kvHeads() / headsPerItem;
        int g0 = item % headGroups * headsPerItem;
        work.ensure(qLen * group, headsPerItem, paddedDim, spec.headDim(), 0);
        if (split) {
          int c = item / headGroups;
          attendTask(this, g0, g0 + headsPerItem, 0, qLen, c, work, false);
        } else {
          attendTask(this, g0, g0 + headsPerItem, 0, qLen, -1, work, false);
        }
      } else {
        int g = item / queryBlocks;
        int i0 = item % queryBlocks * queryRows;
        work.ensure(queryRows * group, 1, paddedDim, spec.headDim(), prepare ? keyBlocks : 0);
        if (prepare && (work.preparedCall != id || work.preparedHead != g)) {
          prepareHead(spec, kvLen, k, v, g, work);
          work.preparedCall = id;
          work.preparedHead = g;
        }
        attendTask(this, g, g + 1, i0, Math.min(qLen, i0 + queryRows), -1, work, prepare);
      }
    }

    /** Merges the chunks of every row of a split call into {@link #out}. */
    void merge() {
      int headDim = spec.headDim();
      int group = spec.groupSize();
      int kvHeads = spec.kvHeads();
      int rows = qLen * group;
      int qStride = spec.queryHeads() * headDim;
      for (int g = 0; g < kvHeads; g++) {
        for (int r = 0; r < rows; r++) {
          int dst = (r / group) * qStride + (g * group + r % group) * headDim;
          mergeRow(partials, r, g, kvHeads, chunks, headDim, out, dst);
        }
      }
    }

    void release() {
      spec = null;
      q = null;
      k = null;
      v = null;
      mask = null;
      out = null;
    }
  }

  /**
   * Per-chunk online-softmax states: running max and sum of state {@code b·rows + r}, and the unnormalized
   * output rows of block {@code b} (one chunk and head) in {@code out[b]}, {@code rows × paddedDim}, used in
   * place as the accumulator while the chunk runs.
   */
  static final class Partials {
    float[] max = new float[0];
    float[] sum = new float[0];
    float[][] out = new float[0][];
    float[] merged = new float[0];
    int rows;
    int paddedDim;

    void ensure(int blocks, int rows, int paddedDim) {
      this.rows = rows;
      this.paddedDim = paddedDim;
      if (max.length < blocks * rows) {
        max = new float[blocks * rows];
        sum = new float[blocks * rows];
      }
      if (out.length < blocks) {
        out = Arrays.copyOf(out, blocks);
      }
      for (int b = 0; b < blocks; b++) {
        if (out[b] == null || out[b].length < rows * paddedDim) {
          out[b] = new float[rows * paddedDim];
        }
      }
      if (merged.length < paddedDim) {
        merged = new float[paddedDim];
      }
    }
  }

  /**
   * Writes row {@code r} of the output from its chunks' states, blocks {@code first + c·stride} for
   * {@code c < chunks}: with {@code M} the largest chunk maximum and {@code w_c = exp(max_c - M)},
   * {@code out = Σ_c w_c·o_c / Σ_c w_c·sum_c}, summed in chunk order over the chunks that took part (sum not
   * 0). A row with one such chunk gets {@code o/sum}, as if unsplit; as in an unsplit row, a total that is
   * not positive (no visible key, or NaN from non-finite scores) gives zeros. {@code Math.exp} is the same
   * intrinsic in HotSpot's interpreter and compilers, so every thread computes the same weights.
   */
  final void mergeRow(Partials p, int r, int first, int stride, int chunks, int headDim, float[] out,
      int dst) {
    int rows = p.rows;
    float top = Float.NEGATIVE_INFINITY;
    int seen = 0;
    int only = first;
    for (int c = 0, b = first; c < chunks; c++, b += stride) {
      // A chunk took part if its sum is not 0: positive, or NaN (non-finite scores), as in an unsplit row.
      if (p.sum[b * rows + r] != 0f) {
        seen++;
        only = b;
        top = Math.max(top, p.max[b * rows + r]);
      }
    }
    int from = r * p.paddedDim;
    float total;
    float[] acc;
    int at;
    if (seen <= 1) {
      total = seen == 0 ? 0f : p.sum[only * rows + r];
      acc = p.out[only];
      at = from;
    } else {
      acc = p.merged;
      at = 0;
      Arrays.fill(acc, 0, p.paddedDim, 0f);
      total = 0f;
      for (int c = 0, b = first; c < chunks; c++, b += stride) {
        float sum = p.sum[b * rows + r];
        if (sum == 0f) {
          continue;
        }
        float max = p.max[b * rows + r];
        float weight = max == top ? 1f : (float) Math.exp((double) max - top);
        total += sum * weight;
        addScaled(p.out[b], from, weight, p.paddedDim, acc);
      }
    }
    // As an unsplit row: zeros unless the total is positive (no visible key, or a NaN sum).
    if (total > 0f) {
      divide(acc, at, total, headDim, out, dst);
    } else {
      Arrays.fill(out, dst, dst + headDim, 0f);
    }
  }

  /** {@code acc[d] += src[from + d] · weight} for {@code d < paddedDim}. */
  abstract void addScaled(float[] src, int from, float weight, int paddedDim, float[] acc);

  /** {@code out[dst + d] = src[from + d] / divisor} for {@code d < headDim}. */
  abstract void divide(float[] src, int from, float divisor, int headDim, float[] out, int dst);

  /** Transposes all keys and packs all values of KV head {@code g}, block by block, into scratch. */
  private void prepareHead(AttentionSpec spec, int kvLen, float[] k, float[] v, int g, Scratch work) {
    int headDim = spec.headDim();
    int kvStride = spec.kvHeads() * headDim;
    int paddedDim = roundUp(headDim, dimStep());
    for (int j0 = 0, b = 0; j0 < kvLen; j0 += KEY_BLOCK, b++) {
      int n = Math.min(KEY_BLOCK, kvLen - j0);
      int offset = j0 * kvStride + g * headDim;
      pack(k, kvStride, offset, n, 1, headDim, paddedDim, work.keys, 0);
      transposeKeys(work.keys, 0, paddedDim, n, headDim, work.preparedKeys, b * headDim * KEY_BLOCK);
      pack(v, kvStride, offset, n, 1, headDim, paddedDim, work.preparedValues, b * KEY_BLOCK * paddedDim);
    }
  }

  /**
   * Query rows {@code i0 .. i1-1} of the query heads that read KV heads {@code g0 .. g1-1}, over all keys, or
   * only over chunk {@code splitChunk} of a split call (then the state is left in the call's partials); with
   * {@code prepared}, from the one head {@link #prepareHead} left in scratch.
   */
  private void attendTask(Call call, int g0, int g1, int i0, int i1, int splitChunk, Scratch work,
      boolean prepared) {
    AttentionSpec spec = call.spec;
    int headDim = spec.headDim();
    int group = spec.groupSize();
    int qStride = spec.queryHeads() * headDim;
    int oStride = roundUp(headDim, dimStep());
    int rows = (i1 - i0) * group;
    int causalShift = call.kvLen - call.qLen;

    // Query row i sees keys j <= i + causalShift; the task never looks past its last row's limit.
    int keyBegin = 0;
    int keyEnd = spec.causal() ? Math.min(call.kvLen, i1 + causalShift) : call.kvLen;
    if (splitChunk >= 0) {
      keyBegin = splitChunk * call.chunk;
      keyEnd = Math.min(keyEnd, keyBegin + call.chunk);
    }
    for (int g = g0; g < g1; g++) {
      HeadState head = work.heads[g - g0];
      // A split chunk accumulates straight into its block of the call's partials.
      head.o = splitChunk >= 0 ? call.partials.out[splitChunk * spec.kvHeads() + g] : head.own;
      for (int r = 0; r < rows; r++) {
        head.qOffset[r] = (i0 + r / group) * qStride + (g * group + r % group) * headDim;
      }
      Arrays.fill(head.max, 0, rows, Float.NEGATIVE_INFINITY);
      Arrays.fill(head.sum, 0, rows * sumLanes(), 0f);
      Arrays.fill(head.o, 0, rows * oStride, 0f);
    }
    boolean inPlace = readsInPlace(rows, headDim);
    for (int j0 = keyBegin; j0 < keyEnd; j0 += KEY_BLOCK) {
      attendBlock(call, g0, g1, i0, rows, j0, Math.min(KEY_BLOCK, keyEnd - j0), inPlace, prepared, work);
    }
    if (splitChunk >= 0) {
      Partials partials = call.partials;
      for (int g = g0; g < g1; g++) {
        HeadState head = work.heads[g - g0];
        int block = splitChunk * spec.kvHeads() + g;
        System.arraycopy(head.max, 0, partials.max, block * rows, rows);
        for (int r = 0; r < rows; r++) {
          partials.sum[block * rows + r] = rowSum(head.sum, r);
        }
      }
      return;
    }
    float[] out = call.out;
    for (int g = g0; g < g1; g++) {
      HeadState head = work.heads[g - g0];
      for (int r = 0; r < rows; r++) {
        int dst = head.qOffset[r];
        float total = rowSum(head.sum, r);
        if (total > 0f) {
          divide(head.o, r * oStride, total, headDim, out, dst);
        } else {
          // No visible key. (Visible keys always give total >= 1: the maximum's own weight is 1.)
          Arrays.fill(out, dst, dst + headDim, 0f);
        }
      }
    }
  }

  /** Keys {@code j0 .. j0+n-1} (one block) for the task's rows and heads: scores, softmax, accumulation. */
  private void attendBlock(Call call, int g0, int g1, int i0, int rows, int j0, int n, boolean inPlace,
      boolean prepared, Scratch work) {
    AttentionSpec spec = call.spec;
    int headDim = spec.headDim();
    int group = spec.groupSize();
    int kvStride = spec.kvHeads() * headDim;
    int oStride = roundUp(headDim, dimStep());
    int heads = g1 - g0;
    int causalShift = call.kvLen - call.qLen;
    float[] k = call.k;
    float[] v = call.v;
    float[] mask = call.mask;
    int blockOffset = j0 * kvStride + g0 * headDim;
    if (inPlace && heads == spec.kvHeads()) {
      // The block's tokens, all heads: one contiguous range of each array.
      prefetch(k, blockOffset, n * kvStride);
      prefetch(v, blockOffset, n * kvStride);
    } else if (!inPlace && !prepared) {
      pack(k, kvStride, blockOffset, n, heads, headDim, oStride, work.keys, 0);
      pack(v, kvStride, blockOffset, n, heads, headDim, oStride, work.values, 0);
    }
    int width = roundUp(n, keyStep());
    for (int r = 0; r < rows; r++) {
      int i = i0 + r / group;
      int visible = spec.causal() ? i + causalShift + 1 - j0 : n;
      work.limit[r] = Math.max(0, Math.min(n, visible));
      work.maskOffset[r] = mask == null ? -1 : i * call.kvLen + j0;
    }
    for (int g = g0; g < g1; g++) {
      HeadState head = work.heads[g - g0];
      // Where this head's keys and values of the block are: in place, prepared for the head, or packed.
      float[] values;
      int at;
      int valueStride;
      if (inPlace) {
        values = v;
        at = blockOffset + (g - g0) * headDim;
        valueStride = kvStride;
        scoresInPlace(call.q, head.qOffset, rows, headDim, k, at, kvStride, n, work.s);
      } else if (prepared) {
        int block = j0 / KEY_BLOCK;
        values = work.preparedValues;
        at = block * KEY_BLOCK * oStride;
        valueStride = oStride;
        scores(call.q, head.qOffset, rows, headDim, work.preparedKeys, block * headDim * KEY_BLOCK, width,
            work.s);
      } else {
        values = work.values;
        at = (g - g0) * KEY_BLOCK * oStride;
        valueStride = oStride;
        transposeKeys(work.keys, at, oStride, n, headDim, work.kt, 0);
        scores(call.q, head.qOffset, rows, headDim, work.kt, 0, width, work.s);
      }
      softmax(work.s, rows, width, work.limit, spec.scale(), mask, work.maskOffset, head.max, head.sum,
          head.alpha);
      accumulate(work.s, rows, n, values, at, valueStride, head.alpha, head.o, oStride);
    }
  }

  /**
   * Copies tokens {@code j < n} of {@code heads} consecutive heads (token j, head h at
   * {@code src[offset + j·kvStride + h·headDim ..]}) to {@code dst[dstOffset + (h·KEY_BLOCK + j)·stride ..]},
   * zero-padded to {@code stride}. Reading token by token walks the caller's array in address order (the hardware
   * prefetcher follows that; one head's slice of every token it does not), and the packed rows are
   * contiguous, so that rows a power-of-two stride apart do not fight over a few L1 sets.
   */
  void pack(float[] src, int kvStride, int offset, int n, int heads, int headDim, int stride,
      float[] dst, int dstOffset) {
    for (int j = 0; j < n; j++) {
      for (int h = 0; h < heads; h++) {
        int to = dstOffset + (h * KEY_BLOCK + j) * stride;
        System.arraycopy(src, offset + j * kvStride + h * headDim, dst, to, headDim);
        if (stride > headDim) {
          Arrays.fill(dst, to + headDim, to + stride, 0f);
        }
      }
    }
  }

  /**
   * Brings {@code a[from .. from+length)} into cache before a block is read in place. Reading it in address
   * order lets the hardware prefetcher stream it; the kernels' own reads jump a token stride (a page, for
   * 8 heads of 128) between keys of one head, which it does not follow. Does nothing unless overridden.
   *
   * <p>The transfer and the arithmetic then run one after the other: Java has no prefetch instruction, and
   * loads that miss to memory in the middle of the arithmetic fill the core's queues and slow it more than
   * they overlap. Measured on decode-32k-gqa (Zen 5, one thread): this pass alone reads at 32-34 GB/s; with
   * the arithmetic, the call reads 18-20 GB/s. Computing straight from the stream instead, token by token
   * with all heads of a token together (address order, no separate pass), was slower: 9 GB/s. With few
   * rows per head the query rows no longer stay in registers, so every FMA needs its own load, and partial
   * sums go through memory, at 2 to 3 cycles per 512-bit store here.
   */
  void prefetch(float[] a, int from, int length) {}

  static int roundUp(int n, int step) {
    return (n + step - 1) / step * step;
  }

  /** Online-softmax state of one head's rows: running max and sum, rescale factors, output accumulator. */
  static final class HeadState {
    final float[] max;
    final float[] sum;
    final float[] alpha;
    /** The output accumulator of the current task: {@link #own}, or a split chunk's block of partials. */
    float[] o;
    final float[] own;
    final int[] qOffset;

    HeadState(int rows, int paddedDim, int sumLanes) {
      own = new float[rows * paddedDim];
      max = new float[rows];
      sum = new float[rows * sumLanes];
      alpha = new float[rows];
      qOffset = new int[rows];
    }

    boolean fits(int rows, int paddedDim) {
      return max.length >= rows && own.length >= rows * paddedDim;
    }
  }

  /** Per-thread working memory, grown on demand and then reused: steady-state calls allocate nothing. */
  final class Scratch {
    float[] kt = new float[0];
    float[] keys = new float[0];
    float[] values = new float[0];
    float[] preparedKeys = new float[0];
    float[] preparedValues = new float[0];
    float[] s = new float[0];
    int[] maskOffset = new int[0];
    int[] limit = new int[0];
    HeadState[] heads = new HeadState[0];
    /** Which call and KV head {@link #preparedKeys} and {@link #preparedValues} hold. */
    long preparedCall = -1;
    int preparedHead = -1;
    /** This thread's calls, when it is the caller. */
    final Call call;

    Scratch(Call call) {
      this.call = call;
    }

    void ensure(int rows, int headCount, int paddedDim, int headDim, int preparedBlocks) {
      if (preparedKeys.length < preparedBlocks * KEY_BLOCK * headDim) {
        preparedKeys = new float[preparedBlocks * KEY_BLOCK * headDim];
        preparedCall = -1;
      }
      if (preparedValues.length < preparedBlocks * KEY_BLOCK * paddedDim) {
        preparedValues = new float[preparedBlocks * KEY_BLOCK * paddedDim];
        preparedCall = -1;
      }
      if (kt.length < headDim * KEY_BLOCK) {
        kt = new float[headDim * KEY_BLOCK];
      }
      if (keys.length < headCount * KEY_BLOCK * paddedDim) {
        keys = new float[headCount * KEY_BLOCK * paddedDim];
        values = new float[headCount * KEY_BLOCK * paddedDim];
      }
      if (s.length < rows * KEY_BLOCK) {
        s = new float[rows * KEY_BLOCK];
      }
      if (limit.length < rows) {
        limit = new int[rows];
        maskOffset = new int[rows];
      }
      if (heads.length < headCount) {
        heads = Arrays.copyOf(heads, headCount);
      }
      for (int h = 0; h < headCount; h++) {
        if (heads[h] == null || !heads[h].fits(rows, paddedDim)) {
          heads[h] = new HeadState(rows, paddedDim, sumLanes());
        }
      }
    }
  }
}
