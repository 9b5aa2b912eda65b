package io.github.attention.internal.core;

/**
 * The online-softmax recurrence (Milakov and Gimelshein 2018, arXiv 1805.02867), one block at a time, for
 * both backends: with the block's row maxima {@code b_r},
 *
 * <pre>
 *   m'_r = max(m_r, b_r)        alpha_r = e^(m_r − m'_r)   (1 if the maximum did not grow)
 *   p_rj = e^(x_rj − m'_r)      l'_r = l_r·alpha_r + Σ_j p_rj      o'_r = o_r·alpha_r + Σ_j p_rj·v_j
 * </pre>
 *
 * and at the end {@code out_r = o_r / l_r}. While a row has seen no key its maximum is {@code -∞}; the shift
 * is then 0, so its weights are {@code e^(-∞) = 0} and its (zero) sum and accumulator stay zero. The first
 * visible block rescales by {@code e^(-∞) = 0}. The backend's {@link BlockOps} computes the maxima, the
 * exponentials and the sums lane by lane; the decisions are all here.
 */
final class OnlineSoftmax {

  private OnlineSoftmax() {}

  /**
   * Turns the block's scores {@code s} into weights {@code p} and updates the rows' maximum, sum and rescale
   * factors; the caller then accumulates {@code p·V} with {@link RowState#alpha}.
   */
  static void step(BlockOps ops, float[] s, int width, BlockRows rows, RowState state) {
    ops.rowMaxima(s, width, rows, state.blockMax);
    int count = rows.count();
    boolean raw = rows.raw();
    float scale = rows.scale();
    float[] max = state.max;
    float[] alpha = state.alpha;
    float[] shift = state.shift;
    float[] blockMax = state.blockMax;
    for (int r = 0; r < count; r++) {
      float grown = raw ? blockMax[r] * scale : blockMax[r];
      float old = max[r];
      if (grown > old) {
        // Math.exp is the same intrinsic in the interpreter and both compilers: every thread gets these bits.
        alpha[r] = (float) Math.exp(old - grown);
        max[r] = grown;
      } else {
        alpha[r] = 1f;
      }
      float m = max[r];
      shift[r] = m == Float.NEGATIVE_INFINITY ? 0f : -m;
    }
    // Raw scores get the scale inside the exponential's argument: p = e^(s·scale − m).
    ops.exponentiate(s, count, width, raw ? scale : 1f, shift, alpha, state.sum, rows);
  }
}
