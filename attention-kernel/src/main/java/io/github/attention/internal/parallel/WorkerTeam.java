package io.github.attention.internal.parallel;

import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The threads behind a {@link io.github.attention.kernel.Parallelism}: the caller plus either owned worker
 * threads, parked between calls, or helper tasks submitted to an executor. {@link #run} hands out the items
 * of one call through a shared counter, so whichever thread is free takes the next item; items are fixed by
 * the call's shapes, never by the number of threads, so results do not depend on it.
 *
 * <p>The caller always takes part, so a call finishes even if an executor never runs the helpers it was
 * given; at most {@code threads - 1} helper tasks are queued in an executor at any time (a helper that starts
 * after its call has ended joins a later call, or returns). Calls that use several threads are serialized on
 * the team; calls that need one thread run at once, without locking. A thread that is running a call through
 * the team cannot start another through it (an executor's {@code execute()} could try): that call is refused
 * with {@link IllegalStateException}. An interrupt does not stop a call.
 */
public final class WorkerTeam {

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

  /**
   * A team of {@code threads} threads in all, the caller included.
   *
   * @param threads at least 1
   * @param executor where helpers run, or null for {@code threads - 1} owned daemon worker threads, started now
   */
  public WorkerTeam(int threads, Executor executor) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
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

  /** @return the number of threads a call may use, the caller included */
  public int threads() {
    return threads;
  }

  /** Stops the owned workers; later calls of {@link #run} throw {@link IllegalStateException}. Idempotent. */
  public void close() {
    synchronized (this) {
      closed = true;
    }
    for (Worker worker : workers) {
      LockSupport.unpark(worker);
    }
  }

  /**
   * Runs items {@code 0 .. count-1} of {@code work}, each exactly once, on up to {@link #threads()} threads
   * (the caller among them), and returns when all are done. A failure in any item stops the handing out of
   * items and is rethrown here, once every thread has left the call.
   *
   * @param work the items
   * @param count how many items there are, at least 0
   * @throws IllegalStateException if the team is closed, or this thread is already running a call through
   *     it (then no item has run)
   */
  public void run(Work work, int count) {
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
    // The monitor lets its own thread back in: a call made from inside this one (from an executor's
    // execute(), the only outside code a call runs) would overwrite its state.
    if (caller == Thread.currentThread()) {
      throw new IllegalStateException("a call through this Parallelism was made on a thread that is already"
          + " running one through it (from an executor's execute()?)");
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
    private final WorkerTeam team;

    Worker(WorkerTeam team, int index) {
      super("attention-worker-" + index);
      this.team = team;
      setDaemon(true);
    }

    @Override
    public void run() {
      int seen = team.generation;
      while (!team.closed) {
        int now = team.generation;
        if (now == seen) {
          LockSupport.park(team);
          Thread.interrupted(); // an interrupt must not turn park into a busy loop
          continue;
        }
        seen = now;
        team.help();
      }
    }
  }
}
