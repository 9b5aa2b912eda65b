package io.github.attention.verify;

import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.Blocking;

/**
 * A rigorous bound on how far a floating-point attention output may be from the exact one, derived from
 * the operations the kernels perform. Notation: unit roundoff {@code u} (2⁻²⁴ for float),
 * {@code γ_m = m·u / (1 − m·u)}, head width {@code D}, {@code c = scale}. For one output row, over its
 * {@code n} visible keys {@code j}: exact scores {@code x_j = c·q·k_j + m_j}, their maximum {@code M},
 * softmax weights {@code w_j}, and {@code A_d = max_j |v_jd|}. {@link ReferenceAttention.Row} supplies these.
 *
 * <h2>1. Scores</h2>
 * The dot product (a chain of D fused or unfused multiply-adds) is off by at most
 * {@code γ_D · Σ_d |q_d k_jd|}; multiplying by {@code c} and adding the mask round twice more, so
 * <pre>  |x̂_j − x_j| ≤ δ_j = γ_{D+2}·c·Σ_d|q_d k_jd| + 4u·(|c·q·k_j| + |m_j|) + (c·D + 2)·η</pre>
 * where {@code η} is the smallest subnormal (absolute error of results that underflow).
 *
 * <h2>2. Weights as perturbed scores</h2>
 * The kernels keep a running maximum over blocks of {@link Blocking#KEY_BLOCK} keys. A key of block {@code b}
 * ends up with the weight {@code exp(x̂_j − m_b) · Π_c exp(m_{c−1} − m_c)}: its own exponential and one
 * rescale factor {@code alpha} per later block whose maximum grew, each argument a rounded float
 * subtraction and each exponential a float result within 2 ulp (relative error ≤ 4u; Math.exp promises
 * 1 ulp in double before narrowing, the vector kernel's polynomial exp was checked on every float in
 * [-86, 0] to be within 0.94 ulp, and the rescale factors use Math.exp). Since the same float weights and
 * {@code alpha}s enter numerator and denominator, the computed weights are exactly the softmax of perturbed
 * scores {@code x̃_j} with
 * <pre>  |x̃_j − x_j| ≤ ε_j = (1+u)·δ_j + u·(M − x_j + 2δ_max) + nb·(−ln(1 − 4u))</pre>
 * (with {@code nb + 1} exponentials once step 5 is counted)
 * The subtraction errors along key j's chain telescope to at most
 * {@code u·(M̂ − x̂_j) ≤ u·(M − x_j + 2δ_max)}, and at most
 * {@code nb} exponentials (nb = blocks holding a visible key) touch it. Note the subtraction term grows
 * with the gap {@code M − x_j}, so it is not bounded by a constant; it is harmless only because the
 * weight of a key far below the maximum is tiny, which is why the next step weights it.
 *
 * <h2>3. From scores to the output</h2>
 * If every score moves by at most {@code ε_j}, the weights become {@code w̃_j = w_j e^{ε_j} / E} with
 * {@code E = Σ w_k e^{ε_k}}; with {@code S = Σ_j w_j·expm1(ε_j)} one gets {@code |1 − E| ≤ S} and
 * <pre>  Σ_j |w̃_j − w_j| ≤ 2S / (1 − S)     (and always ≤ 2)</pre>
 * so the output moves by at most that times {@code A_d} (weights sum to 1). For a uniform
 * {@code ε_j = Δ} this is {@code ≈ 2Δ}, the familiar {@code expm1(2Δ)}. {@code S} is evaluated as
 * {@code (Σ w_j ε_j) · expm1(ε_max)/ε_max}, an upper bound because {@code expm1(x)/x} increases.
 * Weights that underflow to subnormals carry an absolute error of ≤ 2 ulp = 2η per exponential instead;
 * with the weight sum ≥ 1 this adds at most {@code 16·n·nb·η·A_d} ({@code 16·n·(nb + 1)·η·A_d} with step 5). The vector kernel's exponential also
 * flushes results below {@code e^-86} (≈ 4.5e-38) to zero: an absolute error of at most {@code e^-86} per
 * weight, which moves the output by at most {@code 2·n·e^-86·A_d}.
 *
 * <h2>4. Accumulation and division</h2>
 * {@code Σ p_j v_jd} and {@code Σ p_j} are accumulated in float, block by block, with one rescale by
 * {@code alpha} per block: each term passes through at most {@code K = n + nb + 2} roundings (step 5 adds one; products of
 * masked keys are exact zeros and add no error). Numerator and denominator are each off by a relative
 * {@code γ_K}, so their quotient is off by {@code 2γ_K/(1 − γ_K)·A_d = γ_{2K}·A_d}, and the final division
 * rounds once more: {@code γ_{2K+1}·A_d} in all. Underflow in the accumulation adds at most
 * {@code (2n + nb + 2)·η}, far below the absolute floor {@code MIN_NORMAL}.
 *
 * <h2>5. Split key ranges</h2>
 * A call with few query rows over many keys splits the keys into chunks, runs the above in each, and merges
 * the chunks' states: {@code out = Σ_c w_c·o_c / Σ_c w_c·sum_c}, {@code w_c = exp(max_c − M)} evaluated
 * in double and rounded to float (relative error ≤ 4u), summed in chunk order. Every key of chunk c gets
 * one more factor {@code w_c}, the same in numerator and denominator: like a block's rescale factor, one
 * more exponential of 2 ulp, so at most {@code nb + 1} per key. Every term passes through one more product;
 * the merge's additions are part of the same sum of n terms, whose additions any summation order bounds by
 * {@code n − 1}. The bound therefore counts {@code nb + 1} exponentials per key and
 * {@code K = n + nb + 3} roundings per term, whether or not the call splits.
 *
 * <h2>6. Variants</h2>
 * <b>Soft-cap</b>: the kernel computes {@code y = c·ŝ}, {@code t = y·fl(1/cap)} (two roundings),
 * {@code T(t)} within a relative {@code ρ} of {@code tanh t}, and {@code z = cap·T(t)}. tanh is 1-Lipschitz,
 * so the dot product's error and the roundings of {@code y} and {@code t} pass through undamped:
 * {@code |z − cap·tanh(c·s/cap)| ≤ γ_D·c·Σ|qk| + 3u·|c·s| + (ρ + u)·|x_c|} to first order, with
 * {@code x_c = cap·tanh(c·s/cap)} ({@code ρ = 4·2⁻²³} in float, see {@link Precision}).
 * <b>ALiBi</b>: the bias {@code b = m_h·(j − p)} is one rounded product ({@code j − p} is an exact
 * integer) and one more addition. With either, the additions of step 1 count {@code 6u·(|c·q·k| + |m| + |b|)}
 * instead of {@code 4u·(|c·q·k| + |m|)}, plus {@code (ρ + u)·|x_c|} for the soft-cap.
 * <b>Sliding window</b>: only which keys are visible; nothing changes.
 * <b>Sinks</b>: the sink is one more term of the denominator, {@code e^(sink − m)}, computed in double and
 * rounded to float (relative error ≤ 4u, as one exponential) with no value: like a key with {@code v = 0}
 * and no rescale chain. Its weight {@code w_sink} (with the keys', summing to 1) enters step 3's
 * {@code S} with at most the constant exponential term every key already carries, so step 2's bound covers
 * it unchanged; the denominator has one more addition: {@code K + 1} roundings per term.
 *
 * <h2>Result</h2>
 * <pre>  tol_d = min(2, 2S/(1 − S))·A_d + γ_{2K+1}·A_d + (16·n·(nb + 1)·η + 2·n·e^-86)·A_d + MIN_NORMAL</pre>
 * The double-precision {@link ReferenceAttention} has the same structure (with {@code nb = 1}, sequential
 * sums, exact products), so its own error is bounded by the same formula in {@link Precision#DOUBLE};
 * {@link #kernelVsReference} adds both, plus a relative 2⁻³⁰ for evaluating the bound in double from the
 * reference's rounded statistics. A row with no visible key has no tolerance: it must be exactly zero.
 *
 * <p>Two corrections to the simpler bound "{@code Δ_j = γ_{D+2}·c·Σ|qk| + 4u(|c·q·k| + |m|) + 4u}, output
 * error {@code expm1(2Δ)·A + (2γ_{n+nb+2} + u)·A}": the subtraction of the running maximum errs by
 * {@code u·(M − x_j)}, not by a constant, and each later block's rescale factor is one more rounded
 * exponential; both are covered above. The accumulation term is the same up to {@code O(u²)}.
 */
