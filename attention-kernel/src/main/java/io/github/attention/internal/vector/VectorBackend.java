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
