package io.github.attention.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.kernel.AttentionSpec;
import io.github.attention.verify.ErrorBound;
import io.github.attention.verify.ReferenceAttention;
import io.github.attention.verify.ReferenceLayer;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.openjdk.jmh.annotations.Param;

/**
 * Runs {@link LayerBench}'s setup and one call of each benchmark method outside JMH (no timing), for every
 * workload at its real size, backend and thread count, and checks what they computed: every output of the
 * layer against the double-precision {@link ReferenceLayer} within its rigorous bound, sampled rows of
 * attention alone against {@link ReferenceAttention} within {@link ErrorBound}, and the work counted.
 */
class LayerBenchSetupTest {

  /** The reference output of each workload; the inputs come from a fixed seed, so one serves every run. */
  private static final Map<LayerShape, ReferenceLayer.Result> REFERENCES = new EnumMap<>(LayerShape.class);

  static Stream<Arguments> benchmarks() {
    return Arrays.stream(LayerShape.values()).flatMap(shape -> Stream.of("scalar", "vector")
        .flatMap(backend -> Stream.of(1, 2).map(threads -> Arguments.of(shape, backend, threads))));
  }

  @ParameterizedTest(name = "{0} {1} {2} thread(s)")
  @MethodSource("benchmarks")
  void layerBenchmarkMatchesReference(LayerShape shape, String backend, int threads) {
    LayerBench bench = new LayerBench();
    bench.workload = shape.id();
    bench.backend = backend;
    bench.threads = threads;
    bench.setup();
    try {
      assertTrue(bench.layer.kernel().name().startsWith(backend), bench.layer.kernel().name());
      assertEquals(threads, bench.layer.parallelism().threads());
      LayerProblem p = bench.problem;
      long weights = (long) p.wq().length + p.wk().length + p.wv().length + p.wo().length;
      assertEquals(2.0 * shape.tokens() * weights, shape.projectionFlops());
      assertEquals(Float.BYTES * weights, shape.weightBytes());

      Arrays.fill(bench.y, Float.NaN); // every output must be written
      WorkCounters work = new WorkCounters();
      float[] y = bench.layer(work);
      assertSame(bench.y, y);
      assertEquals(shape.flops() / 1e9, work.gflop, 0);
      assertEquals(shape.memoryBytes() / 1e9, work.gbytes, 0);
      checkLayer(shape, y, REFERENCES.computeIfAbsent(shape, s -> reference(p)));
      if (shape.decode()) {
        // The step is rolled back, so every call repeats it exactly.
        assertEquals(shape.cached(), bench.cache.length());
        float[] first = y.clone();
        bench.layer(work);
        assertArrayEquals(first, bench.y);
      }

      Arrays.fill(bench.heads, Float.NaN);
      WorkCounters attentionWork = new WorkCounters();
      float[] heads = bench.attention(attentionWork);
      assertSame(bench.heads, heads);
      assertEquals(shape.attentionFlops() / 1e9, attentionWork.gflop, 0);
      assertEquals(shape.decode() ? shape.kvBytes(shape.kvLen()) / 1e9 : 0, attentionWork.gbytes, 0);
      for (int at = 0; at < heads.length; at++) {
        int index = at;
        assertTrue(Float.isFinite(heads[at]), () -> shape + ": attention output " + index + " is "
            + heads[index]);
      }
      for (int i : sampleRows(shape)) {
        checkAttentionRow(p, heads, i);
      }
    } finally {
      bench.tearDown();
    }
  }

  private static ReferenceLayer.Result reference(LayerProblem p) {
    LayerShape s = p.shape();
    ReferenceLayer.Weights weights = new ReferenceLayer.Weights(s.modelDim(), s.queryHeads(), s.kvHeads(),
        s.headDim(), true, p.wq(), p.wk(), p.wv(), p.wo(), null, null, null, null);
    return ReferenceLayer.forward(weights, p.k(), p.v(), s.cached(), p.x(), s.tokens());
  }

