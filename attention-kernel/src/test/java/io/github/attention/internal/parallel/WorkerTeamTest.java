package io.github.attention.internal.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.kernel.Parallelism;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/** The thread runtime on its own: failures, interrupts, closing. */
class WorkerTeamTest {

  /** Runs items until every thread of the team has taken one (at most 2,500 calls of 8 items of ~2 ms). */
  private static Set<Thread> threadsOf(WorkerTeam team) {
    Set<Thread> seen = ConcurrentHashMap.newKeySet();
    for (int call = 0; call < 2_500 && seen.size() < team.threads(); call++) {
      team.run(item -> {
        seen.add(Thread.currentThread());
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
      }, 8);
    }
    assertEquals(team.threads(), seen.size(), "every thread took part");
    return seen;
  }

  @Test
  void closingStopsTheOwnedWorkers() throws InterruptedException {
    WorkerTeam team = new WorkerTeam(3, null);
    Set<Thread> threads = threadsOf(team);
    threads.remove(Thread.currentThread());
    team.close();
    for (Thread worker : threads) {
      worker.join(TimeUnit.SECONDS.toMillis(10));
      assertFalse(worker.isAlive(), worker.getName() + " still runs after close()");
    }
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> team.run(item -> {}, 2));
    assertEquals("this Parallelism is closed", e.getMessage());
  }

  @Test
  void aFailureOnAHelperIsRethrownToTheCaller() {
    WorkerTeam team = new WorkerTeam(2, null);
    try {
      Thread caller = Thread.currentThread();
      IllegalArgumentException failure = new IllegalArgumentException("helper");
      // Until a helper has taken an item: then that item fails, on the helper.
      IllegalArgumentException thrown = assertThrows(IllegalArgumentException.class, () -> {
        for (int attempt = 0; attempt < 1000; attempt++) {
          team.run(item -> {
            if (Thread.currentThread() != caller) {
              throw failure;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
          }, 4);
        }
      });
      assertSame(failure, thrown);
    } finally {
      team.close();
    }
  }

  @Test
  void aFailureOnTheCallerIsRethrownAndStopsTheHandingOut() {
    WorkerTeam team = new WorkerTeam(2, null);
    try {
      AtomicInteger ran = new AtomicInteger();
      CountDownLatch helperAtWork = new CountDownLatch(1);
      Thread caller = Thread.currentThread();
      Error failure = new AssertionError("caller");
      Error thrown = assertThrows(AssertionError.class, () -> team.run(item -> {
        ran.incrementAndGet();
        if (Thread.currentThread() == caller) {
          // Fail only once the helper is at work, so that there is a handing out to stop.
          try {
            helperAtWork.await(5, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          throw failure;
        }
        helperAtWork.countDown();
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
      }, 2000));
      assertSame(failure, thrown);
      // Without the stop the helper would run all 2000 items; with it, those it claims before the caller has
      // recorded the failure (a bound that holds unless the caller is descheduled for a second).
      assertTrue(ran.get() < 1000, ran.get() + " of 2000 items ran: the failure did not stop the handing out");
      // The team is still usable.
      AtomicInteger again = new AtomicInteger();
      team.run(item -> again.incrementAndGet(), 50);
      assertEquals(50, again.get());
    } finally {
      team.close();
    }
  }

  /** The caller waits (spins, then parks) for a slow helper; an interrupt it had must survive the wait. */
  @Test
  void aCallerThatWaitsForHelpersKeepsItsInterruptStatus() {
    WorkerTeam team = new WorkerTeam(2, null);
    try {
      threadsOf(team);
      Thread caller = Thread.currentThread();
      AtomicInteger helped = new AtomicInteger();
      AtomicInteger helperStarted = new AtomicInteger();
      for (int attempt = 0; attempt < 20 && helped.get() == 0; attempt++) {
        caller.interrupt();
        team.run(item -> {
          if (Thread.currentThread() != caller) {
            helperStarted.set(1);
            helped.incrementAndGet();
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
          } else {
            // Busy until the helper holds its item (bounded), without clearing the interrupt as a sleep
            // would; then the caller must wait for the parked helper with its interrupt status set.
            for (int spin = 0; spin < 50_000_000 && helperStarted.get() == 0; spin++) {
              Thread.onSpinWait();
            }
          }
        }, 2);
        assertTrue(Thread.interrupted(), "the interrupt status was lost");
      }
      assertTrue(helped.get() > 0, "a helper took an item");
    } finally {
      Thread.interrupted();
      team.close();
    }
  }

  /** An executor whose execute() makes a call through the same team, on the calling thread. */
  @Test
  void aCallFromInsideACallThroughTheSameTeamIsRefused() {
    AtomicInteger nestedRan = new AtomicInteger();
    WorkerTeam[] team = new WorkerTeam[1];
    team[0] = new WorkerTeam(2, task -> team[0].run(item -> nestedRan.incrementAndGet(), 5));
    AtomicInteger ran = new AtomicInteger();
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> team[0].run(item -> ran.incrementAndGet(), 10));
    assertEquals("a call through this Parallelism was made on a thread that is already running one through it"
        + " (from an executor's execute()?)", e.getMessage());
    assertEquals(0, nestedRan.get(), "the nested call ran items");
    // A failing execute() stops the outer call before its items.
    assertEquals(0, ran.get());
    // The team works afterwards (the executor fails again, but only when helpers are wanted).
    AtomicInteger single = new AtomicInteger();
    team[0].run(item -> single.incrementAndGet(), 1);
    assertEquals(1, single.get());
  }

  /**
   * With no helper at work (an executor that never runs its tasks) the caller runs everything: first its own
   * run of the items, from the front, then the others' from the back, always the run with most left (the
   * first such on a tie).
   */
  @Test
  void theCallerTakesItsOwnRunThenTheBacksOfTheOthers() {
    List<Runnable> neverRun = new ArrayList<>();
    WorkerTeam team = new WorkerTeam(3, neverRun::add);
    List<Integer> order = new ArrayList<>();
    team.run(order::add, 10);
    // Runs [0, 3), [3, 6), [6, 10).
    assertEquals(List.of(0, 1, 2, 9, 5, 8, 4, 7, 3, 6), order);
    assertEquals(2, neverRun.size(), "helpers were offered to the executor");
  }

  /** Whoever runs them, every item of every call runs exactly once (threads 2-4, random item counts). */
  @Test
  void everyItemRunsExactlyOnce() {
    SplittableRandom random = new SplittableRandom(7);
    for (int threads = 2; threads <= 4; threads++) {
      WorkerTeam team = new WorkerTeam(threads, null);
      try {
        for (int call = 0; call < 300; call++) {
          int count = random.nextInt(40);
          AtomicIntegerArray runs = new AtomicIntegerArray(count);
          team.run(item -> {
            runs.incrementAndGet(item);
            if (item % 7 == 0) {
              Thread.yield();
            }
          }, count);
          for (int i = 0; i < count; i++) {
            assertEquals(1, runs.get(i), "item " + i + " of " + count + " on " + threads + " threads");
          }
        }
      } finally {
        team.close();
      }
    }
  }

  @Test
  void aCallOfOneItemRunsOnTheCaller() {
    WorkerTeam team = new WorkerTeam(4, null);
    try {
      Thread[] ranOn = new Thread[1];
      team.run(item -> ranOn[0] = Thread.currentThread(), 1);
      assertSame(Thread.currentThread(), ranOn[0]);
      team.run(item -> {
        throw new AssertionError("no items");
      }, 0);
    } finally {
      team.close();
    }
  }

  @Test
  void theWayFromParallelismToItsTeamIsInstalledOnce() {
    assertEquals(1, Teams.of(Parallelism.single()).threads());
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> Teams.install(p -> null));
    assertEquals("already installed", e.getMessage());
    try (Parallelism two = Parallelism.threads(2)) {
      assertEquals(2, Teams.of(two).threads());
    }
  }
}
