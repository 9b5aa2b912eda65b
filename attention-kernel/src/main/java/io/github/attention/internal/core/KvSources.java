package io.github.attention.internal.core;

import io.github.attention.kernel.KvTensor;
import java.util.Objects;
import java.util.function.Function;

/**
 * The {@link KvSource} behind a {@link KvTensor}, for the library's internals: {@code KvTensor} is public API
 * and must not show its source, so it hands this class a way in when it is initialized (the "shared
 * secrets" idiom, as {@code Teams} for {@code Parallelism}).
 */
public final class KvSources {

  private static volatile Function<KvTensor, KvSource> access;

  private KvSources() {}

  /**
   * Called once, by {@link KvTensor}'s static initializer.
   *
   * @param sourceOf how to read a tensor's source
   * @throws IllegalStateException if called again
   */
  public static synchronized void install(Function<KvTensor, KvSource> sourceOf) {
    if (access != null) {
      throw new IllegalStateException("already installed");
    }
    access = Objects.requireNonNull(sourceOf);
  }

  /**
   * @param tensor a tensor, not null
   * @return its source
   */
  static KvSource of(KvTensor tensor) {
    return access.apply(tensor);
  }
}
