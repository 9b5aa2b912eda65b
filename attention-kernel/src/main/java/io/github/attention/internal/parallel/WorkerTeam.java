package io.github.attention.internal.parallel;

import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * The threads behind a {@link io.github.attention.kernel.Parallelism}: the caller plus either owned worker
 * threads, parked between calls, or helper tasks submitted to an executor. {@link #run} cuts the items of
 * one call into one contiguous run per thread; each thread takes its own run's items from the front, and a
 * thread whose run is done takes items from the back of the run with most left. Items are fixed by the
 * call's shapes, never by the number of threads, and which thread runs an item changes none of its
 * arithmetic, so results do not depend on it.
 *
 * <p>Why runs, not one shared counter: the kernel's items are laid out so that neighbours share work a
 * thread does once (a prepared KV head, a contiguous range of the cache), and a shared counter deals
 * neighbours to different threads, so that every thread repeats it.
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
  /** Per run: its next item from the front (high 32 bits) and its end, exclusive (low 32 bits). */
  private final AtomicLongArray runs;
  /** Participants of the current call so far: each takes the next index; the caller's run is 0. */
  private final AtomicInteger joined = new AtomicInteger();
  private volatile boolean stopped;
  /** Helper tasks submitted to the executor that have not started yet. */
  private final AtomicInteger queued = new AtomicInteger();
  /** Bumped once per call: owned workers wake when it changes. */
  private volatile int generation;
  private volatile boolean closed;
  private Thread caller;
  private Work work;
  /** How many runs the current call's items are cut into. */
  private int parts;
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
    this.runs = new AtomicLongArray(threads);
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
    this.caller = Thread.currentThread();
    this.failure = null;
    int parts = helpersWanted + 1;
    this.parts = parts;
    for (int r = 0; r < parts; r++) {
      runs.set(r, run((int) ((long) r * count / parts), (int) ((long) (r + 1) * count / parts)));
    }
    stopped = false;
    joined.set(1);
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
      claimItems(0);
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
      claimItems(joined.getAndIncrement());
    } catch (Throwable t) {
      recordFailure(t);
    } finally {
      if (state.addAndGet(-ONE_HELPER) == 0) {
        LockSupport.unpark(waiting);
      }
    }
  }

  /** Runs the items of run {@code own} (none if there is no such run), then the backs of the others'. */
  private void claimItems(int own) {
    Work current = work;
    if (own < parts) {
      for (int i; !stopped && (i = takeFront(own)) >= 0; ) {
        current.run(i);
      }
    }
    for (int i; !stopped && (i = takeBack()) >= 0; ) {
      current.run(i);
    }
  }

  private static long run(int front, int end) {
    return (long) front << 32 | end & 0xffff_ffffL;
  }

  /** The next item of run {@code r} from its front, or -1 if none is left. */
  private int takeFront(int r) {
    while (true) {
      long s = runs.get(r);
      int front = (int) (s >>> 32);
      int end = (int) s;
      if (front >= end) {
        return -1;
      }
      if (runs.compareAndSet(r, s, run(front + 1, end))) {
        return front;
      }
    }
  }

  /** The last item of the run with most items left, or -1 if no run has any. */
  private int takeBack() {
    while (true) {
      int best = -1;
      int most = 0;
      long seen = 0;
      for (int r = 0; r < parts; r++) {
        long s = runs.get(r);
        int left = (int) s - (int) (s >>> 32);
        if (left > most) {
          best = r;
          most = left;
          seen = s;
        }
      }
      if (best < 0) {
        return -1;
      }
      int end = (int) seen;
      if (runs.compareAndSet(best, seen, run((int) (seen >>> 32), end - 1))) {
        return end - 1;
      }
    }
  }

  private void recordFailure(Throwable t) {
    if (failure == null) {
      failure = t;
    }
    stopped = true; // stop handing out items
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
