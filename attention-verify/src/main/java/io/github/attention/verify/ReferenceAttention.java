package io.github.attention.verify;

import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.Blocking;

/**
 * Textbook scaled dot-product attention in {@code double}, written to be checked by eye rather than to be
 * fast, and sharing no code with the kernels under test.
 *
 * <p>For every query row {@code i} and query head {@code h} (reading key/value head
 * {@code g = h / (queryHeads / kvHeads)}) it
 * <ol>
 *   <li>materializes the scores {@code x_j = (q_i · k_j) · scale + mask[i][j]} of the visible keys
 *       ({@link #visible}); products of two floats are exact in double, so only the additions round;
 *   <li>subtracts their maximum {@code M}, exponentiates, and normalizes: {@code w_j = e^(x_j - M) / Σ};
 *   <li>returns {@code Σ_j e^(x_j - M) · v_j / Σ} (zeros when no key is visible).
 * </ol>
 * Layouts and the causal rule are those of {@link io.github.attention.kernel.AttentionKernel}. Alongside the
 * output it reports, per output row, the quantities {@link ErrorBound} needs ({@link Row}).
 *
 * <p>Inputs are trusted (this is a test oracle): mask entries must be finite or {@code -Infinity}.
 */
public final class ReferenceAttention {

  private ReferenceAttention() {}

  /**
   * Whether query row {@code i} sees key {@code j}: not in its causal future (bottom-right aligned) and not
   * removed by a {@code -Infinity} mask entry.
   */
  public static boolean visible(AttentionSpec spec, int qLen, int kvLen, float[] mask, int i, int j) {
    if (spec.causal() && j > i + (kvLen - qLen)) {
      return false;
    }
    return mask == null || mask[i * kvLen + j] != Float.NEGATIVE_INFINITY;
  }

  /** Computes attention in double; see the class comment. */
  public static Result attend(AttentionSpec spec, int qLen, int kvLen, float[] q, float[] k, float[] v,
      float[] mask) {
    int heads = spec.queryHeads();
    int dim = spec.headDim();
    double scale = spec.scale();
    double[] out = new double[qLen * heads * dim];
    Row[] rows = new Row[qLen * heads];
    double[] x = new double[kvLen];
    double[] dotMagnitude = new double[kvLen];
    boolean[] seen = new boolean[kvLen];
    for (int i = 0; i < qLen; i++) {
      for (int h = 0; h < heads; h++) {
        int g = spec.kvHeadOf(h);
        int qAt = (i * heads + h) * dim; // also where the output row goes: out has q's layout
        // 1. Scores of the visible keys, and their maximum.
        double max = Double.NEGATIVE_INFINITY;
        int visibleKeys = 0;
        for (int j = 0; j < kvLen; j++) {
          seen[j] = visible(spec, qLen, kvLen, mask, i, j);
          if (!seen[j]) {
            continue;
          }
          int kAt = (j * spec.kvHeads() + g) * dim;
          double dot = 0;
          double abs = 0;
          for (int d = 0; d < dim; d++) {
            double product = (double) q[qAt + d] * k[kAt + d];
            dot += product;
            abs += Math.abs(product);
          }
          x[j] = dot * scale + (mask == null ? 0 : mask[i * kvLen + j]);
          dotMagnitude[j] = abs * scale;
          max = Math.max(max, x[j]);
          visibleKeys++;
        }
        if (visibleKeys == 0) {
          rows[i * heads + h] = Row.empty(dim);
          continue; // out stays zero
        }
        // 2. Unnormalized weights e^(x_j - M) and their sum.
        double sum = 0;
        for (int j = 0; j < kvLen; j++) {
          if (seen[j]) {
            sum += Math.exp(x[j] - max);
          }
        }
        // 3. Weighted sum of the value rows, and the row's statistics for the error bound.
        double[] valueMagnitude = new double[dim];
        double weightedDot = 0;
        double weightedScore = 0;
        double weightedGap = 0;
        double maxDot = 0;
        double maxScore = 0;
        double maxGap = 0;
        int blocks = 0;
        int lastBlock = -1;
        for (int j = 0; j < kvLen; j++) {
          if (!seen[j]) {
            continue;
          }
          double e = Math.exp(x[j] - max);
          double w = e / sum;
          int vAt = (j * spec.kvHeads() + g) * dim;
          for (int d = 0; d < dim; d++) {
            out[qAt + d] += e * v[vAt + d];
            valueMagnitude[d] = Math.max(valueMagnitude[d], Math.abs(v[vAt + d]));
          }
          double maskValue = mask == null ? 0 : mask[i * kvLen + j];
          double score = Math.abs(x[j] - maskValue) + Math.abs(maskValue);
          double gap = max - x[j];
          weightedDot += w * dotMagnitude[j];
          weightedScore += w * score;
          weightedGap += w * gap;
          maxDot = Math.max(maxDot, dotMagnitude[j]);
          maxScore = Math.max(maxScore, score);
          maxGap = Math.max(maxGap, gap);
          if (j / Blocking.KEY_BLOCK != lastBlock) {
            lastBlock = j / Blocking.KEY_BLOCK;
            blocks++;
          }
        }
        for (int d = 0; d < dim; d++) {
          out[qAt + d] /= sum;
        }
        rows[i * heads + h] = new Row(visibleKeys, blocks, weightedDot, weightedScore, weightedGap, maxDot,
            maxScore, maxGap, valueMagnitude);
      }
    }
    return new Result(out, rows, heads);
  }

  /** The reference output, {@code [qLen][queryHeads][headDim]}, and per-row statistics. */
  public static final class Result {
    private final double[] out;
    private final Row[] rows;
    private final int heads;

    Result(double[] out, Row[] rows, int heads) {
      this.out = out;
      this.rows = rows;
      this.heads = heads;
    }

    /** @return the output in the layout of {@code q}; the array is shared, do not modify it */
    public double[] out() {
      return out;
    }

    /** @return the statistics of output row {@code (i, h)} */
    public Row row(int i, int h) {
      return rows[i * heads + h];
    }
  }

  /**
   * What {@link ErrorBound} needs to know about one output row {@code (i, h)}. Over its visible keys
   * {@code j}, with exact scores {@code x_j}, maximum {@code M}, softmax weights {@code w_j},
   * {@code c = scale}:
   *
   * @param visibleKeys n, the number of visible keys (0: the row must be zeros)
   * @param keyBlocks nb, how many {@link Blocking#KEY_BLOCK}-key blocks (aligned at key 0) hold a
   *     visible key: each costs the kernels one running-max rescale
   * @param weightedDotMagnitude {@code Σ_j w_j · c · Σ_d |q_d k_jd|}
   * @param weightedScoreMagnitude {@code Σ_j w_j · (|c · q·k_j| + |mask_ij|)}
   * @param weightedGap {@code Σ_j w_j · (M - x_j)}
   * @param maxDotMagnitude {@code max_j c · Σ_d |q_d k_jd|}
   * @param maxScoreMagnitude {@code max_j (|c · q·k_j| + |mask_ij|)}
   * @param maxGap {@code max_j (M - x_j)}
   * @param valueMagnitude {@code A_d = max_j |v_jd|} for every coordinate d
   */
  public record Row(int visibleKeys, int keyBlocks, double weightedDotMagnitude,
      double weightedScoreMagnitude, double weightedGap, double maxDotMagnitude, double maxScoreMagnitude,
      double maxGap, double[] valueMagnitude) {

    static Row empty(int dim) {
      return new Row(0, 0, 0, 0, 0, 0, 0, 0, new double[dim]);
    }
  }
}