public final class ErrorBound {

  private static final double EVALUATION_MARGIN = 0x1p-30;

  private ErrorBound() {}

  /** The floating-point format whose roundings are bounded. */
  public enum Precision {
    /** IEEE binary32, the kernels' arithmetic. */
    FLOAT(0x1p-24, Float.MIN_VALUE, Float.MIN_NORMAL, Math.exp(-86), 4 * 0x1p-23),
    /** IEEE binary64, the reference's arithmetic. */
    DOUBLE(0x1p-53, Double.MIN_VALUE, Double.MIN_NORMAL, 0, 0x1p-52);

    final double u;
    final double eta;
    final double minNormal;
    /** Largest weight an exponential may flush to zero (the vector kernel's e^-86; none in double). */
    final double flushedWeight;
    /**
     * Relative error of tanh: 4 ulp (≤ 4·2⁻²³ of the value) for the vector kernel's (measured on every
     * float in [0, 10]: 2.99 ulp; tanh is odd and rounds to ±1 beyond) and for StrictMath.tanh rounded to
     * float (1 ulp of double, then half an ulp of float); 1 ulp of double for the reference's Math.tanh.
     */
    final double tanhRelative;

    Precision(double u, double eta, double minNormal, double flushedWeight, double tanhRelative) {
      this.u = u;
      this.eta = eta;
      this.minNormal = minNormal;
      this.flushedWeight = flushedWeight;
      this.tanhRelative = tanhRelative;
    }