  private static void checkLayer(LayerShape shape, float[] y, ReferenceLayer.Result ref) {
    for (int at = 0; at < shape.tokens() * shape.modelDim(); at++) {
      float actual = y[at];
      double expected = ref.y()[at];
      double tolerance = ref.tolerance(at);
      int index = at;
      assertTrue(Math.abs(actual - expected) <= tolerance, () -> shape + " token "
          + index / shape.modelDim() + " output " + index % shape.modelDim() + ": got " + actual
          + ", reference " + expected + ", tolerance " + tolerance);
    }
  }

  /** New token {@code i} of attention alone equals one query over the keys it sees, as in the full call. */
  private static void checkAttentionRow(LayerProblem p, float[] heads, int i) {
    LayerShape shape = p.shape();
    AttentionSpec spec = shape.spec();
    int width = shape.queryWidth();
    int keys = shape.cached() + i + 1;
    float[] q = Arrays.copyOfRange(p.q(), i * width, (i + 1) * width);
    ReferenceAttention.Result ref = ReferenceAttention.attend(spec.withCausal(false), 1, keys, q, p.k(),
        p.v(), null);
    for (int h = 0; h < shape.queryHeads(); h++) {
      ReferenceAttention.Row row = ref.row(0, h);
      for (int d = 0; d < shape.headDim(); d++) {
        float actual = heads[i * width + h * shape.headDim() + d];
        double expected = ref.out()[h * shape.headDim() + d];
        double tolerance = ErrorBound.kernelVsReference(spec, row, d);
        int head = h;
        int coordinate = d;
        assertTrue(Math.abs(actual - expected) <= tolerance, () -> shape + " attention row " + i + " head "
            + head + " d " + coordinate + ": got " + actual + ", reference " + expected + ", tolerance "
            + tolerance);
      }
    }
  }

  /** The first rows, the ends of the first key block, the middle and the last rows. */
  private static int[] sampleRows(LayerShape shape) {
    int n = shape.tokens();
    return IntStream.of(0, 1, 63, 64, n / 2, n - 2, n - 1).filter(i -> i >= 0 && i < n).distinct().sorted()
        .toArray();
  }

  @Test
  void workloadParameterListsEveryWorkload() throws NoSuchFieldException {
    String[] ids = LayerBench.class.getField("workload").getAnnotation(Param.class).value();
    assertArrayEquals(LayerShape.ids().split(","), ids);
  }

  @ParameterizedTest
  @EnumSource(LayerShape.class)
  void attentionCountsVisiblePairs(LayerShape shape) {
    AttentionSpec spec = shape.spec();
    long visible = 0;
    for (int i = 0; i < shape.tokens(); i++) {
      for (int j = 0; j < shape.kvLen(); j++) {
        if (ReferenceAttention.visible(spec, shape.tokens(), shape.kvLen(), null, i, j)) {
          visible++;
        }
      }
    }
    assertEquals(visible, shape.visiblePairs());
    assertEquals(4.0 * shape.headDim() * shape.queryHeads() * visible, shape.attentionFlops());
    assertEquals(shape.projectionFlops() + shape.attentionFlops(), shape.flops());
  }

  /** The counts the issue asks for, written out. */
  @Test
  void workloadsCountWhatTheIssueSays() {
    LayerShape prefill = LayerShape.LAYER_PREFILL_512;
    assertEquals(512L * 513 / 2, prefill.visiblePairs());
    assertEquals(4 * 2.0 * 512 * 1024 * 1024 + 4.0 * 64 * 16 * (512 * 513 / 2), prefill.flops());
    assertEquals(0, prefill.memoryBytes());
    LayerShape decode = LayerShape.LAYER_DECODE_4K;
    assertEquals(4097, decode.visiblePairs());
    assertEquals(2.0 * (2 * 4096 * 4096 + 2 * 1024 * 4096) + 4.0 * 128 * 32 * 4097, decode.flops());
    assertEquals(4L * (2 * 4096 * 4096 + 2 * 1024 * 4096) + 2L * 4096 * 1024 * 4, decode.memoryBytes());
  }
}
