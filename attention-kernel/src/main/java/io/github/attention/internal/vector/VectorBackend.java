package io.github.attention.internal.vector;

import io.github.attention.internal.core.Backend;
import io.github.attention.internal.core.BlockOps;
import io.github.attention.internal.core.LinearMap;

/**
 * The Vector API backend. The only package of the library that links {@code jdk.incubator.vector} classes:
 * {@code BackendLookup} touches this class only once it knows the module is readable, so a JVM started
 * without {@code --add-modules jdk.incubator.vector} never loads it.
 */
public final class VectorBackend implements Backend {

  /** The incubator module this backend needs (a constant: reading it links nothing). */
  public static final String MODULE = "jdk.incubator.vector";
  /** System property forcing a narrower species (128, 256 or 512 bits), so tests can cover each width. */
  public static final String BITS_PROPERTY = Species.BITS_PROPERTY;

  /** The one instance. */
  public static final VectorBackend INSTANCE = new VectorBackend();

  private VectorBackend() {}

  /** @return the width in bits of the species this backend uses */
  public static int bits() {
    return Species.F.vectorBitSize();
  }

  @Override
  public String name() {
    return "vector-" + bits();
  }

  @Override
  public BlockOps blockOps() {
    return VectorBlockOps.INSTANCE;
  }

  /**
   * Rearranges the weights into panels of 4 vectors of output columns, zero-padded: up to {@code 4·L − 1}
   * rows more than {@code out} (63 at 512 bits).
   */
  /** Whole vectors of pairs, then the rest one by one: lanewise multiply and subtract, the scalar bits. */
  @Override
  public void rotateHalves(float[] rows, int at, int n, float[] cs, int csAt) {
    int i = 0;
    for (int last = n - Species.L; i <= last; i += Species.L) {
      jdk.incubator.vector.FloatVector x = jdk.incubator.vector.FloatVector.fromArray(Species.F, rows, at + i);
      jdk.incubator.vector.FloatVector y = jdk.incubator.vector.FloatVector.fromArray(Species.F, rows, at + n + i);
      jdk.incubator.vector.FloatVector c = jdk.incubator.vector.FloatVector.fromArray(Species.F, cs, csAt + i);
      jdk.incubator.vector.FloatVector s = jdk.incubator.vector.FloatVector.fromArray(Species.F, cs, csAt + n + i);
      x.mul(c).sub(y.mul(s)).intoArray(rows, at + i);
      x.mul(s).add(y.mul(c)).intoArray(rows, at + n + i);
    }
    for (; i < n; i++) {
      float x = rows[at + i];
      float y = rows[at + n + i];
      rows[at + i] = x * cs[csAt + i] - y * cs[csAt + n + i];
      rows[at + n + i] = x * cs[csAt + n + i] + y * cs[csAt + i];
    }
  }

  @Override
  public LinearMap linearMap(String name, float[] weights, float[] bias, int out, int in) {
    long padded = VectorLinearMap.panelFloats(out, in);
    if (padded > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(name + " of [" + out + "][" + in + "] is too large: padded to "
          + padded + " elements, more than a Java array can hold");
    }
    return new VectorLinearMap(weights, bias, out, in);
  }
}
