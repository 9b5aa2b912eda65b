package io.github.attention.kernel;

import io.github.attention.internal.core.SpecArrays;
import java.util.Arrays;
import java.util.Objects;

/**
 * Immutable description of one scaled dot-product attention problem: how many query heads and key/value
 * heads there are, how wide each head is, the softmax scale, and whether attention is causal.
 *
 * <p>{@code kvHeads} must divide {@code queryHeads}. Equal counts are ordinary multi-head attention,
 * {@code kvHeads == 1} is multi-query attention, anything in between is grouped-query attention. Query head
 * {@code h} reads key/value head {@code h / (queryHeads / kvHeads)}.
 *
 * <p>The variants current models use are options of the spec: a sliding window ({@link #withSlidingWindow}),
 * logit soft-capping ({@link #withSoftcap}), attention sinks ({@link #withSinks}) and ALiBi
 * ({@link #withAlibiSlopes}). They combine with each other and with causal masking, masks, grouped-query
 * attention, split-KV decoding and threads. With all of them, the logit of key {@code j} for query row
 * {@code i} of query head {@code h} is
 * <pre>  x = cap·tanh(q·k·scale / cap) + mask[i][j] + slope_h·(j − p)     (p = i + kvLen − qLen)</pre>
 * (without a soft-cap the first term is {@code q·k·scale}), over the keys the causal rule and the window
 * let row {@code i} see, and the output is {@code Σ_j e^(x_j)·v_j / (e^(sink_h) + Σ_j e^(x_j))}.
 * Positions are the call's own: key {@code j} is the call's {@code j}-th key and {@code p} counts from the
 * call's first key, so a key range passed to the position-dependent variants (window, ALiBi) in separate
 * calls must keep its positions (see {@link LogSumExp}).
 *
 * <p>Instances are values: the {@code with...} methods return new specs, and {@link #equals(Object)}
 * compares all fields (arrays by content).
 */
public final class AttentionSpec {

  static {
    SpecArrays.install(new SpecArrays.Access() {
      @Override
      public float[] sinks(AttentionSpec spec) {
        return spec.sinks;
      }

      @Override
      public float[] alibiSlopes(AttentionSpec spec) {
        return spec.alibiSlopes;
      }
    });
  }

  /** The largest supported {@link #headDim()}. */
  public static final int MAX_HEAD_DIM = 1024;

  private final int queryHeads;
  private final int kvHeads;
  private final int headDim;
  private final float scale;
  private final boolean causal;
  /** Keys a row sees back from its own position; 0 for no window. */
  private final int window;
  /** The soft-cap; 0 for none. */
  private final float softcap;
  /** One logit per query head, or null. */
  private final float[] sinks;
  /** One ALiBi slope per query head, or null. */
  private final float[] alibiSlopes;

  private AttentionSpec(int queryHeads, int kvHeads, int headDim, float scale, boolean causal) {
    this(queryHeads, kvHeads, headDim, scale, causal, 0, 0f, null, null);
  }

  private AttentionSpec(int queryHeads, int kvHeads, int headDim, float scale, boolean causal, int window,
      float softcap, float[] sinks, float[] alibiSlopes) {
    if (queryHeads <= 0) {
      throw new IllegalArgumentException("queryHeads must be positive, got " + queryHeads);
    }
    if (kvHeads <= 0) {
      throw new IllegalArgumentException("kvHeads must be positive, got " + kvHeads);
    }
    if (queryHeads % kvHeads != 0) {
      throw new IllegalArgumentException(
          "kvHeads must divide queryHeads, got kvHeads=" + kvHeads + " and queryHeads=" + queryHeads);
    }
    if (headDim <= 0 || headDim > MAX_HEAD_DIM) {
      throw new IllegalArgumentException(
          "headDim must be in 1.." + MAX_HEAD_DIM + ", got " + headDim);
    }
    if (!(scale > 0f) || Float.isInfinite(scale)) {
      throw new IllegalArgumentException("scale must be finite and positive, got " + scale);
    }
    this.queryHeads = queryHeads;
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.scale = scale;
    this.causal = causal;
    this.window = window;
    this.softcap = softcap;
    this.sinks = sinks;
    this.alibiSlopes = alibiSlopes;
  }

