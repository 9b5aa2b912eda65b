package io.github.attention.internal.parallel;

import io.github.attention.kernel.Parallelism;
import java.util.Objects;
import java.util.function.Function;

/**
 * The {@link WorkerTeam} behind a {@link Parallelism}, for the library's internals: {@code Parallelism} is
 * public API and must not show its team, so it hands this class a way in when it is initialized (the
 * "shared secrets" idiom of the JDK). Any {@code Parallelism} instance implies its class is initialized,
 * so the way in is always set when {@link #of} is called.
 */
public final class Teams {

  private static volatile Function<Parallelism, WorkerTeam> access;

  private Teams() {}

  /**
   * Called once, by {@link Parallelism}'s static initializer.
   *
   * @param teamOf how to read a parallelism's team
   * @throws IllegalStateException if called again
   */
  public static synchronized void install(Function<Parallelism, WorkerTeam> teamOf) {
    if (access != null) {
      throw new IllegalStateException("already installed");
    }
    access = Objects.requireNonNull(teamOf);
  }

  /**
   * @param parallelism a parallelism, not null
   * @return its team
   */
  public static WorkerTeam of(Parallelism parallelism) {
    return access.apply(parallelism);
  }
}
