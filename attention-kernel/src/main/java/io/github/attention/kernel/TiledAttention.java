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
 *   <li>packs the keys transposed into {@code kt[d][key]}, so SIMD lanes run across keys and the score
 *       dot products need no horizontal reduction;
 *   <li>computes raw scores {@code s[r][key] = q_r · k_key};
 *   <li>scales, masks, takes the block's row maximum, rescales the running sum and exponentiates in place,
 *       turning scores into unnormalized weights {@code p};
 *   <li>rescales the output accumulator by {@code exp(oldMax - newMax)} and adds {@code p · V}.
 * </ol>
 *
 * At the end each accumulator row is divided by its running sum (rows that saw no key give zeros). Key
 * blocks wholly in the causal future of the task's rows are never visited. Tasks are independent and write
 * disjoint output rows, so they can later run in parallel. Subclasses supply the four block steps.
 */
abstract class TiledAttention implements AttentionKernel {

  /** Keys per block. A multiple of every backend's {@link #keyStep()}. */
  static final int KEY_BLOCK = 64;
  /** Rows (query rows × heads of a group) per task, when the group is not larger. */
  static final int ROW_TARGET = 64;

  private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

  /** Granularity of a packed key block's width: blocks are padded with zero keys to a multiple of it. */
  abstract int keyStep();

  /** Granularity of the accumulator's row width: {@code headDim} rounded up to a multiple of it. */
  abstract int dimStep();

  /**
   * Writes key {@code j < n} (at {@code k[offset + j·kvStride ..]}) to {@code kt[d * KEY_BLOCK + j]}. Columns
   * {@code n .. width-1} may hold anything: their scores are replaced by {@code -∞} in {@link #softmax}.
   */
  abstract void packKeys(float[] k, int kvStride, int offset, int n, int width, int headDim, float[] kt);

  /** {@code s[r * KEY_BLOCK + j] = Σ_d q[qOffset[r] + d] · kt[d * KEY_BLOCK + j]} for r < rows, j < width. */
  abstract void scores(float[] q, int[] qOffset, int rows, int headDim, float[] kt, int width, float[] s);

  /**
   * Turns the block's raw scores into weights and updates the running state, for every row r:
   * {@code x_j = s_j·scale + mask_j}, or {@code -∞} where {@code j >= limit[r]} (causal or past the block);
   * {@code newMax = max(max[r], max_j x_j)}; {@code alpha[r] = exp(max[r] - newMax)} (1 while both are
   * {@code -∞}); {@code s_j = exp(x_j - newMax)} (0 while newMax is {@code -∞});
   * {@code sum[r] = sum[r]·alpha[r] + Σ_j s_j}; {@code max[r] = newMax}. {@code maskOffset[r] < 0} means no mask.
   */
  abstract void softmax(float[] s, int rows, int width, int[] limit, float scale, float[] mask,
      int[] maskOffset, float[] max, float[] sum, float[] alpha);

  /** {@code o[r][d] = o[r][d]·alpha[r] + Σ_{j<n} p[r][j] · v[vOffset + j·kvStride + d]}, o rows of {@code oStride}. */
  abstract void accumulate(float[] p, int rows, int n, float[] v, int vOffset, int kvStride, int headDim,
      float[] alpha, float[] o, int oStride);

  @Override
  public final void attend(AttentionSpec spec, int qLen, int kvLen, float[] q, float[] k, float[] v,
      float[] mask, float[] out) {
    Checks.attendArguments(spec, qLen, kvLen, q, k, v, mask, out);
    int group = spec.groupSize();
    int queryRows = Math.max(1, ROW_TARGET / group);
    Scratch work = scratch.get();
    work.ensure(Math.min(queryRows, qLen) * group, roundUp(spec.headDim(), dimStep()), spec.headDim());
    for (int g = 0; g < spec.kvHeads(); g++) {
      for (int i0 = 0; i0 < qLen; i0 += queryRows) {
        attendTask(spec, qLen, kvLen, q, k, v, mask, out, g, i0, Math.min(qLen, i0 + queryRows), work);
      }
    }
  }

