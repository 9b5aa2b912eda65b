package io.github.attention.verify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.KvType;
import io.github.attention.layer.AttentionTrace;
import io.github.attention.layer.AttentionTrace.KeyStatus;
import io.github.attention.layer.KvCache;
import io.github.attention.layer.MultiHeadAttention;
import io.github.attention.verify.LayerCases.LayerCase;
import java.util.Arrays;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * {@link MultiHeadAttention#trace} and {@link MultiHeadAttention#traceStep} against the layer they trace:
 * the trace's output row is the layer's {@code forward} row for that token within the layer's rigorous fp32
 * bound ({@link ReferenceLayer}), its weights are a softmax (≥ 0, summing to 1) over exactly the keys the
 * layer's rules make visible, excluded keys weigh exactly 0, and the head mapping is the grouped-query one.
 *
 * <p>Tolerances: the layer's output is within {@code ReferenceLayer.tolerance} of the exact result; the
 * trace computes in double, so it is within about {@code m·2⁻⁵³} relative of the exact result, m the
 * longest sum (at most a few hundred terms here): below 1e-13 of the terms' magnitude. The checks allow
 * {@code 1e-9·termMagnitude} for that, which is still far below the fp32 bound. Weight sums: n terms in
 * double, each a quotient, are within {@code n·2⁻⁵²} of 1: 1e-12 allows 4000 keys.
 */
class TraceTest {

  private static final double DOUBLE_SLACK = 1e-9;

  @Provide
  Arbitrary<LayerCase> cases() {
    return LayerCases.cases();
  }

  @Property(tries = 300)
  void traceOfATokenIsTheLayersRowForIt(@ForAll("cases") LayerCase c, @ForAll boolean vector,
      @ForAll @IntRange(min = 0, max = 40) int window, @ForAll long tokenSeed) {
    AttentionKernel kernel = vector ? AttentionKernel.vector() : AttentionKernel.scalar();
    ReferenceLayer.Weights w = c.weights();
    MultiHeadAttention.Builder builder = w.builder().kernel(kernel);
    boolean windowed = window > 0 && c.causal(); // the reference's window is causal
    if (windowed) {
      builder.slidingWindow(window);
    }
    MultiHeadAttention layer = builder.build();
    float[] x = c.input();
    float[] y = new float[c.seqLen() * c.modelDim()];
    layer.forward(x, c.seqLen(), y);
    ReferenceLayer.Result ref = windowed
        ? ReferenceLayer.forward(w, window, null, null, 0, x, c.seqLen())
        : ReferenceLayer.forward(w, x, c.seqLen());
    int token = new SplittableRandom(tokenSeed).nextInt(c.seqLen());
    for (int t : new int[] {token, c.seqLen() - 1}) {
      AttentionTrace trace = layer.trace(x, c.seqLen(), t);
      checkRow(c + " token " + t, trace, y, ref, t, false);
      checkSoftmax(trace, c.causal(), windowed ? window : 0, t, c.seqLen());
    }
  }

  @Property(tries = 200)
  void traceOfADecodeStepIsTheStepsOutput(@ForAll("cases") LayerCase c, @ForAll boolean vector) {
    LayerCase causal = c.withCausal(true);
    ReferenceLayer.Weights w = causal.weights();
    MultiHeadAttention layer = w.builder()
        .kernel(vector ? AttentionKernel.vector() : AttentionKernel.scalar()).build();
    float[] x = causal.input();
    int n = causal.seqLen();
    int d = causal.modelDim();
    KvCache cache = layer.newCache(n);
    float[] y = new float[n * d];
    if (n > 1) {
      layer.forward(x, n - 1, cache, y);
    }
    float[] last = Arrays.copyOfRange(x, (n - 1) * d, n * d);
    AttentionTrace trace = layer.traceStep(last, cache);
    assertEquals(n - 1, cache.length(), "tracing must not change the cache");
    float[] step = new float[d];
    layer.forward(last, 1, cache, step);
    System.arraycopy(step, 0, y, (n - 1) * d, d);
    ReferenceLayer.Result ref = ReferenceLayer.forward(w, x, n);
    checkRow(causal + " step", trace, y, ref, n - 1, true);
    checkSoftmax(trace, true, 0, n - 1, n);
    assertEquals(0, trace.queryToken());
    assertEquals(1, trace.inputs().length);
  }

  /** The trace's keys over a bf16 cache are the cache's values after the step, bit for bit. */
  @Example
  void traceStepReadsKeysAsTheCacheStoresThem() {
    LayerCase c = new LayerCase(32, 4, 2, 8, 6, true, true, 1.0, 1.0, 7);
    MultiHeadAttention layer = c.weights().builder().build();
    KvCache cache = layer.newCache(6, KvType.BF16, null);
    float[] x = c.input();
    float[] y = new float[6 * 32];
    layer.forward(x, 5, cache, y);
    float[] last = Arrays.copyOfRange(x, 5 * 32, 6 * 32);
    AttentionTrace trace = layer.traceStep(last, cache);
    layer.forward(last, 1, cache, new float[32]);
    for (AttentionTrace.KvHead g : trace.kvHeads()) {
      double[][] keys = g.keys();
      for (int t = 0; t < 6; t++) {
        for (int d = 0; d < 8; d++) {
          float stored = cache.keys().get(t, g.kvHead(), d);
          assertEquals(stored, keys[t][d], 0, "token " + t + " head " + g.kvHead() + " d " + d);
        }
      }
    }
  }

  /** Grouped-query mapping, shapes, and the variants' marks on the logits. */
  @Example
  void variantsShowInTheLogitsAndTheMapping() {
    LayerCase c = new LayerCase(24, 6, 2, 4, 9, true, false, 3.0, 1.0, 11);
    float[] sinks = {0.5f, -1f, 2f, 0f, 1f, -0.5f};
    float[] slopes = {0.5f, 0.25f, 0.125f, 0.0625f, 0.03125f, 0.015625f};
    MultiHeadAttention layer = c.weights().builder().softcap(2f).sinks(sinks).alibiSlopes(slopes).build();
    AttentionTrace trace = layer.trace(c.input(), 9, 6);
    assertEquals(6, trace.queryHeadCount());
    assertEquals(2, trace.kvHeadCount());
    assertEquals(9, trace.keyCount());
    assertEquals(6, trace.position());
    assertArrayEquals(new int[] {0, 1, 2}, trace.kvHeads().get(0).queryHeads());
    assertArrayEquals(new int[] {3, 4, 5}, trace.kvHeads().get(1).queryHeads());
    assertEquals(6 * 4, trace.concat().length);
    for (AttentionTrace.QueryHead h : trace.queryHeads()) {
      assertEquals(h.head() / 3, h.kvHead());
      double[] logits = h.logits();
      double[] scaled = h.scaledScores();
      double[] weights = h.weights();
      double sum = 0;
      double max = h.sink();
      for (int j = 0; j < 9; j++) {
        if (j <= 6) {
          // cap·tanh(s/cap) plus slope·(j − p), in double: the same formula to rounding.
          double expected = 2 * Math.tanh(scaled[j] / 2) + slopes[h.head()] * (j - 6.0);
          assertEquals(expected, logits[j], 1e-12);
          max = Math.max(max, logits[j]);
        } else {
          assertEquals(Double.NEGATIVE_INFINITY, logits[j]);
          assertEquals(0.0, weights[j]);
        }
        sum += weights[j];
      }
      // The sink takes its share of the denominator: weights sum to 1 − e^(sink−max)/total.
      double total = Math.exp(h.sink() - max);
      for (int j = 0; j <= 6; j++) {
        total += Math.exp(logits[j] - max);
      }
      assertEquals(1 - Math.exp(h.sink() - max) / total, sum, 1e-12);
      assertEquals(sinks[h.head()], h.sink(), 0);
    }
  }

  @Example
  void badArgumentsAreRejected() {
    LayerCase c = new LayerCase(8, 2, 1, 4, 3, true, false, 1.0, 1.0, 3);
    MultiHeadAttention layer = c.weights().builder().build();
    MultiHeadAttention other = c.weights().builder().build();
    float[] x = c.input();
    assertThrows(IllegalArgumentException.class, () -> layer.trace(x, 3, 3));
    assertThrows(IllegalArgumentException.class, () -> layer.trace(x, 3, -1));
    assertThrows(IllegalArgumentException.class, () -> layer.trace(x, 4, 0));
    assertThrows(IllegalArgumentException.class, () -> layer.trace(x, 0, 0));
    assertThrows(NullPointerException.class, () -> layer.trace(null, 1, 0));
    assertThrows(IllegalArgumentException.class, () -> layer.traceStep(x, other.newCache(4)));
    assertThrows(IllegalArgumentException.class, () -> layer.traceStep(new float[7], layer.newCache(4)));
    assertThrows(NullPointerException.class, () -> layer.traceStep(x, null));
  }

  /**
   * The trace's output row against the layer's and the reference's. A sequence's trace is all double, so it
   * is the reference to double rounding, and the layer within its bound of it. A step's trace rounds the
   * cached and new keys and values to fp32 as the layer does ({@code roundsKv}): it is then within the
   * layer's bound of the exact result itself (that rounding is part of what the bound covers), so the layer
   * is within twice the bound of it (triangle inequality) and the trace is not compared with the reference
   * to double rounding.
   */
  private static void checkRow(String what, AttentionTrace trace, float[] y, ReferenceLayer.Result ref, int t,
      boolean roundsKv) {
    double[] out = trace.output();
    int d = out.length;
    for (int col = 0; col < d; col++) {
      int o = col;
      int i = t * d + o;
      double slack = DOUBLE_SLACK * ref.termMagnitude(i);
      if (!roundsKv) {
        assertTrue(Math.abs(out[o] - ref.y()[i]) <= slack, () -> what + ": trace " + out[o] + " vs reference "
            + ref.y()[i]);
      }
      double bound = (roundsKv ? 2 : 1) * ref.tolerance(i) + slack;
      double error = Math.abs(y[i] - out[o]);
      assertTrue(error <= bound, () -> what + ": layer y[" + i + "] = " + y[i] + ", trace " + out[o]
          + ", |difference| " + error + " > bound " + bound);
    }
  }

  /** Weights: a softmax over the keys the causal and window rules make visible, exactly 0 elsewhere. */
  private static void checkSoftmax(AttentionTrace trace, boolean causal, int window, int p, int n) {
    assertEquals(n, trace.keyCount());
    assertEquals(p, trace.position());
    for (AttentionTrace.QueryHead h : trace.queryHeads()) {
      double[] weights = h.weights();
      double sum = 0;
      for (int j = 0; j < n; j++) {
        KeyStatus expected = causal && j > p ? KeyStatus.CAUSAL_FUTURE
            : window > 0 && j <= p - window ? KeyStatus.OUTSIDE_WINDOW : KeyStatus.VISIBLE;
        assertEquals(expected, h.status().get(j), "key " + j);
        if (expected == KeyStatus.VISIBLE) {
          assertTrue(weights[j] >= 0, "weight " + j);
        } else {
          assertEquals(0.0, weights[j], "excluded key " + j);
          assertEquals(Double.NEGATIVE_INFINITY, h.logits()[j]);
        }
        sum += weights[j];
      }
      assertEquals(1.0, sum, 1e-12, "head " + h.head());
    }
  }
}
