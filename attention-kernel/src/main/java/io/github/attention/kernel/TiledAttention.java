package io.github.attention.kernel;

import java.util.Arrays;

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
 * disjoint output rows, so they can later run in parallel. Subclasses supply the block steps.
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

  private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

  /** Granularity of a packed key block's width: blocks are padded with zero keys to a multiple of it. */
  abstract int keyStep();

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
   * {@code sum[r] = sum[r]·alpha[r] + Σ_j s_j}; {@code max[r] = newMax}. {@code maskOffset[r] < 0} means no mask.
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

  @Override
  public final void attend(AttentionSpec spec, int qLen, int kvLen, float[] q, float[] k, float[] v,
      float[] mask, float[] out) {
    Checks.attendArguments(spec, qLen, kvLen, q, k, v, mask, out);
    int group = spec.groupSize();
    int queryRows = Math.max(1, ROW_TARGET / group);
    int kvHeads = spec.kvHeads();
    Scratch work = scratch.get();
    if (qLen <= queryRows) {
      // One query block (decoding, short prompts): sweep all KV heads block by block, so that K and V are
      // read in address order instead of one head's slice of every token at a time.
      work.ensure(qLen * group, kvHeads, roundUp(spec.headDim(), dimStep()), spec.headDim(), 0);
      attendTask(spec, qLen, kvLen, q, k, v, mask, out, 0, kvHeads, 0, qLen, false, work);
    } else {
      // Several query blocks read each KV head: transpose its keys and pack its values once, not per block.
      int paddedDim = roundUp(spec.headDim(), dimStep());
      int keyBlocks = (kvLen + KEY_BLOCK - 1) / KEY_BLOCK;
      boolean prepare = (long) keyBlocks * KEY_BLOCK * paddedDim <= PREPARED_LIMIT;
      work.ensure(queryRows * group, 1, paddedDim, spec.headDim(), prepare ? keyBlocks : 0);
      for (int g = 0; g < kvHeads; g++) {
        if (prepare) {
          prepareHead(spec, kvLen, k, v, g, work);
        }
        for (int i0 = 0; i0 < qLen; i0 += queryRows) {
          attendTask(spec, qLen, kvLen, q, k, v, mask, out, g, g + 1, i0, Math.min(qLen, i0 + queryRows),
              prepare, work);
        }
      }
    }
  }

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
   * Query rows {@code i0 .. i1-1} of the query heads that read KV heads {@code g0 .. g1-1}; with
   * {@code prepared}, from the one head {@link #prepareHead} left in scratch.
   */
  private void attendTask(AttentionSpec spec, int qLen, int kvLen, float[] q, float[] k, float[] v,
      float[] mask, float[] out, int g0, int g1, int i0, int i1, boolean prepared, Scratch work) {
    int headDim = spec.headDim();
    int group = spec.groupSize();
    int qStride = spec.queryHeads() * headDim;
    int kvStride = spec.kvHeads() * headDim;
    int oStride = roundUp(headDim, dimStep());
    int rows = (i1 - i0) * group;
    int causalShift = kvLen - qLen;

    // Query row i sees keys j <= i + causalShift; the task never looks past its last row's limit.
    int keyEnd = spec.causal() ? Math.min(kvLen, i1 + causalShift) : kvLen;
    for (int g = g0; g < g1; g++) {
      HeadState head = work.heads[g - g0];
      for (int r = 0; r < rows; r++) {
        head.qOffset[r] = (i0 + r / group) * qStride + (g * group + r % group) * headDim;
      }
      Arrays.fill(head.max, 0, rows, Float.NEGATIVE_INFINITY);
      Arrays.fill(head.sum, 0, rows, 0f);
      Arrays.fill(head.o, 0, rows * oStride, 0f);
    }
    int heads = g1 - g0;
    boolean inPlace = readsInPlace(rows, headDim);
    for (int j0 = 0; j0 < keyEnd; j0 += KEY_BLOCK) {
      int n = Math.min(KEY_BLOCK, keyEnd - j0);
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
        work.maskOffset[r] = mask == null ? -1 : i * kvLen + j0;
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
          scoresInPlace(q, head.qOffset, rows, headDim, k, at, kvStride, n, work.s);
        } else if (prepared) {
          int block = j0 / KEY_BLOCK;
          values = work.preparedValues;
          at = block * KEY_BLOCK * oStride;
          valueStride = oStride;
          scores(q, head.qOffset, rows, headDim, work.preparedKeys, block * headDim * KEY_BLOCK, width,
              work.s);
        } else {
          values = work.values;
          at = (g - g0) * KEY_BLOCK * oStride;
          valueStride = oStride;
          transposeKeys(work.keys, at, oStride, n, headDim, work.kt, 0);
          scores(q, head.qOffset, rows, headDim, work.kt, 0, width, work.s);
        }
        softmax(work.s, rows, width, work.limit, spec.scale(), mask, work.maskOffset, head.max, head.sum,
            head.alpha);
        accumulate(work.s, rows, n, values, at, valueStride, head.alpha, head.o, oStride);
      }
    }
    for (int g = g0; g < g1; g++) {
      HeadState head = work.heads[g - g0];
      for (int r = 0; r < rows; r++) {
        int dst = head.qOffset[r];
        float total = head.sum[r];
        if (total > 0f) {
          for (int d = 0; d < headDim; d++) {
            out[dst + d] = head.o[r * oStride + d] / total;
          }
        } else {
          // No visible key. (Visible keys always give total >= 1: the maximum's own weight is 1.)
          Arrays.fill(out, dst, dst + headDim, 0f);
        }
      }
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
    final float[] o;
    final int[] qOffset;

    HeadState(int rows, int paddedDim) {
      max = new float[rows];
      sum = new float[rows];
      alpha = new float[rows];
      o = new float[rows * paddedDim];
      qOffset = new int[rows];
    }

    boolean fits(int rows, int paddedDim) {
      return max.length >= rows && o.length >= rows * paddedDim;
    }
  }

  /** Per-thread working memory, grown on demand and then reused: steady-state calls allocate nothing. */
  static final class Scratch {
    float[] kt = new float[0];
    float[] keys = new float[0];
    float[] values = new float[0];
    float[] preparedKeys = new float[0];
    float[] preparedValues = new float[0];
    float[] s = new float[0];
    int[] maskOffset = new int[0];
    int[] limit = new int[0];
    HeadState[] heads = new HeadState[0];

    void ensure(int rows, int headCount, int paddedDim, int headDim, int preparedBlocks) {
      if (preparedKeys.length < preparedBlocks * KEY_BLOCK * headDim) {
        preparedKeys = new float[preparedBlocks * KEY_BLOCK * headDim];
      }
      if (preparedValues.length < preparedBlocks * KEY_BLOCK * paddedDim) {
        preparedValues = new float[preparedBlocks * KEY_BLOCK * paddedDim];
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
          heads[h] = new HeadState(rows, paddedDim);
        }
      }
    }
  }
}
