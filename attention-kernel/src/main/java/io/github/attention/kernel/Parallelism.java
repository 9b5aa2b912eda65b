package io.github.attention.kernel;

import io.github.attention.internal.parallel.Teams;
import io.github.attention.internal.parallel.WorkerTeam;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.RejectedExecutionHandler;
import java.util.concurrent.ThreadPoolExecutor;

/**
 * How many threads a kernel or layer call may use, and where they come from.
 *
 * <ul>
 *   <li>{@link #single()}: everything runs on the calling thread (the default everywhere);
 *   <li>{@link #threads(int)}: the caller plus {@code threads - 1} daemon worker threads that this object
 *       owns, parked between calls; {@link #close()} stops them;
 *   <li>{@link #using(Executor, int)}: the caller plus up to {@code threads - 1} helper tasks submitted to
 *       an executor of yours (a {@code ForkJoinPool}, a fixed thread pool, ...).
 * </ul>
 *
 * <h2>Results do not depend on the thread count</h2>
 * A call is cut into work items by a rule that depends only on the shapes of the call, never on the number
 * of threads; each item is computed by the same arithmetic whichever thread runs it, and partial results
 * are combined in a fixed order. Outputs are therefore bitwise identical for every {@code Parallelism}.
 *
 * <h2>Threads and allocation</h2>
 * The calling thread always takes part, so a call completes even if an executor never runs the helpers it
 * was given; at most {@code threads - 1} helper tasks are ever queued in it (a helper that starts after its
 * call has ended joins a later call, or returns). An interrupt does not stop a call: the caller finishes
 * its work and returns with its interrupt status still set. Calls through one {@code Parallelism} that use
 * several threads are serialized: two threads calling at the same time take turns; calls that need one
 * thread (and every call through {@link #single()}) run at once. A call made through a {@code Parallelism}
 * from inside one of its own calls on the same thread (which only an executor's {@code execute()} could do)
 * is refused with {@link IllegalStateException}. With {@link #single()} and {@link #threads(int)} the
 * threads allocate nothing per call; with {@link #using(Executor, int)} the executor may allocate a little to
 * queue each helper task. Workers of {@link #threads(int)} live until {@link #close()}.
 */
public final class Parallelism implements AutoCloseable {

  static {
    // The library's internals run calls on a parallelism's team; this is their only way to it.
    Teams.install(parallelism -> parallelism.team);
  }

  private static final Parallelism SINGLE = new Parallelism(1, null);

  private final WorkerTeam team;
  private final Executor executor;

  private Parallelism(int threads, Executor executor) {
    this.team = new WorkerTeam(threads, executor);
    this.executor = executor;
  }

  /**
   * Everything on the calling thread.
   *
   * @return the single-threaded parallelism (a shared instance; closing it does nothing)
   */
  public static Parallelism single() {
    return SINGLE;
  }

  /**
   * The calling thread plus {@code threads - 1} worker threads owned by the returned object. The workers
   * are daemon threads named {@code attention-worker-N}; they park between calls and stop on
   * {@link #close()}.
   *
   * @param threads total threads per call, including the caller, at least 1
   * @return a parallelism of that many threads ({@link #single()} for 1)
   * @throws IllegalArgumentException if {@code threads < 1}
   */
  public static Parallelism threads(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
    return threads == 1 ? SINGLE : new Parallelism(threads, null);
  }

  /**
   * The calling thread plus up to {@code threads - 1} helper tasks per call, submitted to
   * {@code executor}. Helpers that start after the work is done return at once; if the executor rejects a
   * helper (throws {@link RejectedExecutionException}), the remaining threads (at least the caller) do its
   * share.
   *
   * <p>The executor must run every task it accepts, sooner or later. A helper it accepts and then drops
   * without running or rejecting it (as {@link ThreadPoolExecutor.DiscardPolicy} and
   * {@link ThreadPoolExecutor.DiscardOldestPolicy} do) still counts as queued, so once {@code threads - 1}
   * have been dropped, calls run on the caller alone. A {@link ThreadPoolExecutor} with one of those two
   * policies is therefore refused here.
   *
   * @param executor where the helper tasks run; not shut down by {@link #close()}
   * @param threads total threads per call, including the caller, at least 1
   * @return a parallelism using that executor
   * @throws NullPointerException if {@code executor} is null
   * @throws IllegalArgumentException if {@code threads < 1}, or {@code executor} is a
   *     {@link ThreadPoolExecutor} whose rejection policy silently discards tasks
   */
  public static Parallelism using(Executor executor, int threads) {
    Objects.requireNonNull(executor, "executor must not be null");
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
    if (executor instanceof ThreadPoolExecutor pool) {
      RejectedExecutionHandler policy = pool.getRejectedExecutionHandler();
      if (policy instanceof ThreadPoolExecutor.DiscardPolicy
          || policy instanceof ThreadPoolExecutor.DiscardOldestPolicy) {
        throw new IllegalArgumentException("executor discards tasks it cannot run ("
            + policy.getClass().getSimpleName() + "), which would lose helpers for good; use a policy that"
            + " throws or runs them (AbortPolicy, CallerRunsPolicy)");
      }
    }
    return new Parallelism(threads, executor);
  }

  /**
   * {@return the number of threads a call may use, including the caller}
   */
  public int threads() {
    return team.threads();
  }

  /**
   * Stops the worker threads this object owns (those of {@link #threads(int)}); later calls through it throw
   * {@link IllegalStateException}. Does nothing for {@link #single()}; does not shut down an executor given
   * to {@link #using(Executor, int)}. Idempotent.
   */
  @Override
  public void close() {
    if (this != SINGLE) {
      team.close();
    }
  }

  @Override
  public String toString() {
    int threads = team.threads();
    return threads == 1 ? "Parallelism.single()"
        : executor == null ? "Parallelism.threads(" + threads + ")"
        : "Parallelism.using(" + executor + ", " + threads + ")";
  }
}
