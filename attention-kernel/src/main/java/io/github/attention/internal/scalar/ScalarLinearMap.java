package io.github.attention.internal.scalar;

import io.github.attention.internal.core.LinearMap;

/** The plain-Java {@link LinearMap}: one dot product per output, the baseline for the SIMD version. */
final class ScalarLinearMap implements LinearMap {

  private final int out;
  private final int in;
  /** {@code [out][in]}, as given. */
  private final float[] weights;
  /** {@code [out]}, zeros when there is no bias. */
  private final float[] bias;

  ScalarLinearMap(float[] weights, float[] bias, int out, int in) {
    this.out = out;
    this.in = in;
    this.weights = java.util.Arrays.copyOf(weights, out * in);
    this.bias = bias == null ? new float[out] : java.util.Arrays.copyOf(bias, out);
  }

  @Override
  public float weight(int o, int i) {
    return weights[o * in + i];
  }

  @Override
  public float bias(int o) {
    return bias[o];
  }

  @Override
  public int out() {
    return out;
  }

  @Override
  public int in() {
    return in;
  }

  @Override
  public int tileFloats() {
    return 0;
  }

  @Override
  public void block(float[] x, int xOffset, int r0, int r1, int c0, int c1, float[] y, int yOffset,
      float[] tile) {
    for (int r = r0; r < r1; r++) {
      int row = xOffset + r * in;
      for (int o = c0; o < c1; o++) {
        int w = o * in;
        float sum = 0f;
        for (int i = 0; i < in; i++) {
          sum += x[row + i] * weights[w + i];
        }
        y[yOffset + r * out + o] = sum + bias[o];
      }
    }
  }
}
