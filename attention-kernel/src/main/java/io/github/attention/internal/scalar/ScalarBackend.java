package io.github.attention.internal.scalar;

import io.github.attention.internal.core.Backend;
import io.github.attention.internal.core.BlockOps;
import io.github.attention.internal.core.LinearMap;

/** The plain-Java backend: works on every JVM, and is the baseline that measures what SIMD brings. */
public final class ScalarBackend implements Backend {

  /** The one instance. */
  public static final ScalarBackend INSTANCE = new ScalarBackend();

  private ScalarBackend() {}

  @Override
  public String name() {
    return "scalar";
  }

  @Override
  public BlockOps blockOps() {
    return ScalarBlockOps.INSTANCE;
  }

  /** Copies the weights in their given layout, {@code [out][in]}: no larger than the caller's arrays. */
  @Override
  public void rotateHalves(float[] rows, int at, int n, float[] cs, int csAt) {
    for (int i = 0; i < n; i++) {
      float x = rows[at + i];
      float y = rows[at + n + i];
      float c = cs[csAt + i];
      float s = cs[csAt + n + i];
      rows[at + i] = x * c - y * s;
      rows[at + n + i] = x * s + y * c;
    }
  }

  @Override
  public LinearMap linearMap(String name, float[] weights, float[] bias, int out, int in) {
    return new ScalarLinearMap(weights, bias, out, in);
  }
}
