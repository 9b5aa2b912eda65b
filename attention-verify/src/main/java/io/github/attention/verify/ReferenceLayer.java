package io.github.attention.verify;

import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.Blocking;
import io.github.attention.layer.MultiHeadAttention;
import io.github.attention.verify.ErrorBound.Precision;

/**
 * The textbook multi-head attention layer in {@code double}, written plainly from its four steps (project,
 * attend per head, concatenate, project), sharing no code with the library, together with a rigorous bound
 * on how far a float implementation may be from it, per output element.
 *
 * <h2>The bound</h2>
 * Notation as in {@link ErrorBound}: {@code u} the unit roundoff, {@code γ_m = m·u/(1 − m·u)}; both the
 * float layer and this reference are bounded, and the two bounds are added ({@code u_f = 2⁻²⁴},
 * {@code u_d = 2⁻⁵³}).
 * <ol>
 *   <li><b>Projections.</b> {@code Q = x·Wqᵀ + b} is a sum of {@code in} products and the bias: in any order,
 *       fused or not, each term passes through at most {@code in + 1} roundings, so
 *       {@code |Q̂ − Q| ≤ e_Q = γ_{in+2}·(Σ_i |x_i w_i| + |b|) + (in + 2)·η}, likewise {@code e_K},
 *       {@code e_V}; {@code η}, the smallest subnormal float, bounds the absolute error of each rounding that
 *       underflows. Keys and values loaded into a cache are exact floats ({@code e = 0}).
 *   <li><b>Attention on perturbed inputs.</b> The float kernel computes softmax-weighted sums of perturbed
 *       scores (see {@link ErrorBound}); the perturbed inputs move each score by at most
 *       {@code Δ_j = c·Σ_d (e_Q,d·|K_jd| + |Q_d|·e_K,jd + e_Q,d·e_K,jd)}, which is added to the kernel's own
 *       score error ({@link ErrorBound#tolerance(AttentionSpec, ReferenceAttention.Row, int, Precision,
 *       double, double)}, its weighted mean and maximum). The row statistics use the magnitudes the kernel
 *       sees, {@code |Q| + e_Q} and {@code |K| + e_K}, and {@code A_d = max_j (|V_jd| + e_V,jd)}. Perturbed
 *       values move the weighted sum by at most {@code max_j e_V,jd} (the weights sum to 1). Together:
 *       {@code |Ĥ − H| ≤ e_H}.
 *   <li><b>Output projection.</b> {@code Y = H·Woᵀ + bo} from inputs off by {@code e_H}:
 *       {@code |Ŷ − Y| ≤ Σ_c |Wo_oc|·e_H,c + γ_{in+2}·(Σ_c (|H_c| + e_H,c)·|Wo_oc| + |bo|) + (in + 2)·η}.
 * </ol>
 * The bound is evaluated in double from the reference's own values; a relative margin of 2⁻³⁰ covers that
 * evaluation, as in {@link ErrorBound#kernelVsReference}.
 */
public final class ReferenceLayer {

  private static final double EVALUATION_MARGIN = 0x1p-30;

  private ReferenceLayer() {}

  /**
   * A layer's dimensions and parameters, laid out as {@link MultiHeadAttention.Builder} takes them (biases
   * may be null).
   *
   * @param modelDim d_model
   * @param queryHeads query heads
   * @param kvHeads key/value heads
   * @param headDim width of a head
   * @param causal whether the layer is causal
   * @param wq {@code [queryHeads·headDim][modelDim]}
   * @param wk {@code [kvHeads·headDim][modelDim]}
   * @param wv {@code [kvHeads·headDim][modelDim]}
   * @param wo {@code [modelDim][queryHeads·headDim]}
   * @param bq {@code [queryHeads·headDim]} or null
   * @param bk {@code [kvHeads·headDim]} or null
   * @param bv {@code [kvHeads·headDim]} or null
   * @param bo {@code [modelDim]} or null
   */
  public record Weights(int modelDim, int queryHeads, int kvHeads, int headDim, boolean causal, float[] wq,
      float[] wk, float[] wv, float[] wo, float[] bq, float[] bk, float[] bv, float[] bo) {

    /** @return the attention spec of the layer (default scale) */
    public AttentionSpec spec() {
      return AttentionSpec.of(queryHeads, kvHeads, headDim).withCausal(causal);
    }

    /** @return a builder with every dimension, weight and bias of this layer set */
    public MultiHeadAttention.Builder builder() {
      return MultiHeadAttention.builder().modelDim(modelDim).queryHeads(queryHeads).kvHeads(kvHeads)
          .headDim(headDim).causal(causal).queryWeights(wq).keyWeights(wk).valueWeights(wv)
          .outputWeights(wo).queryBias(bq).keyBias(bk).valueBias(bv).outputBias(bo);
    }
  }

