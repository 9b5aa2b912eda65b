package io.github.attention.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.Parallelism;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.RejectedExecutionHandler;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Executors that misbehave: a call through {@link Parallelism#using} still computes the single-threaded
 * bits when the executor rejects its helpers or never runs them, a failing executor fails the call without
 * corrupting the next one, and helpers that start late do no harm.
 */
class ParallelismTest {

  private static final AttentionSpec SPEC = AttentionSpec.of(8, 2, 16).withCausal(true);
  private static final int Q_LEN = 200;
  private static final int KV_LEN = 300;

  private final SplittableRandom random = new SplittableRandom(5);
  private final float[] q = fill(Q_LEN * 8 * 16);
  private final float[] k = fill(KV_LEN * 2 * 16);
  private final float[] v = fill(KV_LEN * 2 * 16);

  @Test
  void rejectedHelpersLeaveTheWorkToTheCaller() {
    Executor rejecting = task -> {
      throw new RejectedExecutionException("full");
    };
    assertSameAsSingle(Parallelism.using(rejecting, 4));
  }

  @Test
  void helpersThatNeverRunDoNotStallACallAndAreNotQueuedWithoutBound() {
    List<Runnable> queue = new ArrayList<>();
    Parallelism parallelism = Parallelism.using(queue::add, 3);
    for (int call = 0; call < 5; call++) {
      assertSameAsSingle(parallelism);
    }
    assertEquals(2, queue.size(), "at most threads - 1 helper tasks queued");
    queue.forEach(Runnable::run); // late: no call is open, they return at once
    queue.clear();
    assertSameAsSingle(parallelism); // and their slots are free again
    assertEquals(2, queue.size());
  }

  @Test
  void aFailingExecutorFailsTheCallAndNotTheNext() {
    AtomicInteger submissions = new AtomicInteger();
    Executor failingOnce = task -> {
      if (submissions.getAndIncrement() == 0) {
        throw new OutOfMemoryError("unable to create native thread (test)");
      }
      Thread thread = new Thread(task);
      thread.setDaemon(true);
      thread.start();
    };
    Parallelism parallelism = Parallelism.using(failingOnce, 3);
    float[] out = new float[Q_LEN * 8 * 16];
    OutOfMemoryError e = assertThrows(OutOfMemoryError.class,
        () -> AttentionKernel.vector().attend(SPEC, Q_LEN, KV_LEN, q, k, v, null, out, parallelism));
    assertTrue(e.getMessage().contains("(test)"));
    for (int call = 0; call < 5; call++) {
      assertSameAsSingle(parallelism);
    }
  }

  /**
   * A pool that silently discards tasks would lose helpers for good (each stays counted as queued), so it is
   * refused; pools that throw or run rejected tasks on the caller are fine.
   */
  @Test
  void poolsThatDiscardTasksAreRefused() {
    for (RejectedExecutionHandler policy : new RejectedExecutionHandler[] {
        new ThreadPoolExecutor.DiscardPolicy(), new ThreadPoolExecutor.DiscardOldestPolicy()}) {
      ThreadPoolExecutor pool = pool(policy);
      try {
        IllegalArgumentException e =
            assertThrows(IllegalArgumentException.class, () -> Parallelism.using(pool, 2));
        assertTrue(e.getMessage().contains(policy.getClass().getSimpleName()), e.getMessage());
      } finally {
        pool.shutdown();
      }
    }
    for (RejectedExecutionHandler policy : new RejectedExecutionHandler[] {
        new ThreadPoolExecutor.AbortPolicy(), new ThreadPoolExecutor.CallerRunsPolicy()}) {
      ThreadPoolExecutor pool = pool(policy);
      try {
        Parallelism parallelism = Parallelism.using(pool, 3);
        for (int call = 0; call < 3; call++) {
          assertSameAsSingle(parallelism);
        }
      } finally {
        pool.shutdown();
      }
    }
  }

  /** One worker and no queue: most helpers are rejected, by the policy under test. */
  private static ThreadPoolExecutor pool(RejectedExecutionHandler policy) {
    return new ThreadPoolExecutor(1, 1, 1, TimeUnit.SECONDS, new SynchronousQueue<>(), runnable -> {
      Thread thread = new Thread(runnable, "test-pool");
      thread.setDaemon(true);
      return thread;
    }, policy);
  }

  /** An interrupted caller still completes its call, with the same bits, and keeps its interrupt status. */
  @Test
  void anInterruptedCallerFinishesAndStaysInterrupted() {
    try (Parallelism two = Parallelism.threads(2)) {
      Thread.currentThread().interrupt();
      try {
        assertSameAsSingle(two);
        assertTrue(Thread.currentThread().isInterrupted(), "the interrupt status was cleared");
      } finally {
        Thread.interrupted();
      }
    }
  }

  @Test
  void closedOwnedThreadsRejectCallsAndSingleStaysOpen() {
    Parallelism two = Parallelism.threads(2);
    assertSameAsSingle(two);
    two.close();
    float[] out = new float[Q_LEN * 8 * 16];
    assertThrows(IllegalStateException.class,
        () -> AttentionKernel.scalar().attend(SPEC, Q_LEN, KV_LEN, q, k, v, null, out, two));
    Parallelism.single().close();
    assertSameAsSingle(Parallelism.single());
  }

  private void assertSameAsSingle(Parallelism parallelism) {
    for (AttentionKernel kernel : new AttentionKernel[] {AttentionKernel.scalar(), AttentionKernel.vector()}) {
      float[] single = new float[Q_LEN * 8 * 16];
      kernel.attend(SPEC, Q_LEN, KV_LEN, q, k, v, null, single);
      float[] out = new float[single.length];
      kernel.attend(SPEC, Q_LEN, KV_LEN, q, k, v, null, out, parallelism);
      for (int x = 0; x < out.length; x++) {
        if (Float.floatToRawIntBits(out[x]) != Float.floatToRawIntBits(single[x])) {
          throw new AssertionError(kernel.name() + " on " + parallelism + ": out[" + x + "] = " + out[x]
              + ", single-threaded " + single[x]);
        }
      }
    }
  }

  private float[] fill(int size) {
    float[] a = new float[size];
    for (int i = 0; i < size; i++) {
      a[i] = Problems.symmetric(random, 1.5);
    }
    return a;
  }
}
