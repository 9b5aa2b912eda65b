package io.github.attention.verify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.layer.AttentionTrace;
import io.github.attention.layer.KvCache;
import io.github.attention.layer.MultiHeadAttention;
import io.github.attention.layer.RotaryEmbedding;
import io.github.attention.layer.RotaryEmbedding.Pairing;
import io.github.attention.verify.LayerCases.LayerCase;
import java.util.Arrays;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Rotary position embeddings in the layer against {@link ReferenceLayer}'s rotated double reference and
 * its rigorous bound (the rotation's roundings derived there): whole prefills, and prompts continued in
 * random steps through a {@link KvCache} (positions from the cache's length), on both backends, every
 * pairing, partial rotary, and the three scalings. Also: the frequencies follow their formulas,
 * {@code rotaryDim = 0} changes nothing, and the trace rotates as the layer does.
 */
class RotaryTest {

  @Provide
  Arbitrary<LayerCase> causalCases() {
    return LayerCases.cases().map(c -> c.withCausal(true));
  }

  /** A random embedding for a head width: theta, an even rotaryDim up to the width, pairing, scaling. */
  static RotaryEmbedding rotary(SplittableRandom r, int headDim) {
    double[] thetas = {100, 10000, 500000};
    RotaryEmbedding e = RotaryEmbedding.of(thetas[r.nextInt(3)], 2 * r.nextInt(headDim / 2 + 1),
        r.nextBoolean() ? Pairing.HALF_SPLIT : Pairing.INTERLEAVED);
    return switch (r.nextInt(3)) {
      case 0 -> e;
      case 1 -> e.withLinearScaling(1 + r.nextInt(8));
      default -> e.withLlama3Scaling(8, 1, 4, 64);
    };
  }

  @Property(tries = 300)
  void rotaryLayerMatchesTheRotatedReference(@ForAll("causalCases") LayerCase c, @ForAll boolean vector,
      @ForAll long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    RotaryEmbedding rotary = rotary(r, c.headDim());
    ReferenceLayer.Weights w = c.weights();
    MultiHeadAttention layer = w.builder().rotary(rotary)
        .kernel(vector ? AttentionKernel.vector() : AttentionKernel.scalar()).build();
    float[] x = c.input();
    int n = c.seqLen();
    int d = c.modelDim();
    ReferenceLayer.Result ref = ReferenceLayer.forward(w, rotary, 0, null, null, 0, x, n);
    float[] whole = new float[n * d];
    layer.forward(x, n, whole);
    assertWithin("prefill " + rotary, whole, ref, c);

    // The same sequence as a prompt and steps of 1 to 3 through a cache.
    float[] stepped = LayerTest.decodeInSteps(layer, x, n, r);
    assertWithin("prefill + decode " + rotary, stepped, ref, c);

    // The trace rotates as the layer does: its double output is the reference's.
    int token = r.nextInt(n);
    double[] traced = layer.trace(x, n, token).output();
    for (int o = 0; o < d; o++) {
      int i = token * d + o;
      assertEquals(ref.y()[i], traced[o], 1e-9 * ref.termMagnitude(i), "trace, " + rotary + "; " + c);
    }
  }

  /**
   * Relative-position invariance: the same sequence at positions shifted by {@code s} gives the same output,
   * since {@code R(p+s)q · R(j+s)k = R(p)q · R(j)k} exactly; each run is within its bound of its exact result
   * (the reference at that offset), so the two are within the sum of the bounds. Also against the shifted
   * reference itself.
   */
  @Property(tries = 200)
  void shiftingEveryPositionChangesNothing(@ForAll("causalCases") LayerCase c, @ForAll long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    RotaryEmbedding rotary = rotary(r, c.headDim());
    int shift = r.nextInt(1, 40000); // inside and beyond the cos/sin table (16384 positions)
    ReferenceLayer.Weights w = c.weights();
    MultiHeadAttention layer = w.builder().rotary(rotary).build();
    float[] x = c.input();
    int n = c.seqLen();
    float[] y0 = new float[n * c.modelDim()];
    float[] y1 = new float[n * c.modelDim()];
    layer.forward(x, n, 0, y0);
    layer.forward(x, n, shift, y1);
    ReferenceLayer.Result ref0 = ReferenceLayer.forward(w, rotary, 0, 0, null, null, 0, x, n);
    ReferenceLayer.Result ref1 = ReferenceLayer.forward(w, rotary, shift, 0, null, null, 0, x, n);
    assertWithin("shifted by " + shift + ", " + rotary, y1, ref1, c);
    for (int i = 0; i < y0.length; i++) {
      // Plus the two references' own difference (angles rounded in double), checked below to be tiny.
      double bound = ref0.tolerance(i) + ref1.tolerance(i) + 1e-6 * ref0.termMagnitude(i) + 1e-12;
      assertEquals(y0[i], y1[i], bound, "y[" + i + "] shifted by " + shift + ", " + rotary + "; " + c);
      // The two exact results are the same: the references agree to double rounding.
      assertEquals(ref0.y()[i], ref1.y()[i], 1e-6 * ref0.termMagnitude(i) + 1e-12, "references; " + c);
    }
  }

  @Example
  void rotaryDimZeroChangesNothing() {
    LayerCase c = new LayerCase(32, 4, 2, 8, 9, true, true, 1.0, 1.0, 4);
    float[] x = c.input();
    float[] plain = new float[9 * 32];
    float[] zero = new float[9 * 32];
    c.weights().builder().build().forward(x, 9, plain);
    MultiHeadAttention layer = c.weights().builder().rotary(RotaryEmbedding.of(10000, 0, Pairing.HALF_SPLIT)).build();
    layer.forward(x, 9, zero);
    assertArrayEquals(plain, zero);
    assertEquals(null, layer.rotary());
  }

  @Example
  void frequenciesFollowTheirFormulas() {
    RotaryEmbedding e = RotaryEmbedding.of(10000, 8, Pairing.HALF_SPLIT);
    assertArrayEquals(new double[] {1, 0.1, 0.01, 0.001}, e.frequencies(), 1e-15);
    assertArrayEquals(new double[] {0.5, 0.05, 0.005, 0.0005}, e.withLinearScaling(2).frequencies(), 1e-15);
    // llama3 with originalMax 100, factors 1 and 4: wavelengths 2π/f = 6.3, 62.8, 628, 6283 against the
    // limits 25 and 100: kept, blended, divided, divided.
    double[] f = e.withLlama3Scaling(8, 1, 4, 100).frequencies();
    double s = (100 / (2 * Math.PI / 0.1) - 1) / 3;
    assertArrayEquals(new double[] {1, (1 - s) * 0.1 / 8 + s * 0.1, 0.01 / 8, 0.001 / 8}, f, 1e-15);
    assertThrows(IllegalArgumentException.class, () -> RotaryEmbedding.of(10000, 3, Pairing.HALF_SPLIT));
    assertThrows(IllegalArgumentException.class, () -> RotaryEmbedding.of(1, 4, Pairing.HALF_SPLIT));
    assertThrows(IllegalArgumentException.class, () -> e.withLinearScaling(0.5));
    LayerCase c = new LayerCase(16, 2, 2, 8, 3, true, false, 1.0, 1.0, 1);
    IllegalArgumentException tooWide = assertThrows(IllegalArgumentException.class,
        () -> c.weights().builder().rotary(RotaryEmbedding.of(10000, 10, Pairing.HALF_SPLIT)).build());
    assertEquals("rotary rotaryDim 10 exceeds headDim 8", tooWide.getMessage());
  }

  /** A decode step's trace over a rotated cache: keys as stored (rotated), the new token rotated at its place. */
  @Example
  void traceStepOfARotaryLayer() {
    LayerCase c = new LayerCase(32, 4, 2, 8, 10, true, true, 1.0, 1.0, 6);
    ReferenceLayer.Weights w = c.weights();
    RotaryEmbedding rotary = RotaryEmbedding.of(10000, 8, Pairing.INTERLEAVED);
    MultiHeadAttention layer = w.builder().rotary(rotary).build();
    float[] x = c.input();
    KvCache cache = layer.newCache(10);
    layer.forward(x, 9, cache, new float[9 * 32]);
    AttentionTrace trace = layer.traceStep(Arrays.copyOfRange(x, 9 * 32, 10 * 32), cache);
    ReferenceLayer.Result ref = ReferenceLayer.forward(w, rotary, 0, null, null, 0, x, 10);
    double[] out = trace.output();
    for (int o = 0; o < 32; o++) {
      int i = 9 * 32 + o;
      // The step's trace rounds K and the new key's rotation to float as the layer does: within the bound.
      assertEquals(ref.y()[i], out[o], ref.tolerance(i), "y[" + o + "]");
    }
  }

  private static void assertWithin(String what, float[] y, ReferenceLayer.Result ref, LayerCase c) {
    for (int i = 0; i < y.length; i++) {
      double error = Math.abs(y[i] - ref.y()[i]);
      if (!(error <= ref.tolerance(i))) {
        throw new AssertionError(String.format("%s: y[%d] = %s, reference %s, |error| %.3e > tolerance %.3e; %s",
            what, i, y[i], ref.y()[i], error, ref.tolerance(i), c));
      }
    }
  }
}
