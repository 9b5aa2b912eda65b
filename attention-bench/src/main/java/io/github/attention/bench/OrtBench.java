package io.github.attention.bench;

import ai.onnxruntime.OrtException;
import io.github.attention.bench.ort.OrtAttention;
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
 * One ONNX Runtime attention call of a {@link Shape} (see {@link OrtAttention}), on the same inputs as
 * {@link AttentionBench}, counted the same way: calls/s, GFLOP/s of the visible pairs, K/V GB/s for decode.
 * Only the shapes {@link OrtAttention#unsupported} accepts. ONNX Runtime's jar must be on the class path
 * (the comparison puts it there).
 *
 * <p>Not final: JMH generates subclasses of state classes.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
// ONNX Runtime loads its native library through System.load: allowed explicitly, so JDK 25 does not warn.
@Fork(value = 1, jvmArgsAppend = {
    "--sun-misc-unsafe-memory-access=allow", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 5)
public class OrtBench {

  /** A {@link Shape#id()} that ONNX Runtime can run. */
  @Param({"prefill-1k", "prefill-2k-causal", "decode-4k-gqa", "decode-32k-gqa", "odd-head",
      "decode-32k-gqa-window4k", "prefill-2k-causal-window512", "prefill-2k-causal-softcap"})
  public String shape;

  /** ONNX Runtime's intra-op threads. */
  @Param({"1"})
  public int threads = 1;

  OrtAttention ort;
  private double gflopPerCall;
  private double gbytesPerCall;

  /**
   * Builds the inputs and the session.
   *
   * @throws OrtException if ONNX Runtime rejects the model
   */
  @Setup(Level.Trial)
  public void setup() throws OrtException {
    Shape s = Shape.byId(shape);
    ort = OrtAttention.of(Problem.of(s), threads);
    gflopPerCall = s.flops() / 1e9;
    gbytesPerCall = s.decode() ? s.kvBytes() / 1e9 : 0;
  }

  /**
   * Closes the session.
   *
   * @throws OrtException if ONNX Runtime fails to release it
   */
  @TearDown(Level.Trial)
  public void tearDown() throws OrtException {
    ort.close();
  }

  /**
   * One ONNX Runtime call.
   *
   * @param work counts the call's flops and, for decode, its K/V bytes
   * @throws OrtException if the run fails
   */
  @Benchmark
  public void attend(WorkCounters work) throws OrtException {
    ort.run();
    work.gflop += gflopPerCall;
    work.gbytes += gbytesPerCall;
  }
}