  /**
   * A non-causal spec with the default scale {@code 1/sqrt(headDim)}.
   *
   * @param queryHeads number of query (and output) heads, at least 1
   * @param kvHeads number of key/value heads, at least 1, dividing {@code queryHeads}
   * @param headDim width of every head, 1 to {@link #MAX_HEAD_DIM}
   * @return the spec
   * @throws IllegalArgumentException if a value is out of range; the message names the field
   */
  public static AttentionSpec of(int queryHeads, int kvHeads, int headDim) {
    if (headDim <= 0 || headDim > MAX_HEAD_DIM) {
      throw new IllegalArgumentException(
          "headDim must be in 1.." + MAX_HEAD_DIM + ", got " + headDim);
    }
    return new AttentionSpec(queryHeads, kvHeads, headDim, defaultScale(headDim), false);
  }

  /**
   * The default softmax scale {@code 1/sqrt(headDim)}, rounded to float.
   *
   * @param headDim width of a head, positive
   * @return {@code (float) (1 / Math.sqrt(headDim))}
   */
  public static float defaultScale(int headDim) {
    return (float) (1.0 / Math.sqrt(headDim));
  }

  /**
   * This spec with causal masking switched on or off.
   *
   * @param causal whether query row {@code i} may only see keys {@code j <= i + (kvLen - qLen)}
   * @return a spec equal to this one except for {@link #causal()}
   */
  public AttentionSpec withCausal(boolean causal) {
    return new AttentionSpec(queryHeads, kvHeads, headDim, scale, causal, window, softcap, sinks, alibiSlopes);
  }

  /**
   * This spec with another softmax scale.
   *
   * @param scale factor applied to every query-key dot product; finite and positive
   * @return a spec equal to this one except for {@link #scale()}
   * @throws IllegalArgumentException if {@code scale} is not finite and positive
   */
  public AttentionSpec withScale(float scale) {
    return new AttentionSpec(queryHeads, kvHeads, headDim, scale, causal, window, softcap, sinks, alibiSlopes);
  }

  /**
   * This spec with a sliding window (Mistral, Gemma 2 and 3's local layers, gpt-oss). Query row {@code i}
   * sits at position {@code p = i + kvLen − qLen} (bottom-right aligned, as the causal rule) and sees key
   * {@code j} only if {@code p − window < j}: its own position and the {@code window − 1} before it (and,
   * without causal masking, every later key). With causal masking, {@code window = 1} sees only itself.
   * Key blocks outside every row's window are never read: a decode step over a long cache costs what its
   * window costs. (Keys just outside a window but in the same 64-key block as visible ones are read and
   * given a weight of exactly 0, as masked keys are: a NaN there still makes the row NaN.)
   *
   * @param window how many positions, ending at its own, a row sees; at least 1
   * @return a spec equal to this one except for {@link #slidingWindow()}
   * @throws IllegalArgumentException if {@code window < 1}
   */
  public AttentionSpec withSlidingWindow(int window) {
    if (window < 1) {
      throw new IllegalArgumentException("window must be at least 1, got " + window);
    }
    return new AttentionSpec(queryHeads, kvHeads, headDim, scale, causal, window, softcap, sinks, alibiSlopes);
  }

  /**
   * This spec with logit soft-capping (Gemma 2): every scaled score {@code x = q·k·scale} becomes
   * {@code cap · tanh(x / cap)} before the mask and the ALiBi bias are added, so that no logit exceeds
   * {@code cap} in magnitude. (Computed as {@code cap · tanh(x · (1/cap))} with {@code 1/cap} rounded to
   * float once; the vector kernel's {@code tanh} is its own, within 4 ulp of the exact value on every
   * float, the scalar kernel's is {@code StrictMath.tanh}.)
   *
   * @param cap the cap, finite and positive, with a finite reciprocal (not below about 2.9e-39)
   * @return a spec equal to this one except for {@link #softcap()}
   * @throws IllegalArgumentException if {@code cap} is not finite and positive, or {@code 1/cap} overflows
   */
  public AttentionSpec withSoftcap(float cap) {
    if (!(cap > 0f) || Float.isInfinite(cap)) {
      throw new IllegalArgumentException("softcap must be finite and positive, got " + cap);
    }
    if (Float.isInfinite(1f / cap)) {
      throw new IllegalArgumentException("softcap must have a finite reciprocal in float (at least "
          + Math.nextUp(1f / Float.MAX_VALUE) + "), got " + cap);
    }
    return new AttentionSpec(queryHeads, kvHeads, headDim, scale, causal, window, cap, sinks, alibiSlopes);
  }

