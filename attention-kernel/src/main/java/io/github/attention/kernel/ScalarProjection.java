package io.github.attention.kernel;

/** The plain-Java {@link Projection}: one dot product per output, the baseline for the SIMD version. */
final class ScalarProjection extends Projection {

  /** {@code [out][in]}, as given. */
  private final float[] weights;
  /** {@code [out]}, zeros when there is no bias. */
  private final float[] bias;

  ScalarProjection(float[] weights, float[] bias, int out, int in) {
    super(out, in);
    this.weights = weights.clone();
    this.bias = bias == null ? new float[out] : bias.clone();
  }

  @Override
  void block(float[] x, int xOffset, int r0, int r1, int c0, int c1, float[] y, int yOffset) {
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