    /** @return the unit roundoff u */
    public double unitRoundoff() {
      return u;
    }
  }

  /** {@code γ_m = m·u / (1 − m·u)}, the relative error bound of m successive roundings. */
  public static double gamma(double m, double u) {
    if (m * u >= 1) {
      return Double.POSITIVE_INFINITY;
    }
    return m * u / (1 - m * u);
  }

  /**
   * Bound on {@code |computed − exact|} for coordinate {@code d} of a row with visible keys, for a
   * computation in {@code precision} structured like the kernels (see the class comment).
   */
  public static double tolerance(AttentionSpec spec, ReferenceAttention.Row row, int d,
      Precision precision) {
    return tolerance(spec, row, d, precision, 0, 0);
  }

  /**
   * {@link #tolerance(AttentionSpec, ReferenceAttention.Row, int, Precision)} for inputs that are themselves
   * off (a layer's projected q and k): every score may move by an extra {@code Δ_j}, whose softmax-weighted
   * mean and maximum are given, on top of the kernel's own score error of step 1. The row statistics must
   * then describe the inputs the kernel sees (magnitudes including their errors).
   *
   * @param inputErrorMean {@code Σ_j w_j·Δ_j}
   * @param inputErrorMax {@code max_j Δ_j}
   */
  public static double tolerance(AttentionSpec spec, ReferenceAttention.Row row, int d,
      Precision precision, double inputErrorMean, double inputErrorMax) {
    double u = precision.u;
    double eta = precision.eta;
    int n = row.visibleKeys();
    int nb = row.keyBlocks();
    double a = row.valueMagnitude()[d];
    double s = weightPerturbation(spec, row, precision, inputErrorMean, inputErrorMax);
    double weightShift = s < 1 ? Math.min(2, 2 * s / (1 - s)) : 2;
    double tinyWeights = 16.0 * n * (nb + 1.0) * eta + 2.0 * n * precision.flushedWeight;
    // Step 4: accumulation and division, with step 5's merge.
    double accumulation = gamma(2.0 * roundingsPerTerm(spec, n, nb) + 1, u);
    return (weightShift + accumulation + tinyWeights) * a + precision.minNormal;
  }

  /**
   * Steps 1 to 3: {@code S = Σ_j w_j·expm1(ε_j)}, bounded by {@code mean(ε)·expm1(ε_max)/ε_max}.
   */
  private static double weightPerturbation(AttentionSpec spec, ReferenceAttention.Row row,
      Precision precision, double inputErrorMean, double inputErrorMax) {
    double u = precision.u;
    double eta = precision.eta;
    int nb = row.keyBlocks();
    int dim = spec.headDim();
    // Step 1: score errors, weighted by the softmax and at their largest (step 6 for the variants).
    double underflow = ((double) spec.scale() * dim + 2) * eta;
    double gammaDot = gamma(dim + 2, u);
    boolean variants = spec.softcap() > 0 || spec.alibiSlopes() != null;
    double additions = (variants ? 6 : 4) * u;
    double tanh = spec.softcap() > 0 ? precision.tanhRelative + u : 0;
    double deltaMean = gammaDot * row.weightedDotMagnitude() + additions * row.weightedScoreMagnitude()
        + tanh * row.weightedCappedMagnitude() + underflow + inputErrorMean;
    double deltaMax = gammaDot * row.maxDotMagnitude() + additions * row.maxScoreMagnitude()
        + tanh * row.maxCappedMagnitude() + underflow + inputErrorMax;
    // Step 2: add the subtraction of the running maximum and nb + 1 exponentials of 2 ulp each (step 5).
    double exps = (nb + 1.0) * -Math.log1p(-4 * u);
    double epsMean = (1 + u) * deltaMean + u * (row.weightedGap() + 2 * deltaMax) + exps;
    double epsMax = (1 + u) * deltaMax + u * (row.maxGap() + 2 * deltaMax) + exps;
    // Step 3: S = Σ w_j expm1(ε_j) ≤ mean(ε) · expm1(ε_max)/ε_max.
    return epsMax == 0 ? 0 : epsMean * (Math.expm1(epsMax) / epsMax);
  }