  /**
   * This spec with attention sinks (gpt-oss; ONNX Runtime's {@code head_sink}): query head {@code h}'s
   * softmax gets one more term {@code e^(sinks[h])} in its denominator, with no value:
   * {@code out = Σ_j e^(x_j)·v_j / (e^(sinks[h]) + Σ_j e^(x_j))}. A row that sees no key still outputs
   * zeros. A sink of {@code -Infinity} is no sink for that head. The sinks are learned per layer and head,
   * not per call, so they belong to the spec; the array is copied.
   *
   * @param sinks one logit per query head, each finite or {@code -Infinity}
   * @return a spec equal to this one except for {@link #sinks()}
   * @throws NullPointerException if {@code sinks} is null
   * @throws IllegalArgumentException if its length is not {@link #queryHeads()} or an entry is NaN or
   *     {@code +Infinity}
   */
  public AttentionSpec withSinks(float[] sinks) {
    Objects.requireNonNull(sinks, "sinks must not be null");
    if (sinks.length != queryHeads) {
      throw new IllegalArgumentException(
          "sinks must have one entry per query head: expected " + queryHeads + ", got " + sinks.length);
    }
    for (int h = 0; h < queryHeads; h++) {
      if (Float.isNaN(sinks[h]) || sinks[h] == Float.POSITIVE_INFINITY) {
        throw new IllegalArgumentException(
            "sinks[" + h + "] must be finite or -Infinity, got " + sinks[h]);
      }
    }
    return new AttentionSpec(queryHeads, kvHeads, headDim, scale, causal, window, softcap, sinks.clone(),
        alibiSlopes);
  }

  /**
   * This spec with ALiBi (Press et al. 2022, arXiv 2108.12409; BLOOM, MPT): query head {@code h} adds
   * {@code slopes[h] · (j − p)} to the score of key {@code j}, where {@code p = i + kvLen − qLen} is query
   * row {@code i}'s position (bottom-right aligned), after the scale, the soft-cap and the mask. The array
   * is copied; {@link #alibiSlopes(int)} gives the paper's slopes. The bias is the causal models' (keys
   * after {@code p} get a growing positive bias; bidirectional variants use {@code −|j − p|}, which this
   * does not provide).
   *
   * @param slopes one slope per query head, each finite
   * @return a spec equal to this one except for {@link #alibiSlopes()}
   * @throws NullPointerException if {@code slopes} is null
   * @throws IllegalArgumentException if its length is not {@link #queryHeads()} or an entry is not finite
   */
  public AttentionSpec withAlibiSlopes(float[] slopes) {
    Objects.requireNonNull(slopes, "slopes must not be null");
    if (slopes.length != queryHeads) {
      throw new IllegalArgumentException(
          "slopes must have one entry per query head: expected " + queryHeads + ", got " + slopes.length);
    }
    for (int h = 0; h < queryHeads; h++) {
      if (!Float.isFinite(slopes[h])) {
        throw new IllegalArgumentException("slopes[" + h + "] must be finite, got " + slopes[h]);
      }
    }
    return new AttentionSpec(queryHeads, kvHeads, headDim, scale, causal, window, softcap, sinks,
        slopes.clone());
  }

