package io.github.attention.internal.core;

/**
 * One backend's matrix product for {@link Projection}: {@code y = x·Wᵀ + b} over a block of rows and output
 * columns, with {@code W} {@code [out][in]} as PyTorch's {@code nn.Linear}. Implementations hold their own
 * copy of the weights, rearranged as they need, and are immutable.
 */
public interface LinearMap {

  /** @return output columns, the rows of {@code W} */
  int out();

  /** @return input columns, the columns of {@code W} */
  int in();

  /**
   * One weight, read from this map's own copy: for plain recomputation (the layer's trace), not a hot path.
   *
   * @param o output column, {@code 0 <= o < out()}
   * @param i input column, {@code 0 <= i < in()}
   * @return {@code W[o][i]}
   */
  float weight(int o, int i);

  /**
   * One bias term.
   *
   * @param o output column, {@code 0 <= o < out()}
   * @return {@code b[o]}, 0 without a bias
   */
  float bias(int o);

  /** @return floats of scratch {@link #block} needs as its {@code tile} */
  int tileFloats();

  /**
   * {@code y[yOffset + r·out + o] = Σ_i x[xOffset + r·in + i] · W[o][i] + b[o]} for rows {@code r0 .. r1-1}
   * and columns {@code c0 .. c1-1}, summed over {@code i} in order (so every output has the same bits
   * whichever block computes it); arguments are checked by the caller.
   */
  void block(float[] x, int xOffset, int r0, int r1, int c0, int c1, float[] y, int yOffset, float[] tile);
}
