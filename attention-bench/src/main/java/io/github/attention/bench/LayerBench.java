package io.github.attention.bench;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.Parallelism;
import io.github.attention.layer.KvCache;
import io.github.attention.layer.MultiHeadAttention;
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
 * One call of a whole attention layer ({@link MultiHeadAttention}) of a {@link LayerShape}, on one backend
 * and thread count ({@link #layer}), and, to split its time, attention alone on the same shape
 * ({@link #attention}). Throughput mode in seconds, so JMH reports calls/s and, through
 * {@link WorkCounters}, GFLOP/s (and for decode GB/s of the bytes that must come from memory).
 *
 * <p>The projections are not measured on their own: their speed is <em>derived</em> as
 * {@code projectionFlops / (1/layer calls/s − 1/attention calls/s)}, which {@link Compare} prints. It charges
 * the layer's copies and its threads' hand-offs to the projections, and the two runs' noise to their
 * difference.
 *
 * <p>A decode call appends one token to a cache filled once at trial setup, then truncates the cache back,
 * so every call is the same step. Each combination of parameters and each method runs in its own fork, so
 * call sites only ever see one backend. The defaults here are for careful runs; {@link Compare} overrides
 * them with short ones.
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
// Long iterations, as in AttentionBench: a scalar prefill call takes seconds.
@Measurement(iterations = 5, time = 5)
public class LayerBench {

  /** A {@link LayerShape#id()}; a unit test checks this list matches {@link LayerShape}. */
  @Param({"layer-prefill-512", "layer-decode-4k"})
  public String workload;

  /**
   * The backend of attention and projections: {@code scalar} ({@link AttentionKernel#scalar()}), or
   * {@code vector} ({@link AttentionKernel#vector()}).
   */
  @Param({"scalar", "vector"})
  public String backend;

  /** Threads per call, the benchmark thread included ({@link Parallelism#threads(int)}). */
  @Param({"1", "2"})
  public int threads;

  LayerProblem problem;
  AttentionKernel kernel;
  Parallelism parallelism;
  MultiHeadAttention layer;
  /** The filled cache of a decode workload, null for a prefill. */
  KvCache cache;
  /** The layer's output, {@code [tokens][modelDim]}. */
  float[] y;
  /** Attention's output, {@code [tokens][queryHeads][headDim]}. */
  float[] heads;
  private LayerShape shape;
  private AttentionSpec spec;
  private double layerGflop;
  private double layerGbytes;
  private double attentionGflop;
  private double attentionGbytes;

  /** Builds weights, inputs, the layer and (decode) its filled cache; starts the worker threads. */
  @Setup(Level.Trial)
  public void setup() {
    shape = LayerShape.byId(workload);
    kernel = switch (backend) {
      case "scalar" -> AttentionKernel.scalar();
      case "vector" -> AttentionKernel.vector();
      default -> throw new IllegalArgumentException("backend must be scalar or vector, got " + backend);
    };
    problem = LayerProblem.of(shape);
    parallelism = Parallelism.threads(threads);
    layer = problem.layer(kernel, parallelism);
    cache = shape.decode() ? problem.cache(layer) : null;
    spec = shape.spec();
    y = new float[shape.tokens() * shape.modelDim()];
    heads = new float[shape.tokens() * shape.queryWidth()];
    layerGflop = shape.flops() / 1e9;
    layerGbytes = shape.memoryBytes() / 1e9;
    attentionGflop = shape.attentionFlops() / 1e9;
    attentionGbytes = shape.decode() ? shape.kvBytes(shape.kvLen()) / 1e9 : 0;
  }

  /** Stops the worker threads. */
  @TearDown(Level.Trial)
  public void tearDown() {
    parallelism.close();
  }

  /**
   * One layer call: a prefill of the whole sequence, or one decode step (the cache is then rolled back).
   *
   * @param work counts the layer's flops (projections and attention) and, for decode, the bytes of the
   *     weights and of the K and V cached before the step
   * @return the output, so the call cannot be optimized away
   */
  @Benchmark
  public float[] layer(WorkCounters work) {
    if (cache == null) {
      layer.forward(problem.x(), shape.tokens(), y);
    } else {
      layer.forward(problem.x(), shape.tokens(), cache, y);
      cache.truncate(shape.cached());
    }
    work.gflop += layerGflop;
    work.gbytes += layerGbytes;
    return y;
  }

  /**
   * Attention alone, as the layer calls it: the new tokens' queries over {@code kvLen} keys, causal.
   *
   * @param work counts attention's flops and, for decode, the bytes of K and V read
   * @return the output, so the call cannot be optimized away
   */
  @Benchmark
  public float[] attention(WorkCounters work) {
    kernel.attend(spec, shape.tokens(), shape.kvLen(), problem.q(), problem.k(), problem.v(), null, heads,
        parallelism);
    work.gflop += attentionGflop;
    work.gbytes += attentionGbytes;
    return heads;
  }
}
