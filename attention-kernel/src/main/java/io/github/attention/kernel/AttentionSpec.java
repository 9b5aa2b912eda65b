package io.github.attention.kernel;

/**
 * Immutable description of one scaled dot-product attention problem: how many query heads and key/value
 * heads there are, how wide each head is, the softmax scale, and whether attention is causal.
 *
 * <p>{@code kvHeads} must divide {@code queryHeads}. Equal counts are ordinary multi-head attention,
 * {@code kvHeads == 1} is multi-query attention, anything in between is grouped-query attention. Query head
 * {@code h} reads key/value head {@code h / (queryHeads / kvHeads)}.
 *
 * <p>Instances are values: {@link #withCausal(boolean)} and {@link #withScale(float)} return new specs, and
 * {@link #equals(Object)} compares all fields.
 */
public final class AttentionSpec {

  /** The largest supported {@link #headDim()}. */
  public static final int MAX_HEAD_DIM = 1024;

  private final int queryHeads;
  private final int kvHeads;
  private final int headDim;
  private final float scale;
  private final boolean causal;

  private AttentionSpec(int queryHeads, int kvHeads, int headDim, float scale, boolean causal) {
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
    return new AttentionSpec(queryHeads, kvHeads, headDim, scale, causal);
  }

  /**
   * This spec with another softmax scale.
   *
   * @param scale factor applied to every query-key dot product; finite and positive
   * @return a spec equal to this one except for {@link #scale()}
   * @throws IllegalArgumentException if {@code scale} is not finite and positive
   */
  public AttentionSpec withScale(float scale) {
    return new AttentionSpec(queryHeads, kvHeads, headDim, scale, causal);
  }

  /** @return number of query heads (and of output heads) */
  public int queryHeads() {
    return queryHeads;
  }

  /** @return number of key/value heads; divides {@link #queryHeads()} */
  public int kvHeads() {
    return kvHeads;
  }

  /** @return width of every query, key, value and output head */
  public int headDim() {
    return headDim;
  }

  /** @return factor applied to every query-key dot product before the mask and the softmax */
  public float scale() {
    return scale;
  }

  /** @return whether attention is causal (bottom-right aligned, see {@link AttentionKernel}) */
  public boolean causal() {
    return causal;
  }

  /** @return how many query heads share one key/value head: {@code queryHeads / kvHeads} */
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
        && causal == s.causal;
  }

  @Override
  public int hashCode() {
    int h = queryHeads;
    h = 31 * h + kvHeads;
    h = 31 * h + headDim;
    h = 31 * h + Float.floatToIntBits(scale);
    return 31 * h + (causal ? 1 : 0);
  }

  @Override
  public String toString() {
    return "AttentionSpec[queryHeads=" + queryHeads + ", kvHeads=" + kvHeads + ", headDim=" + headDim
        + ", scale=" + scale + ", causal=" + causal + "]";
  }
}
