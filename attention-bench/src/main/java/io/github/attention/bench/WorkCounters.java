package io.github.attention.bench;

import java.lang.management.ManagementFactory;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Work done by a benchmark, which JMH divides by the measured time: in throughput mode with seconds as the
 * unit it reports {@code gflop} as GFLOP/s and {@code gbytes} as GB/s next to the calls per second. JMH
 * zeroes these fields before every iteration.
 *
 * <p>{@code allocBytes} is what the benchmark thread itself allocated during the iteration (reported per
 * second; divide by calls per second for bytes per call). Unlike JMH's {@code -prof gc}, which counts every
 * thread of the fork and so adds the harness's few kilobytes per iteration to slow benchmarks, it sees only
 * the kernel calls.
 *
 * <p>Not final: JMH generates subclasses of state classes.
 */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.OPERATIONS)
public class WorkCounters {

  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  /** Billions of useful floating-point operations done in this iteration. */
  public double gflop;

  /** Billions of bytes that had to come from memory in this iteration (decode and streaming only, else 0). */
  public double gbytes;

  /** Bytes allocated by the benchmark thread in this iteration. */
  public double allocBytes;

  private long allocatedBefore;

  /** Runs on the benchmark thread before the iteration's calls. */
  @Setup(Level.Iteration)
  public void startIteration() {
    allocatedBefore = THREADS.getCurrentThreadAllocatedBytes();
  }

  /** Runs on the benchmark thread after the iteration's calls, before JMH reads the counters. */
  @TearDown(Level.Iteration)
  public void endIteration() {
    allocBytes = THREADS.getCurrentThreadAllocatedBytes() - allocatedBefore;
  }
}