  /** The reference output {@code [tokens][modelDim]} and the bound on a float layer's error per element. */
  public static final class Result {
    private final double[] y;
    private final double[] tolerance;
    private final double[] scoreUncertainty;
    private final double[] termMagnitude;

    Result(double[] y, double[] tolerance, double[] scoreUncertainty, double[] termMagnitude) {
      this.y = y;
      this.tolerance = tolerance;
      this.scoreUncertainty = scoreUncertainty;
      this.termMagnitude = termMagnitude;
    }

    /**
     * @return {@code Σ_c |H_c·Wo_oc| + |bo_o|} of element {@code i}: the scale of the terms summed into it,
     *     against which its error is measured (the output itself may be far smaller, by cancellation)
     */
    public double termMagnitude(int i) {
      return termMagnitude[i];
    }

    /**
     * @return how far a float layer's attention scores of token {@code t} may be off, at most over its
     *     heads and keys (float rounding of the scores plus the projections' errors): how ill-conditioned
     *     the token's softmax is, to group reported errors by
     */
    public double scoreUncertainty(int t) {
      return scoreUncertainty[t];
    }

    /** @return the outputs; the array is shared, do not modify it */
    public double[] y() {
      return y;
    }

    /** @return the bound on {@code |float layer − reference|} of element {@code i} */
    public double tolerance(int i) {
      return tolerance[i];
    }
  }

  /**
   * The layer over a whole sequence, {@code x} of {@code [seqLen][modelDim]}.
   *
   * @return outputs and tolerances
   */
  public static Result forward(Weights w, float[] x, int seqLen) {
    return forward(w, null, null, 0, x, seqLen);
  }

  /**
   * The layer over {@code newTokens} tokens continuing a sequence of {@code cached} tokens whose keys and
   * values ({@code [cached][kvHeads][headDim]}, exact floats) are given, as
   * {@link MultiHeadAttention#forward(float[], int, io.github.attention.layer.KvCache, float[])} computes it:
   * causal, bottom-right aligned. With {@code cached == 0} the layer's own causal flag applies.
   *
   * @return outputs and tolerances of the new tokens
   */
  public static Result forward(Weights w, float[] cachedKeys, float[] cachedValues, int cached, float[] x,
      int newTokens) {
    return forward(w, 0, cachedKeys, cachedValues, cached, x, newTokens);
  }

  /**
   * As {@link #forward(Weights, float[], float[], int, float[], int)}, for a layer with a sliding window:
   * the token at position {@code p} sees positions {@code p − window + 1 .. p} (0 for no window).
   */
  public static Result forward(Weights w, int window, float[] cachedKeys, float[] cachedValues, int cached,
      float[] x, int newTokens) {
    return forward(w, null, window, cachedKeys, cachedValues, cached, x, newTokens);
  }