  /**
   * Bound on {@code |lse − exact|} for a float kernel's log-sum-exp of a row with visible keys,
   * {@code lse = m + ln(total)}: the computed weights are those of scores perturbed by {@code ε_j}, so
   * {@code Σ_j e^(x̃_j) = Σ_j e^(x_j)·Σ_j w_j e^(ε_j)} and the logarithm moves by at most
   * {@code ln(1 + S) ≤ S}; the float sum of weights is off by a relative {@code γ_K}
   * ({@code |ln(1 ± γ)| ≤ γ/(1 − γ)}); the result is rounded to float once ({@code u·|lse|}). Plus the
   * same for the double reference, and a relative {@code 2^-30} for evaluating the bound.
   *
   * @param lse the reference's log-sum-exp of the row (for the rounding term)
   */
  public static double lseVsReference(AttentionSpec spec, ReferenceAttention.Row row, double lse) {
    double bound = 0;
    for (Precision precision : Precision.values()) {
      double u = precision.u;
      double s = weightPerturbation(spec, row, precision, 0, 0);
      double g = gamma(roundingsPerTerm(spec, row.visibleKeys(), row.keyBlocks()), u);
      bound += s + g / (1 - g) + u * Math.abs(lse) + precision.minNormal;
    }
    return bound * (1 + EVALUATION_MARGIN);
  }

  /**
   * The largest absolute error of a float score in this row, {@code δ_max} of step 1: how ill-conditioned
   * the row's softmax is for float arithmetic (used to group the reported errors).
   */
  public static double scoreUncertainty(AttentionSpec spec, ReferenceAttention.Row row) {
    double u = Precision.FLOAT.u;
    return gamma(spec.headDim() + 2, u) * row.maxDotMagnitude() + 4 * u * row.maxScoreMagnitude();
  }

  /**
   * Bound on {@code |kernel − reference|} for coordinate {@code d}: the kernel's float error plus the
   * reference's double error, plus a margin for evaluating the bound itself.
   */
  public static double kernelVsReference(AttentionSpec spec, ReferenceAttention.Row row, int d) {
    double bound = tolerance(spec, row, d, Precision.FLOAT) + tolerance(spec, row, d, Precision.DOUBLE);
    return bound * (1 + EVALUATION_MARGIN);
  }

  /**
   * How far a float kernel's output coordinate may stray outside {@code [min_j v_jd, max_j v_jd]} over the
   * visible keys: the computed weights are non-negative, so with exact accumulation the output would be a
   * convex combination of those values; only steps 4 and 5 remain, {@code γ_{2K+1}·A_d + MIN_NORMAL}.
   *
   * @param visibleKeys n, at least 1
   * @param keyBlocks nb, blocks of {@link Blocking#KEY_BLOCK} keys holding a visible key
   * @param valueMagnitude {@code A_d}
   */
  public static double rangeSlack(int visibleKeys, int keyBlocks, double valueMagnitude) {
    double u = Precision.FLOAT.u;
    return gamma(2.0 * roundingsPerTerm(visibleKeys, keyBlocks) + 1, u) * valueMagnitude + Float.MIN_NORMAL;
  }

  /** K of steps 4 and 5: roundings a term of the weighted sums passes through. */
  private static double roundingsPerTerm(int visibleKeys, int keyBlocks) {
    return visibleKeys + keyBlocks + 3.0;
  }

  /** K with step 6: one more addition, the sink's term, in the denominator when the spec has sinks. */
  private static double roundingsPerTerm(AttentionSpec spec, int visibleKeys, int keyBlocks) {
    return roundingsPerTerm(visibleKeys, keyBlocks) + (spec.sinks() != null ? 1 : 0);
  }
}
