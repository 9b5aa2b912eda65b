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
 *   <li>materializes the scores {@code x_j = cap·tanh((q_i · k_j) · scale / cap) + mask[i][j] + m_h·(j − p)}
 *       of the visible keys ({@link #visible}; without a soft-cap the first term is {@code (q_i·k_j)·scale},
 *       without ALiBi the last is 0); products of two floats are exact in double, so only the additions
 *       round;
 *   <li>subtracts their maximum {@code M}, exponentiates, and normalizes, the sink's term in the sum:
 *       {@code w_j = e^(x_j - M) / (e^(sink_h - M) + Σ)};
 *   <li>returns {@code Σ_j e^(x_j - M) · v_j / (e^(sink_h - M) + Σ)} (zeros when no key is visible), and
 *       the log-sum-exp {@code M + ln(e^(sink_h - M) + Σ)}.
 * </ol>
 * Layouts and the causal rule are those of {@link io.github.attention.kernel.AttentionKernel}. Alongside the
 * output it reports, per output row, the quantities {@link ErrorBound} needs ({@link Row}).
 *
 * <p>Inputs are trusted (this is a test oracle): mask entries must be finite or {@code -Infinity}.
 */
public final class ReferenceAttention {

  private ReferenceAttention() {}

  /**
   * Whether query row {@code i} sees key {@code j}: not in its causal future (bottom-right aligned), inside
   * its sliding window ({@code p − window < j} with {@code p = i + kvLen − qLen}), and not removed by a
   * {@code -Infinity} mask entry.
   */
  public static boolean visible(AttentionSpec spec, int qLen, int kvLen, float[] mask, int i, int j) {
    long p = (long) i + kvLen - qLen;
    if (spec.causal() && j > p) {
      return false;
    }
    if (spec.slidingWindow() > 0 && j <= p - spec.slidingWindow()) {
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
    double cap = spec.softcap();
    float[] sinks = spec.sinks();
    float[] slopes = spec.alibiSlopes();
    double[] out = new double[qLen * heads * dim];
    double[] lse = new double[qLen * heads];
    Row[] rows = new Row[qLen * heads];
    double[] x = new double[kvLen];
    double[] dotMagnitude = new double[kvLen];
    double[] scoreMagnitude = new double[kvLen];
    double[] capped = new double[kvLen];
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
          // The variants in the order of AttentionSpec: soft-cap, then mask, then ALiBi.
          double scaled = dot * scale;
          double logit = cap > 0 ? cap * Math.tanh(scaled / cap) : scaled;
          double maskValue = mask == null ? 0 : mask[i * kvLen + j];
          double bias = slopes == null ? 0 : (double) slopes[h] * (j - ((long) i + kvLen - qLen));
          x[j] = logit + maskValue + bias;
          dotMagnitude[j] = abs * scale;
          scoreMagnitude[j] = Math.abs(scaled) + Math.abs(maskValue) + Math.abs(bias);
          capped[j] = cap > 0 ? Math.abs(logit) : 0;
          max = Math.max(max, x[j]);
          visibleKeys++;
        }
        double sink = sinks == null ? Double.NEGATIVE_INFINITY : sinks[h];
        if (visibleKeys == 0) {
          rows[i * heads + h] = Row.empty(dim);
          lse[i * heads + h] = sink; // -∞ without a sink
          continue; // out stays zero
        }
        // 2. Unnormalized weights e^(x_j - T) and their sum with the sink's term, T = max(M, sink) so that
        // neither overflows.
        double top = Math.max(max, sink);
        double sum = 0;
        for (int j = 0; j < kvLen; j++) {
          if (seen[j]) {
            sum += Math.exp(x[j] - top);
          }
        }
        double sinkTerm = Math.exp(sink - top);
        sum += sinkTerm;
        lse[i * heads + h] = top + Math.log(sum);
        // 3. Weighted sum of the value rows, and the row's statistics for the error bound.
        double[] valueMagnitude = new double[dim];
        double weightedDot = 0;
        double weightedScore = 0;
        double weightedGap = 0;
        double maxDot = 0;
        double maxScore = 0;
        double maxGap = 0;
        double weightedCapped = 0;
        double maxCapped = 0;
        int blocks = 0;
        int lastBlock = -1;
        for (int j = 0; j < kvLen; j++) {
          if (!seen[j]) {
            continue;
          }
          double e = Math.exp(x[j] - top);
          double w = e / sum;
          int vAt = (j * spec.kvHeads() + g) * dim;
          for (int d = 0; d < dim; d++) {
            out[qAt + d] += e * v[vAt + d];
            valueMagnitude[d] = Math.max(valueMagnitude[d], Math.abs(v[vAt + d]));
          }
          double score = scoreMagnitude[j];
          double gap = max - x[j];
          weightedCapped += w * capped[j];
          maxCapped = Math.max(maxCapped, capped[j]);
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
            maxScore, maxGap, valueMagnitude, weightedCapped, maxCapped, sinkTerm / sum);
      }
    }
    return new Result(out, rows, heads, lse);
  }

  /** The reference output, {@code [qLen][queryHeads][headDim]}, and per-row statistics. */
  public static final class Result {
    private final double[] out;
    private final Row[] rows;
    private final int heads;
    private final double[] lse;

    Result(double[] out, Row[] rows, int heads, double[] lse) {
      this.out = out;
      this.rows = rows;
      this.heads = heads;
      this.lse = lse;
    }

    /**
     * @return each row's log-sum-exp {@code ln(e^sink + Σ_j e^(x_j))}, {@code [qLen][queryHeads]}
     *     ({@code -∞} for a row with no visible key and no sink); shared, do not modify
     */
    public double[] lse() {
      return lse;
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
   * @param weightedCappedMagnitude {@code Σ_j w_j · |cap·tanh(c·q·k_j/cap)|} (0 without a soft-cap)
   * @param maxCappedMagnitude {@code max_j |cap·tanh(c·q·k_j/cap)|} (0 without a soft-cap)
   * @param sinkWeight the sink's share of the softmax, {@code e^sink / (e^sink + Σ_j e^(x_j))} (0 without)
   */
  public record Row(int visibleKeys, int keyBlocks, double weightedDotMagnitude,
      double weightedScoreMagnitude, double weightedGap, double maxDotMagnitude, double maxScoreMagnitude,
      double maxGap, double[] valueMagnitude, double weightedCappedMagnitude, double maxCappedMagnitude,
      double sinkWeight) {

    /** A row without the statistics of the variants (no soft-cap, no sink). */
    public Row(int visibleKeys, int keyBlocks, double weightedDotMagnitude, double weightedScoreMagnitude,
        double weightedGap, double maxDotMagnitude, double maxScoreMagnitude, double maxGap,
        double[] valueMagnitude) {
      this(visibleKeys, keyBlocks, weightedDotMagnitude, weightedScoreMagnitude, weightedGap, maxDotMagnitude,
          maxScoreMagnitude, maxGap, valueMagnitude, 0, 0, 0);
    }

    static Row empty(int dim) {
      return new Row(0, 0, 0, 0, 0, 0, 0, 0, new double[dim]);
    }
  }
}
