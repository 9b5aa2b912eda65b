package io.github.attention.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.bench.ort.OrtAttention;
import io.github.attention.verify.ErrorBound;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.openjdk.jmh.annotations.Param;

/**
 * ONNX Runtime's side of the comparison computes the same attention as the kernel: {@link OrtBench}'s setup
 * and one call, on every shape it runs, every output finite and a sample of rows against the
 * double-precision reference, as {@link BenchmarkSetupTest} checks the kernel.
 *
 * <p>The tolerance is the kernel's {@link ErrorBound}. It also bounds ONNX Runtime's arithmetic, which has
 * fewer roundings per term: Q·Kᵀ as an fp32 GEMM (a dot product of D terms in some order, step 1 of the
 * bound), one maximum and one exponential per key (MLAS's polynomial; the bound allows 2 ulp, the
 * kernel's blocks allow more exponentials per key than the one ORT takes), the weights multiplied by the
 * rounded reciprocal of their sum (two roundings, within step 4's allowance), then P·V as a GEMM (n terms).
 * A wrongly bound input (a transposed layout, the wrong K/V head, a window off by one) moves outputs by
 * O(1), hundreds of times the bound.
 */
class OrtBenchSetupTest {

  static Stream<Shape> ortShapes() {
    return Arrays.stream(Shape.values()).filter(s -> OrtAttention.unsupported(s) == null);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("ortShapes")
  void ortMatchesTheReference(Shape shape) throws Exception {
    OrtBench bench = new OrtBench();
    bench.shape = shape.id();
    bench.threads = 1;
    bench.setup();
    try {
      WorkCounters work = new WorkCounters();
      bench.attend(work);
      assertEquals(shape.flops() / 1e9, work.gflop, 0);
      float[] out = bench.ort.output();
      for (int at = 0; at < out.length; at++) {
        int index = at;
        assertTrue(Float.isFinite(out[at]), () -> shape + ": ORT output " + index + " is " + out[index]);
      }
      Problem p = Problem.of(shape);
      for (int i : BenchmarkSetupTest.sampleRows(shape)) {
        BenchmarkSetupTest.checkRow(p, out, i);
      }
      // Decode shares the cache buffer with ORT's present output: a second call sees the same cache.
      bench.attend(work);
      assertArrayEquals(out, bench.ort.output());
    } finally {
      bench.tearDown();
    }
  }

  @Test
  void ortRunsWhatItSupportsAndSaysWhyNot() {
    List<String> supported = ortShapes().map(Shape::id).toList();
    assertEquals(List.of("prefill-1k", "prefill-2k-causal", "decode-4k-gqa", "decode-32k-gqa", "odd-head",
        "decode-32k-gqa-headmajor", "decode-32k-gqa-window4k", "prefill-2k-causal-window512",
        "prefill-2k-causal-softcap"), supported);
    assertNotNull(OrtAttention.unsupported(Shape.DECODE_32K_GQA_BF16));
    assertNotNull(OrtAttention.unsupported(Shape.PREFILL_2K_CAUSAL_SINKS_ALIBI));
    assertNull(OrtAttention.unsupported(Shape.PREFILL_1K));
    assertThrows(IllegalArgumentException.class, () -> OrtAttention.of(Problem.of(Shape.DECODE_32K_GQA_INT8), 1));
    // The head-major view's ORT problem is the token-major shape's: the comparison measures it once.
    assertEquals(Shape.DECODE_32K_GQA, Compare.sameOrtRun(Shape.DECODE_32K_GQA_HEADMAJOR));
    assertEquals(Shape.PREFILL_1K, Compare.sameOrtRun(Shape.PREFILL_1K));
  }

  @Test
  void shapeParameterListsTheShapesOrtRuns() throws NoSuchFieldException {
    String[] ids = OrtBench.class.getField("shape").getAnnotation(Param.class).value();
    assertArrayEquals(ortShapes().filter(s -> Compare.sameOrtRun(s) == s).map(Shape::id).toArray(), ids);
  }
}