  /**
   * As {@link #forward(Weights, int, float[], float[], int, float[], int)}, for a layer with rotary position
   * embeddings: the new tokens' queries and keys are rotated at positions {@code cached + t}; cached keys are
   * taken as given (rotated when they were stored). Bound of one rotated component {@code r = x₀·c − x₁·s}
   * (or {@code x₀·s + x₁·c}) of inputs off by {@code e₀, e₁}: the float layer rounds {@code cos} and
   * {@code sin} once from double (within {@code u_f + 2u_d} of the exact, both at most 1 in magnitude),
   * multiplies twice and adds once (three roundings), so
   * {@code |r̂ − r| ≤ (e₀ + e₁)(1 + u') + u'(|x₀| + |x₁|) + (2u_f + u_f²)(1 + u')(|x₀| + |x₁| + e₀ + e₁)} with
   * {@code u' = u_f + 2u_d}; this reference's own rotation in double adds {@code 4u_d(|x₀| + |x₁|)}. Bounded
   * here, generously, by {@code (e₀ + e₁)(1 + 5u) + 5u(|x₀| + |x₁|)} with {@code u = u_f + u_d}.
   *
   * @param rotary the layer's rotary embedding, or null for none
   * @return outputs and tolerances of the new tokens
   */
  public static Result forward(Weights w, io.github.attention.layer.RotaryEmbedding rotary, int window,
      float[] cachedKeys, float[] cachedValues, int cached, float[] x, int newTokens) {
    return forward(w, rotary, cached, window, cachedKeys, cachedValues, cached, x, newTokens);
  }

  /**
   * As {@link #forward(Weights, io.github.attention.layer.RotaryEmbedding, int, float[], float[], int, float[],
   * int)}, the new tokens at rotary positions {@code firstPosition + t} (what
   * {@link MultiHeadAttention#forward(float[], int, int, float[])} does for a whole sequence).
   *
   * @return outputs and tolerances of the new tokens
   */
  public static Result forward(Weights w, io.github.attention.layer.RotaryEmbedding rotary, int firstPosition,
      int window, float[] cachedKeys, float[] cachedValues, int cached, float[] x, int newTokens) {
    int dModel = w.modelDim();
    int qWidth = w.queryHeads() * w.headDim();
    int kvWidth = w.kvHeads() * w.headDim();
    int total = cached + newTokens;
    boolean causal = cached > 0 || w.causal();

    // 1. Projections of the new tokens, their magnitudes Σ|x·w| + |b| and error bounds.
    Linear q = Linear.of(x, newTokens, dModel, w.wq(), w.bq(), qWidth);
    Linear kNew = Linear.of(x, newTokens, dModel, w.wk(), w.bk(), kvWidth);
    Linear vNew = Linear.of(x, newTokens, dModel, w.wv(), w.bv(), kvWidth);
    if (rotary != null) {
      q.rotate(rotary, newTokens, w.queryHeads(), w.headDim(), firstPosition);
      kNew.rotate(rotary, newTokens, w.kvHeads(), w.headDim(), firstPosition);
    }
    double[] k = new double[total * kvWidth];
    double[] v = new double[total * kvWidth];
    double[] eK = new double[total * kvWidth];
    double[] eV = new double[total * kvWidth];
    for (int i = 0; i < cached * kvWidth; i++) {
      k[i] = cachedKeys[i];
      v[i] = cachedValues[i];
    }
    System.arraycopy(kNew.value, 0, k, cached * kvWidth, newTokens * kvWidth);
    System.arraycopy(vNew.value, 0, v, cached * kvWidth, newTokens * kvWidth);
    System.arraycopy(kNew.error, 0, eK, cached * kvWidth, newTokens * kvWidth);
    System.arraycopy(vNew.error, 0, eV, cached * kvWidth, newTokens * kvWidth);

    // 2. Attention per new token and query head, with its error bound.
    AttentionSpec spec = w.spec().withCausal(causal);
    if (window > 0) {
      spec = spec.withSlidingWindow(window);
    }
    double[] heads = new double[newTokens * qWidth];
    double[] eHeads = new double[newTokens * qWidth];
    double[] uncertainty = new double[newTokens];
    for (int t = 0; t < newTokens; t++) {
      for (int h = 0; h < w.queryHeads(); h++) {
        uncertainty[t] = Math.max(uncertainty[t],
            attendRow(spec, t, h, cached + t, total, q, k, v, eK, eV, heads, eHeads));
      }
    }

    // 3-4. Heads are concatenated by layout; the output projection of inputs off by eHeads.
    double[] y = new double[newTokens * dModel];
    double[] tolerance = new double[newTokens * dModel];
    double[] terms = new double[newTokens * dModel];
    double gammaF = ErrorBound.gamma(qWidth + 2, Precision.FLOAT.unitRoundoff());
    double gammaD = ErrorBound.gamma(qWidth + 2, Precision.DOUBLE.unitRoundoff());
    for (int t = 0; t < newTokens; t++) {
      for (int o = 0; o < dModel; o++) {
        double bias = w.bo() == null ? 0 : w.bo()[o];
        double sum = bias;
        double magnitude = Math.abs(bias);
        double propagated = 0;
        double computedMagnitude = Math.abs(bias);
        for (int c = 0; c < qWidth; c++) {
          double weight = w.wo()[o * qWidth + c];
          double hc = heads[t * qWidth + c];
          sum += hc * weight;
          magnitude += Math.abs(hc * weight);
          propagated += Math.abs(weight) * eHeads[t * qWidth + c];
          computedMagnitude += (Math.abs(hc) + eHeads[t * qWidth + c]) * Math.abs(weight);
        }
        y[t * dModel + o] = sum;
        terms[t * dModel + o] = magnitude;
        tolerance[t * dModel + o] = (propagated + gammaF * computedMagnitude + gammaD * magnitude
            + (qWidth + 2) * (double) Float.MIN_VALUE) * (1 + EVALUATION_MARGIN);
      }
    }
    return new Result(y, tolerance, uncertainty, terms);
  }

