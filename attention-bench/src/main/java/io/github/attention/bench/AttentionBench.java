package io.github.attention.bench;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.Parallelism;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One attention call of a {@link Shape} on one backend. Throughput mode in seconds, so JMH reports calls/s
 * and, through {@link WorkCounters}, GFLOP/s (and K/V GB/s for decode shapes).
 *
 * <p>Each shape/backend pair runs in its own fork, so the kernel call site only ever sees one backend. The
 * defaults here are for careful runs; {@link Compare} overrides them with short ones.
 *
 * <p>Not final: JMH generates subclasses of state classes.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
// JMH 1.37 reads field offsets through sun.misc.Unsafe: allowed explicitly, so JDK 25 does not warn.
@Fork(value = 1, jvmArgsAppend = {
    "--add-modules", "jdk.incubator.vector", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 2)
// Long iterations: -prof gc also counts the harness's few KB per iteration, which would otherwise dominate
// the bytes per call of the slow shapes.
@Measurement(iterations = 5, time = 5)
public class AttentionBench {

  /** A {@link Shape#id()}; a unit test checks this list matches {@link Shape}. */
  @Param({"prefill-1k", "prefill-2k-causal", "decode-4k-gqa", "decode-32k-gqa", "odd-head",
      "decode-32k-gqa-bf16", "decode-32k-gqa-f16", "decode-32k-gqa-int8", "decode-32k-gqa-headmajor",
      "decode-32k-gqa-paged", "prefill-2k-causal-bf16", "decode-32k-gqa-window4k", "prefill-2k-causal-window512",
      "prefill-2k-causal-softcap", "prefill-2k-causal-sinks-alibi"})
  public String shape;

  /**
   * The backend: {@code scalar} ({@link AttentionKernel#scalar()}),
   * or {@code vector} ({@link AttentionKernel#vector()}).
   */
  @Param({"scalar", "vector"})
  public String backend;

  /** Threads of the call: 1 runs on the benchmark thread alone; more through {@link Parallelism#threads}. */
  @Param({"1"})
  public int threads = 1;

  Problem problem;
  AttentionKernel kernel;
  private Parallelism parallelism;
  private double gflopPerCall;
  private double gbytesPerCall;

  /** Builds the inputs and picks the backend; only the chosen backend's classes are loaded. */
  @Setup(Level.Trial)
  public void setup() {
    Shape s = Shape.byId(shape);
    kernel = switch (backend) {
      case "scalar" -> AttentionKernel.scalar();
      case "vector" -> AttentionKernel.vector();
      default -> throw new IllegalArgumentException("backend must be scalar or vector, got " + backend);
    };
    problem = Problem.of(s);
    parallelism = threads == 1 ? Parallelism.single() : Parallelism.threads(threads);
    gflopPerCall = s.flops() / 1e9;
    gbytesPerCall = s.decode() ? s.kvBytes() / 1e9 : 0;
  }

  /** Stops the worker threads, if any. */
  @TearDown(Level.Trial)
  public void tearDown() {
    parallelism.close();
  }

  /**
   * One attention call.
   *
   * @param work counts the call's flops and, for decode, its K/V bytes
   * @return the output, so the call cannot be optimized away
   */
  @Benchmark
  public float[] attend(WorkCounters work) {
    problem.run(kernel, parallelism);
    work.gflop += gflopPerCall;
    work.gbytes += gbytesPerCall;
    return problem.out();
  }
}
