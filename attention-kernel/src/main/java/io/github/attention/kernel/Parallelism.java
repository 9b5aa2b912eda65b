package io.github.attention.kernel;

import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.RejectedExecutionHandler;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

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
 * thread (and every call through {@link #single()}) run at once. With {@link #single()} and
 * {@link #threads(int)} a call allocates nothing; with {@link #using(Executor, int)} the executor may
 * allocate a little to queue each helper task. Workers of {@link #threads(int)} live until {@link #close()}.
 */
public final class Parallelism implements AutoCloseable {

  private static final Parallelism SINGLE = new Parallelism(1, null);

  /** {@link #state}: bit 0 set while a call accepts helpers; the rest counts helpers at work (in 2s). */
  private static final int OPEN = 1;
  private static final int ONE_HELPER = 2;

  private final int threads;
  private final Executor executor;
  private final Worker[] workers;
  private final Runnable[] helpers;

  private final AtomicInteger state = new AtomicInteger();
  private final AtomicInteger next = new AtomicInteger();
  /** Helper tasks submitted to the executor that have not started yet. */
  private final AtomicInteger queued = new AtomicInteger();
  /** Bumped once per call: owned workers wake when it changes. */
  private volatile int generation;
  private volatile boolean closed;
  private Thread caller;
  private Work work;
  private int count;
  private volatile Throwable failure;

  private Parallelism(int threads, Executor executor) {
    this.threads = threads;
    this.executor = executor;
    this.helpers = new Runnable[threads - 1];
    for (int i = 0; i < helpers.length; i++) {
      helpers[i] = () -> {
        queued.decrementAndGet();
        help();
      };
    }
    this.workers = new Worker[executor == null ? threads - 1 : 0];
    for (int i = 0; i < workers.length; i++) {
      workers[i] = new Worker(this, i + 1);
      workers[i].start();
    }
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
   * @return the number of threads a call may use, including the caller
   */
  public int threads() {
    return threads;
  }

  /**
   * Stops the worker threads this object owns (those of {@link #threads(int)}); later calls through it throw
   * {@link IllegalStateException}. Does nothing for {@link #single()}; does not shut down an executor given
   * to {@link #using(Executor, int)}. Idempotent.
   */
  @Override
  public void close() {
    if (this == SINGLE) {
      return;
    }
    synchronized (this) {
      closed = true;
    }
    for (Worker worker : workers) {
      LockSupport.unpark(worker);
    }
  }

  @Override
  public String toString() {
    return threads == 1 ? "Parallelism.single()"
        : executor == null ? "Parallelism.threads(" + threads + ")"
        : "Parallelism.using(" + executor + ", " + threads + ")";
  }

  /** Work items of one call; each item writes its own part of the result. */
  interface Work {
    void run(int item);
  }

  /**
   * Runs items {@code 0 .. count-1} of {@code work}, each exactly once, on up to {@link #threads()} threads
   * (the caller among them), and returns when all are done. A failure in any item is rethrown here.
   */
  void run(Work work, int count) {
    if (closed) {
      throw new IllegalStateException("this Parallelism is closed");
    }
    int helpersWanted = Math.min(threads - 1, count - 1);
    if (helpersWanted <= 0) {
      // Nothing shared: concurrent single-threaded calls (every caller of single()) do not wait for each other.
      for (int i = 0; i < count; i++) {
        work.run(i);
      }
      return;
    }
    runShared(work, count, helpersWanted);
  }

  private synchronized void runShared(Work work, int count, int helpersWanted) {
    if (closed) {
      throw new IllegalStateException("this Parallelism is closed");
    }
    this.work = work;
    this.count = count;
    this.caller = Thread.currentThread();
    this.failure = null;
    next.set(0);
    state.set(OPEN); // publishes the fields above to helpers that join
    generation++;
    if (executor == null) {
      for (int i = 0; i < helpersWanted; i++) {
        LockSupport.unpark(workers[i]);
      }
    } else {
      // Helpers still queued from earlier calls will join this one: keep at most threads - 1 queued.
      for (int i = 0; i < helpersWanted && queued.get() < threads - 1; i++) {
        queued.incrementAndGet();
        try {
          executor.execute(helpers[i]);
        } catch (RejectedExecutionException e) {
          queued.decrementAndGet();
          break; // the threads already at work take its share
        } catch (Throwable t) {
          queued.decrementAndGet();
          recordFailure(t); // then close the call as usual before rethrowing
          break;
        }
      }
    }
    try {
      claimItems();
    } catch (Throwable t) {
      recordFailure(t);
    }
    // Close the call to late helpers, then wait for the ones at work.
    int s;
    do {
      s = state.get();
    } while (!state.compareAndSet(s, s & ~OPEN));
    boolean interrupted = false;
    for (int spins = 0; state.get() != 0; spins++) {
      if (spins < 1 << 12) {
        Thread.onSpinWait();
      } else {
        LockSupport.park(this);
        // An interrupt would turn park into a busy loop: hold it until the helpers are done.
        interrupted |= Thread.interrupted();
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    this.work = null;
    this.caller = null;
    Throwable thrown = failure;
    if (thrown != null) {
      failure = null;
      if (thrown instanceof RuntimeException e) {
        throw e;
      }
      if (thrown instanceof Error e) {
        throw e;
      }
      throw new IllegalStateException("a work item failed", thrown);
    }
  }

  /** A helper's part of the current call, if one is open: join, claim items until none is left, leave. */
  private void help() {
    int s;
    do {
      s = state.get();
      if ((s & OPEN) == 0) {
        return;
      }
    } while (!state.compareAndSet(s, s + ONE_HELPER));
    Thread waiting = caller;
    try {
      claimItems();
    } catch (Throwable t) {
      recordFailure(t);
    } finally {
      if (state.addAndGet(-ONE_HELPER) == 0) {
        LockSupport.unpark(waiting);
      }
    }
  }

  private void claimItems() {
    Work current = work;
    int total = count;
    for (int i; (i = next.getAndIncrement()) < total; ) {
      current.run(i);
    }
  }

  private void recordFailure(Throwable t) {
    if (failure == null) {
      failure = t;
    }
    next.set(Integer.MAX_VALUE / 2); // stop handing out items
  }

  /** An owned worker: parks until a new call begins, helps with it, parks again. */
  private static final class Worker extends Thread {
    private final Parallelism owner;

    Worker(Parallelism owner, int index) {
      super("attention-worker-" + index);
      this.owner = owner;
      setDaemon(true);
    }

    @Override
    public void run() {
      int seen = owner.generation;
      while (!owner.closed) {
        int now = owner.generation;
        if (now == seen) {
          LockSupport.park(owner);
          Thread.interrupted(); // an interrupt must not turn park into a busy loop
          continue;
        }
        seen = now;
        owner.help();
      }
    }
  }
}