  /**
   * Head h's output of new token t (absolute position {@code position}, so it sees at least itself) into
   * {@code heads}, and its bound into {@code eHeads}; returns the row's largest score error.
   */
  private static double attendRow(AttentionSpec spec, int t, int h, int position, int total, Linear q,
      double[] k, double[] v, double[] eK, double[] eV, double[] heads, double[] eHeads) {
    int dim = spec.headDim();
    int qWidth = spec.queryHeads() * dim;
    int kvWidth = spec.kvHeads() * dim;
    int g = spec.kvHeadOf(h);
    double c = spec.scale();
    int qAt = t * qWidth + h * dim;
    int end = spec.causal() ? position + 1 : total;
    int start = spec.slidingWindow() > 0 ? Math.max(0, position - spec.slidingWindow() + 1) : 0;
    double[] x = new double[end];
    double max = Double.NEGATIVE_INFINITY;
    for (int j = start; j < end; j++) {
      int kAt = j * kvWidth + g * dim;
      double dot = 0;
      for (int d = 0; d < dim; d++) {
        dot += q.value[qAt + d] * k[kAt + d];
      }
      x[j] = dot * c;
      max = Math.max(max, x[j]);
    }
    double sum = 0;
    for (int j = start; j < end; j++) {
      sum += Math.exp(x[j] - max);
    }
    double weightedDot = 0;
    double weightedScore = 0;
    double weightedGap = 0;
    double maxDot = 0;
    double maxScore = 0;
    double maxGap = 0;
    double inputMean = 0;
    double inputMax = 0;
    double[] valueMagnitude = new double[dim];
    double[] valueError = new double[dim];
    double[] out = new double[dim];
    for (int j = start; j < end; j++) {
      double weight = Math.exp(x[j] - max) / sum;
      int kAt = j * kvWidth + g * dim;
      double dotMagnitude = 0;
      double input = 0;
      for (int d = 0; d < dim; d++) {
        double qd = Math.abs(q.value[qAt + d]);
        double eq = q.error[qAt + d];
        double kd = Math.abs(k[kAt + d]);
        double ek = eK[kAt + d];
        dotMagnitude += (qd + eq) * (kd + ek);
        input += eq * kd + qd * ek + eq * ek;
        out[d] += weight * v[kAt + d];
        valueMagnitude[d] = Math.max(valueMagnitude[d], Math.abs(v[kAt + d]) + eV[kAt + d]);
        valueError[d] = Math.max(valueError[d], eV[kAt + d]);
      }
      dotMagnitude *= c;
      input *= c;
      // No mask: the score's magnitude is at most the dot product's.
      double gap = max - x[j];
      weightedDot += weight * dotMagnitude;
      weightedScore += weight * dotMagnitude;
      weightedGap += weight * gap;
      maxDot = Math.max(maxDot, dotMagnitude);
      maxScore = Math.max(maxScore, dotMagnitude);
      maxGap = Math.max(maxGap, gap);
      inputMean += weight * input;
      inputMax = Math.max(inputMax, input);
    }
    int blocks = (end - 1) / Blocking.KEY_BLOCK - start / Blocking.KEY_BLOCK + 1;
    ReferenceAttention.Row row = new ReferenceAttention.Row(end - start, blocks, weightedDot, weightedScore,
        weightedGap, maxDot, maxScore, maxGap, valueMagnitude);
    for (int d = 0; d < dim; d++) {
      heads[qAt + d] = out[d];
      double bound = ErrorBound.tolerance(spec, row, d, Precision.FLOAT, inputMean, inputMax)
          + ErrorBound.tolerance(spec, row, d, Precision.DOUBLE) + valueError[d];
      eHeads[qAt + d] = bound * (1 + EVALUATION_MARGIN);
    }
    return ErrorBound.scoreUncertainty(spec, row) + inputMax;
  }