  private void attendTask(AttentionSpec spec, int qLen, int kvLen, float[] q, float[] k, float[] v,
      float[] mask, float[] out, int g, int i0, int i1, Scratch work) {
    int headDim = spec.headDim();
    int group = spec.groupSize();
    int qStride = spec.queryHeads() * headDim;
    int kvStride = spec.kvHeads() * headDim;
    int oStride = roundUp(headDim, dimStep());
    int rows = (i1 - i0) * group;
    int causalShift = kvLen - qLen;

    // Keys j <= lastVisible[i] are visible to query row i; the task never looks past the largest.
    int keyEnd = spec.causal() ? Math.min(kvLen, i1 - 1 + causalShift + 1) : kvLen;
    for (int r = 0; r < rows; r++) {
      int i = i0 + r / group;
      work.qOffset[r] = i * qStride + (g * group + r % group) * headDim;
      work.maskOffset[r] = mask == null ? -1 : i * kvLen;
    }
    Arrays.fill(work.max, 0, rows, Float.NEGATIVE_INFINITY);
    Arrays.fill(work.sum, 0, rows, 0f);
    Arrays.fill(work.o, 0, rows * oStride, 0f);

    for (int j0 = 0; j0 < keyEnd; j0 += KEY_BLOCK) {
      int n = Math.min(KEY_BLOCK, keyEnd - j0);
      int width = roundUp(n, keyStep());
      for (int r = 0; r < rows; r++) {
        int visible = spec.causal() ? i0 + r / group + causalShift + 1 - j0 : n;
        work.limit[r] = Math.max(0, Math.min(n, visible));
        if (mask != null) {
          work.maskOffset[r] = (i0 + r / group) * kvLen + j0;
        }
      }
      packKeys(k, kvStride, j0 * kvStride + g * headDim, n, width, headDim, work.kt);
      scores(q, work.qOffset, rows, headDim, work.kt, width, work.s);
      softmax(work.s, rows, width, work.limit, spec.scale(), mask, work.maskOffset, work.max, work.sum,
          work.alpha);
      accumulate(work.s, rows, n, v, j0 * kvStride + g * headDim, kvStride, headDim, work.alpha, work.o,
          oStride);
    }

    for (int r = 0; r < rows; r++) {
      int dst = (i0 + r / group) * qStride + (g * group + r % group) * headDim;
      float total = work.sum[r];
      if (total > 0f) {
        for (int d = 0; d < headDim; d++) {
          out[dst + d] = work.o[r * oStride + d] / total;
        }
      } else {
        // No visible key (or every weight underflowed, impossible since the maximum's weight is 1).
        Arrays.fill(out, dst, dst + headDim, 0f);
      }
    }
  }

  static int roundUp(int n, int step) {
    return (n + step - 1) / step * step;
  }

  /** Per-thread working memory, grown on demand and then reused: steady-state calls allocate nothing. */
  static final class Scratch {
    float[] kt = new float[0];
    float[] s = new float[0];
    float[] o = new float[0];
    float[] max = new float[0];
    float[] sum = new float[0];
    float[] alpha = new float[0];
    int[] qOffset = new int[0];
    int[] maskOffset = new int[0];
    int[] limit = new int[0];

    void ensure(int rows, int paddedDim, int headDim) {
      if (kt.length < headDim * KEY_BLOCK) {
        kt = new float[headDim * KEY_BLOCK];
      }
      if (s.length < rows * KEY_BLOCK) {
        s = new float[rows * KEY_BLOCK];
      }
      if (o.length < rows * paddedDim) {
        o = new float[rows * paddedDim];
      }
      if (max.length < rows) {
        max = new float[rows];
        sum = new float[rows];
        alpha = new float[rows];
        qOffset = new int[rows];
        maskOffset = new int[rows];
        limit = new int[rows];
      }
    }
  }
}