  /**
   * The ALiBi slopes of the paper for {@code heads} heads: for a power of two {@code n}, head {@code h}
   * (from 0) gets {@code 2^(−8(h+1)/n)}; otherwise, with {@code n} the largest power of two below
   * {@code heads}, the first {@code n} heads get the slopes for {@code n} and the remaining
   * {@code heads − n} get every other slope for {@code 2n} (the odd-numbered ones, {@code 2^(−8(2k+1)/(2n))}),
   * as the paper's reference code does.
   *
   * @param heads number of query heads, at least 1
   * @return a new array of {@code heads} slopes, each in (0, 1)
   * @throws IllegalArgumentException if {@code heads < 1}
   */
  public static float[] alibiSlopes(int heads) {
    if (heads < 1) {
      throw new IllegalArgumentException("heads must be at least 1, got " + heads);
    }
    int n = Integer.highestOneBit(heads);
    float[] slopes = new float[heads];
    for (int h = 0; h < n; h++) {
      slopes[h] = (float) Math.pow(2, -8.0 * (h + 1) / n);
    }
    for (int k = 0; k < heads - n; k++) {
      slopes[n + k] = (float) Math.pow(2, -8.0 * (2 * k + 1) / (2 * n));
    }
    return slopes;
  }

  /** {@return number of query heads (and of output heads)} */
  public int queryHeads() {
    return queryHeads;
  }

  /** {@return number of key/value heads; divides {@link #queryHeads()}} */
  public int kvHeads() {
    return kvHeads;
  }

  /** {@return width of every query, key, value and output head} */
  public int headDim() {
    return headDim;
  }

  /** {@return factor applied to every query-key dot product before the mask and the softmax} */
  public float scale() {
    return scale;
  }

  /** {@return whether attention is causal (bottom-right aligned, see {@link AttentionKernel})} */
  public boolean causal() {
    return causal;
  }

  /** {@return the sliding window ({@link #withSlidingWindow}), or 0 if there is none} */
  public int slidingWindow() {
    return window;
  }

  /** {@return the soft-cap ({@link #withSoftcap}), or 0 if there is none} */
  public float softcap() {
    return softcap;
  }

  /** {@return a copy of the per-query-head sink logits ({@link #withSinks}), or null if there are none} */
  public float[] sinks() {
    return sinks == null ? null : sinks.clone();
  }

  /** {@return a copy of the per-query-head ALiBi slopes ({@link #withAlibiSlopes}), or null if there are none} */
  public float[] alibiSlopes() {
    return alibiSlopes == null ? null : alibiSlopes.clone();
  }

  /** {@return how many query heads share one key/value head: {@code queryHeads / kvHeads}} */
  public int groupSize() {
    return queryHeads / kvHeads;
  }

  /**
   * The key/value head read by a query head.
   *
   * @param queryHead a query head index in {@code [0, queryHeads)}
   * @return {@code queryHead / groupSize()}
   * @throws IndexOutOfBoundsException if {@code queryHead} is out of range
   */
  public int kvHeadOf(int queryHead) {
    if (queryHead < 0 || queryHead >= queryHeads) {
      throw new IndexOutOfBoundsException(
          "queryHead must be in 0.." + (queryHeads - 1) + ", got " + queryHead);
    }
    return queryHead / groupSize();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AttentionSpec s
        && queryHeads == s.queryHeads
        && kvHeads == s.kvHeads
        && headDim == s.headDim
        && Float.floatToIntBits(scale) == Float.floatToIntBits(s.scale)
        && causal == s.causal
        && window == s.window
        && Float.floatToIntBits(softcap) == Float.floatToIntBits(s.softcap)
        && Arrays.equals(sinks, s.sinks)
        && Arrays.equals(alibiSlopes, s.alibiSlopes);
  }

  @Override
  public int hashCode() {
    int h = queryHeads;
    h = 31 * h + kvHeads;
    h = 31 * h + headDim;
    h = 31 * h + Float.floatToIntBits(scale);
    h = 31 * h + (causal ? 1 : 0);
    h = 31 * h + window;
    h = 31 * h + Float.floatToIntBits(softcap);
    h = 31 * h + Arrays.hashCode(sinks);
    return 31 * h + Arrays.hashCode(alibiSlopes);
  }

  @Override
  public String toString() {
    return "AttentionSpec[queryHeads=" + queryHeads + ", kvHeads=" + kvHeads + ", headDim=" + headDim
        + ", scale=" + scale + ", causal=" + causal
        + (window > 0 ? ", slidingWindow=" + window : "")
        + (softcap > 0 ? ", softcap=" + softcap : "")
        + (sinks != null ? ", sinks=" + Arrays.toString(sinks) : "")
        + (alibiSlopes != null ? ", alibiSlopes=" + Arrays.toString(alibiSlopes) : "") + "]";
  }
}