  /** One projection of the new tokens in double: values, and the bound on a float layer's error. */
  private static final class Linear {
    final double[] value;
    final double[] error;

    private Linear(double[] value, double[] error) {
      this.value = value;
      this.error = error;
    }

    /** Rotates rows {@code [tokens][heads][dim]} in place, row t at {@code first + t}, and bounds the result. */
    void rotate(io.github.attention.layer.RotaryEmbedding rotary, int tokens, int heads, int dim, int first) {
      double u = Precision.FLOAT.unitRoundoff() + Precision.DOUBLE.unitRoundoff();
      double[] f = rotary.frequencies();
      int half = rotary.rotaryDim() / 2;
      boolean interleaved = rotary.pairing() == io.github.attention.layer.RotaryEmbedding.Pairing.INTERLEAVED;
      for (int t = 0; t < tokens; t++) {
        for (int i = 0; i < half; i++) {
          double angle = (double) (first + t) * f[i];
          double c = Math.cos(angle);
          double sn = Math.sin(angle);
          int a = interleaved ? 2 * i : i;
          int b = interleaved ? 2 * i + 1 : i + half;
          for (int h = 0; h < heads; h++) {
            int base = (t * heads + h) * dim;
            double x0 = value[base + a];
            double x1 = value[base + b];
            double e = (error[base + a] + error[base + b]) * (1 + 5 * u) + 5 * u * (Math.abs(x0) + Math.abs(x1));
            value[base + a] = x0 * c - x1 * sn;
            value[base + b] = x0 * sn + x1 * c;
            error[base + a] = e;
            error[base + b] = e;
          }
        }
      }
    }

    static Linear of(float[] x, int tokens, int in, float[] weights, float[] bias, int out) {
      double[] value = new double[tokens * out];
      double[] error = new double[tokens * out];
      double gamma = ErrorBound.gamma(in + 2, Precision.FLOAT.unitRoundoff())
          + ErrorBound.gamma(in + 2, Precision.DOUBLE.unitRoundoff());
      double underflow = (in + 2) * (double) Float.MIN_VALUE;
      for (int t = 0; t < tokens; t++) {
        for (int o = 0; o < out; o++) {
          double b = bias == null ? 0 : bias[o];
          double sum = b;
          double magnitude = Math.abs(b);
          for (int i = 0; i < in; i++) {
            double product = (double) x[t * in + i] * weights[o * in + i];
            sum += product;
            magnitude += Math.abs(product);
          }
          value[t * out + o] = sum;
          error[t * out + o] = gamma * magnitude + underflow;
        }
      }
      return new Linear(value, error);
    }
  }
}
