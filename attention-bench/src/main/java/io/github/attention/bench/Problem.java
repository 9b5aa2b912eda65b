package io.github.attention.bench;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import java.util.SplittableRandom;

/**
 * The inputs and output buffer of one {@link Shape}: q, k and v filled with standard normal values from a
 * fixed seed, so every backend and every run sees the same numbers.
 */
public final class Problem {

  /** Seed of the inputs; fixed so the scalar and vector runs (and the tests) see identical data. */
  public static final long SEED = 0x5EED_A77EL;

  private final Shape shape;
  private final AttentionSpec spec;
  private final float[] q;
  private final float[] k;
  private final float[] v;
  private final float[] out;

  private Problem(Shape shape) {
    this.shape = shape;
    this.spec = shape.spec();
    SplittableRandom random = new SplittableRandom(SEED);
    this.q = normal(random, shape.qLen() * shape.queryHeads() * shape.headDim());
    this.k = normal(random, shape.kvLen() * shape.kvHeads() * shape.headDim());
    this.v = normal(random, shape.kvLen() * shape.kvHeads() * shape.headDim());
    this.out = new float[q.length];
  }

  /**
   * Builds the inputs of a shape.
   *
   * @param shape the shape
   * @return fresh inputs and a zeroed output buffer
   */
  public static Problem of(Shape shape) {
    return new Problem(shape);
  }

  private static float[] normal(SplittableRandom random, int n) {
    float[] values = new float[n];
    for (int i = 0; i < n; i++) {
      values[i] = (float) random.nextGaussian();
    }
    return values;
  }

  /**
   * Runs one attention call, writing {@link #out()}.
   *
   * @param kernel the backend
   */
  public void run(AttentionKernel kernel) {
    kernel.attend(spec, shape.qLen(), shape.kvLen(), q, k, v, null, out);
  }

  /** @return the shape */
  public Shape shape() {
    return shape;
  }

  /** @return the kernel spec of the shape */
  public AttentionSpec spec() {
    return spec;
  }

  /** @return queries, {@code [qLen][queryHeads][headDim]}; shared, do not modify */
  public float[] q() {
    return q;
  }

  /** @return keys, {@code [kvLen][kvHeads][headDim]}; shared, do not modify */
  public float[] k() {
    return k;
  }

  /** @return values, {@code [kvLen][kvHeads][headDim]}; shared, do not modify */
  public float[] v() {
    return v;
  }

  /** @return the output of the last {@link #run}, {@code [qLen][queryHeads][headDim]} */
  public float[] out() {
    return out;
  }
}
