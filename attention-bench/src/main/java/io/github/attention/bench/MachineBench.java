package io.github.attention.bench;

import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * This machine's limits for one thread, measured with the same JVM and Vector API as the kernels: the fp32
 * FMA peak ({@link #fmaPeak}, GFLOP/s) and the streaming read bandwidth from DRAM ({@link #dramRead}, GB/s).
 * {@link Compare} relates the kernels' speed to these.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
// JMH 1.37 reads field offsets through sun.misc.Unsafe: allowed explicitly, so JDK 25 does not warn.
@Fork(value = 1, jvmArgsAppend = {
    "--add-modules", "jdk.incubator.vector", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class MachineBench {

  // static final: a species C2 cannot see as a constant makes every vector a heap object.
  private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
  private static final int L = F.length();

  /** Inputs of the FMA loop, in a state so C2 cannot fold them. Not final: JMH subclasses states. */
  @State(Scope.Thread)
  public static class FmaLoop {
    /** FMAs per accumulator per call: ~1.6 ms at peak, long enough to hide the call overhead. */
    int iterations = 1 << 20;
    /** {@code acc += m·c} grows by 0.001 per FMA, to about 1,000: no overflow, no subnormals. */
    float multiplier = 0.999f;
    float addend = 0.001f;

    /** @return flops of one {@link #fmaPeak} call: 12 accumulators × 2 flops × lanes × iterations */
    double flopsPerCall() {
      return 12.0 * 2 * L * iterations;
    }
  }

  /** A float array much larger than the caches. Not final: JMH subclasses states. */
  @State(Scope.Thread)
  public static class Stream {
    /** Array size in MiB; the default is 16× the L3 cache, so nearly every byte comes from DRAM. */
    @Param("512")
    public int mib;

    float[] data;

    /** Fills the array with small integers, so per-lane float sums stay exact (and pages are touched). */
    @Setup(Level.Trial)
    public void setup() {
      data = new float[mib * (1 << 20) / Float.BYTES];
      for (int i = 0; i < data.length; i++) {
        data[i] = i & 7;
      }
    }
  }

  /**
   * Twelve independent FMA chains on full vectors: enough in flight to cover the FMA latency (~4 cycles)
   * on both FMA pipes, so the loop runs at the core's fp32 peak.
   *
   * @param loop the loop's inputs
   * @param work counts 2 flops per lane per FMA
   * @return the sum of the accumulators, so the loop cannot be optimized away
   */
  @Benchmark
  public float fmaPeak(FmaLoop loop, WorkCounters work) {
    FloatVector m = FloatVector.broadcast(F, loop.multiplier);
    FloatVector c = FloatVector.broadcast(F, loop.addend);
    FloatVector a0 = FloatVector.broadcast(F, 0f), a1 = FloatVector.broadcast(F, 1f);
    FloatVector a2 = FloatVector.broadcast(F, 2f), a3 = FloatVector.broadcast(F, 3f);
    FloatVector a4 = FloatVector.broadcast(F, 4f), a5 = FloatVector.broadcast(F, 5f);
    FloatVector a6 = FloatVector.broadcast(F, 6f), a7 = FloatVector.broadcast(F, 7f);
    FloatVector a8 = FloatVector.broadcast(F, 8f), a9 = FloatVector.broadcast(F, 9f);
    FloatVector a10 = FloatVector.broadcast(F, 10f), a11 = FloatVector.broadcast(F, 11f);
    // The accumulator as the addend, as in the kernels' tiles (k.fma(q, acc)). With it as the
    // multiplicand instead (acc.fma(m, c)), the same loop ran at 44-62 GFLOP/s against 92-99 on
    // an AMD EPYC Zen 3 (2026-12-03): that form measured the loop's code, not the machine.
    for (int i = 0, n = loop.iterations; i < n; i++) {
      a0 = m.fma(c, a0);
      a1 = m.fma(c, a1);
      a2 = m.fma(c, a2);
      a3 = m.fma(c, a3);
      a4 = m.fma(c, a4);
      a5 = m.fma(c, a5);
      a6 = m.fma(c, a6);
      a7 = m.fma(c, a7);
      a8 = m.fma(c, a8);
      a9 = m.fma(c, a9);
      a10 = m.fma(c, a10);
      a11 = m.fma(c, a11);
    }
    work.gflop += loop.flopsPerCall() / 1e9;
    return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
        .reduceLanes(VectorOperators.ADD);
  }

  /**
   * Sums the whole array with full-vector loads into eight independent accumulators (so the adds never
   * limit the loop): a streaming read, what a decode step over a large KV cache needs.
   *
   * @param stream the array
   * @param work counts the bytes read
   * @return the sum, so the loads cannot be optimized away
   */
  @Benchmark
  public float dramRead(Stream stream, WorkCounters work) {
    float[] a = stream.data;
    FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    int bound = a.length - a.length % (8 * L);
    for (int i = 0; i < bound; i += 8 * L) {
      s0 = s0.add(FloatVector.fromArray(F, a, i));
      s1 = s1.add(FloatVector.fromArray(F, a, i + L));
      s2 = s2.add(FloatVector.fromArray(F, a, i + 2 * L));
      s3 = s3.add(FloatVector.fromArray(F, a, i + 3 * L));
      s4 = s4.add(FloatVector.fromArray(F, a, i + 4 * L));
      s5 = s5.add(FloatVector.fromArray(F, a, i + 5 * L));
      s6 = s6.add(FloatVector.fromArray(F, a, i + 6 * L));
      s7 = s7.add(FloatVector.fromArray(F, a, i + 7 * L));
    }
    float tail = 0;
    for (int i = bound; i < a.length; i++) {
      tail += a[i];
    }
    work.gbytes += (double) a.length * Float.BYTES / 1e9;
    return s0.add(s1).add(s2).add(s3).add(s4).add(s5).add(s6).add(s7).reduceLanes(VectorOperators.ADD) + tail;
  }
}
