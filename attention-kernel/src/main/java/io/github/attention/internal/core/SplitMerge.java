package io.github.attention.internal.core;

import java.util.Arrays;

/**
 * Combines the chunks of a split call (split-KV, as in FlashDecoding) in chunk order. For one row, with
 * {@code M} the largest chunk maximum and {@code w_c = e^(max_c − M)},
 * {@code out = Σ_c w_c·o_c / Σ_c w_c·sum_c}, summed over the chunks that took part (sum not 0: positive, or
 * NaN from non-finite scores, as in an unsplit row). A row with one such chunk gets {@code o/sum}, exactly
 * as if unsplit; as in an unsplit row, a total that is not positive (no visible key, or NaN) gives zeros.
 * {@code Math.exp} is the same intrinsic in HotSpot's interpreter and compilers, so every thread computes
 * the same weights.
 */
final class SplitMerge {

  private SplitMerge() {}

  /**
   * Writes row {@code r} of the output from the states of blocks {@code first + c·stride}, {@code c < chunks},
   * to {@code out[dst .. dst + headDim)}.
   */
  static void mergeRow(BlockOps ops, Partials p, int r, int first, int stride, int chunks, int headDim,
      float[] out, int dst, boolean hasSink, float sink, float[] lse, int lseAt) {
    int rows = p.rows;
    float top = Float.NEGATIVE_INFINITY;
    int seen = 0;
    int only = first;
    for (int c = 0, b = first; c < chunks; c++, b += stride) {
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
        ops.addScaled(p.out[b], from, weight, p.paddedDim, acc);
      }
    }
    if (lse != null) {
      lse[lseAt] = logSumExp(top, total, sink);
    }
    if (hasSink) {
      total = withSink(total, sink, top);
    }
    if (total > 0f) {
      ops.divide(acc, at, total, headDim, out, dst);
    } else {
      Arrays.fill(out, dst, dst + headDim, 0f);
    }
  }

  /**
   * A row's sum of weights with its sink's term: {@code total + e^(sink − max)}, the exponential in double
   * rounded to float ({@code Math.exp}: the same intrinsic on every thread). A row that saw no key
   * ({@code max = -∞}) gets {@code +∞} (or NaN for a sink of {@code -∞}), so that its zero accumulator
   * still gives zeros; a sink of {@code -∞} adds exactly 0 otherwise.
   */
  static float withSink(float total, float sink, float max) {
    return total + (float) Math.exp((double) sink - max);
  }

  /**
   * A row's log-sum-exp {@code ln(Σ_j e^(x_j) + e^sink)} from its maximum {@code max} and its keys' sum of
   * weights relative to it ({@code total}, without the sink), in double with the larger of {@code max} and
   * {@code sink} factored out (so that neither term overflows), rounded to float; the sink itself when the
   * row saw no key, {@code -∞} with neither; NaN for a NaN sum.
   */
  static float logSumExp(float max, float total, float sink) {
    if (Float.isNaN(total) || Float.isNaN(max)) {
      return Float.NaN; // NaN scores: not "no key", which a merge would silently drop
    }
    if (max == Float.NEGATIVE_INFINITY) {
      return sink;
    }
    if (sink <= max) {
      return (float) (max + Math.log(total + Math.exp((double) sink - max)));
    }
    return (float) (sink + Math.log(total * Math.exp((double) max - sink) + 1));
  }
}
