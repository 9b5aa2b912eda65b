package io.github.attention.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.kernel.AttentionSpec;
import io.github.attention.verify.ErrorBound;
import io.github.attention.verify.ReferenceAttention;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.openjdk.jmh.annotations.Param;

/**
 * Runs every benchmark's setup and one benchmark call outside JMH (no timing) and checks the result, so a
 * broken benchmark cannot report a fast wrong kernel. Each attention benchmark runs on its real shape, on
 * both backends: every output must be written and finite, and a sample of query rows (all heads, all
 * coordinates) must match the double-precision reference within the rigorous {@link ErrorBound}.
 */
class BenchmarkSetupTest {

  static Stream<Arguments> benchmarks() {
    return Arrays.stream(Shape.values())
        .flatMap(shape -> Stream.of(Arguments.of(shape, "scalar"), Arguments.of(shape, "vector")));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("benchmarks")
  void attentionBenchmarkMatchesReference(Shape shape, String backend) {
    AttentionBench bench = new AttentionBench();
    bench.shape = shape.id();
    bench.backend = backend;
    bench.setup();
    Problem p = bench.problem;
    Arrays.fill(p.out(), Float.NaN); // every output must be written, not only the sampled rows
    WorkCounters work = new WorkCounters();
    float[] out = bench.attend(work);

    assertEquals(shape.flops() / 1e9, work.gflop, 0);
    assertEquals(shape.decode() ? shape.kvBytes() / 1e9 : 0, work.gbytes, 0);
    assertEquals(p.out(), out);
    for (int at = 0; at < out.length; at++) {
      int index = at;
      assertTrue(Float.isFinite(out[at]), () -> shape + ": output " + index + " is " + out[index]);
    }
    for (int i : sampleRows(shape)) {
      checkRow(p, p.out(), i);
    }
  }

  /**
   * Row {@code i} of the full problem equals a single-query problem over the keys it sees: the first
   * {@code i + kvLen - qLen + 1} when causal, all otherwise. Key blocks stay aligned at key 0, as in the
   * full problem, so the error bound's block count is the same.
   */
  static void checkRow(Problem p, float[] out, int i) {
    Shape shape = p.shape();
    AttentionSpec spec = p.spec();
    int heads = shape.queryHeads();
    int dim = shape.headDim();
    int keys = shape.causal() ? i + shape.kvLen() - shape.qLen() + 1 : shape.kvLen();
    float[] q = Arrays.copyOfRange(p.q(), i * heads * dim, (i + 1) * heads * dim);
    ReferenceAttention.Result ref = ReferenceAttention.attend(spec.withCausal(false), 1, keys, q,
        p.kStored(), p.vStored(), null);
    for (int h = 0; h < heads; h++) {
      ReferenceAttention.Row row = ref.row(0, h);
      for (int d = 0; d < dim; d++) {
        float actual = out[(i * heads + h) * dim + d];
        double expected = ref.out()[h * dim + d];
        double tolerance = ErrorBound.kernelVsReference(spec, row, d);
        int head = h;
        int coordinate = d;
        assertTrue(Math.abs(actual - expected) <= tolerance, () -> shape + " row " + i + " head " + head
            + " d " + coordinate + ": got " + actual + ", reference " + expected
            + ", tolerance " + tolerance);
      }
    }
  }

  /** The first, second and last rows, the ends of the first key block, the middle, and a few random ones. */
  static int[] sampleRows(Shape shape) {
    int n = shape.qLen();
    SplittableRandom random = new SplittableRandom(shape.ordinal());
    return IntStream.concat(IntStream.of(0, 1, 63, 64, n / 2, n - 2, n - 1), random.ints(4, 0, n))
        .filter(i -> i >= 0 && i < n)
        .distinct()
        .sorted()
        .toArray();
  }

  @Test
  void shapeParameterListsEveryShape() throws NoSuchFieldException {
    String[] ids = AttentionBench.class.getField("shape").getAnnotation(Param.class).value();
    assertArrayEquals(Shape.ids().split(","), ids);
  }

  @ParameterizedTest
  @EnumSource(Shape.class)
  void flopsCountVisiblePairs(Shape shape) {
    AttentionSpec spec = shape.spec();
    long visible = 0;
    for (int i = 0; i < shape.qLen(); i++) {
      for (int j = 0; j < shape.kvLen(); j++) {
        if (ReferenceAttention.visible(spec, shape.qLen(), shape.kvLen(), null, i, j)) {
          visible++;
        }
      }
    }
    assertEquals(visible, shape.visiblePairs());
    assertEquals(4.0 * shape.headDim() * shape.queryHeads() * visible, shape.flops());
    // The tokens some row can see: all of them, or with a window those from row 0's first visible key on.
    long tokens = shape.kvLen();
    if (spec.slidingWindow() > 0) {
      tokens = 0;
      for (int j = 0; j < shape.kvLen(); j++) {
        if (ReferenceAttention.visible(spec, shape.qLen(), shape.kvLen(), null, shape.qLen() - 1, j)
            || ReferenceAttention.visible(spec, shape.qLen(), shape.kvLen(), null, 0, j) || tokens > 0) {
          tokens++;
        }
      }
    }
    long elements = 2L * tokens * shape.kvHeads() * shape.headDim();
    long bytes = switch (shape.storage()) {
      case ARRAYS, HEAD_MAJOR -> elements * 4;
      case BF16, F16, PAGED_BF16 -> elements * 2;
      case INT8 -> elements + 2L * tokens * shape.kvHeads() * 4;
    };
    assertEquals(bytes, shape.kvBytes());
  }

  @Test
  void fmaPeakCountsItsFlops() {
    MachineBench.FmaLoop loop = new MachineBench.FmaLoop();
    loop.iterations = 1000;
    WorkCounters work = new WorkCounters();
    float sum = new MachineBench().fmaPeak(loop, work);

    int lanes = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length();
    assertEquals(12.0 * 2 * lanes * 1000 / 1e9, work.gflop, 0);
    // Each lane of accumulator a runs acc = fma(m, c, acc) from a; the same recurrence in scalar code.
    double expected = 0;
    for (int a = 0; a < 12; a++) {
      float acc = a;
      for (int i = 0; i < loop.iterations; i++) {
        acc = Math.fma(loop.multiplier, loop.addend, acc);
      }
      expected += (double) acc * lanes;
    }
    assertEquals(expected, sum, 1e-5 * expected);
  }

  @Test
  void dramReadSumsTheArray() {
    MachineBench.Stream stream = new MachineBench.Stream();
    stream.mib = 1;
    stream.setup();
    WorkCounters work = new WorkCounters();
    float sum = new MachineBench().dramRead(stream, work);

    // Values are i & 7 over 2^18 elements: every partial sum is an integer below 2^24, so exact.
    assertEquals(3.5 * stream.data.length, sum, 0);
    assertEquals((1 << 20) / 1e9, work.gbytes, 0);
  }
}
