package io.github.attention.internal.core;

import io.github.attention.kernel.AttentionSpec;
import java.util.Objects;

/**
 * The per-head arrays of an {@link AttentionSpec} (sinks, ALiBi slopes) without the copy its public
 * accessors make, for the kernels, which read them on every call and must not allocate: the spec hands this
 * class a way in when it is initialized (the "shared secrets" idiom, as {@link KvSources}). The arrays must
 * not be modified.
 */
public final class SpecArrays {

  /** How to read a spec's arrays. */
  public interface Access {
    /**
     * @param spec a spec
     * @return its sink logits, or null
     */
    float[] sinks(AttentionSpec spec);

    /**
     * @param spec a spec
     * @return its ALiBi slopes, or null
     */
    float[] alibiSlopes(AttentionSpec spec);
  }

  private static volatile Access access;

  private SpecArrays() {}

  /**
   * Called once, by {@link AttentionSpec}'s static initializer.
   *
   * @param arrays how to read a spec's arrays
   * @throws IllegalStateException if called again
   */
  public static synchronized void install(Access arrays) {
    if (access != null) {
      throw new IllegalStateException("already installed");
    }
    access = Objects.requireNonNull(arrays);
  }

  static float[] sinks(AttentionSpec spec) {
    return access.sinks(spec);
  }

  static float[] alibiSlopes(AttentionSpec spec) {
    return access.alibiSlopes(spec);
  }
}
