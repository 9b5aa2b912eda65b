package io.github.attention.verify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.Parallelism;
import io.github.attention.layer.KvCache;
import io.github.attention.layer.MultiHeadAttention;
import io.github.attention.verify.LayerCases.LayerCase;
import java.lang.ref.WeakReference;
import java.util.Arrays;
import java.util.function.Consumer;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * Invalid layers, calls, caches and thread settings are rejected with the documented exception and a
 * message naming what is wrong (and the expected shape), before anything is written.
 */
class LayerArgumentTest {

  /** The builder's weights and biases: name in messages, and how to set an array in its place. */
  enum Parameter {
    WQ("queryWeights (Wq)", true), WK("keyWeights (Wk)", true), WV("valueWeights (Wv)", true),
    WO("outputWeights (Wo)", true), BQ("queryBias (bq)", false), BK("keyBias (bk)", false),
    BV("valueBias (bv)", false), BO("outputBias (bo)", false);

    final String name;
    final boolean required;

    Parameter(String name, boolean required) {
      this.name = name;
      this.required = required;
    }

    float[] of(ReferenceLayer.Weights w) {
      return switch (this) {
        case WQ -> w.wq();
        case WK -> w.wk();
        case WV -> w.wv();
        case WO -> w.wo();
        case BQ -> w.bq();
        case BK -> w.bk();
        case BV -> w.bv();
        case BO -> w.bo();
      };
    }

    void set(MultiHeadAttention.Builder b, float[] array) {
      switch (this) {
        case WQ -> b.queryWeights(array);
        case WK -> b.keyWeights(array);
        case WV -> b.valueWeights(array);
        case WO -> b.outputWeights(array);
        case BQ -> b.queryBias(array);
        case BK -> b.keyBias(array);
        case BV -> b.valueBias(array);
        case BO -> b.outputBias(array);
      }
    }
  }

  @Provide
  Arbitrary<LayerCase> cases() {
    return LayerCases.cases().map(c -> new LayerCase(c.modelDim(), c.queryHeads(), c.kvHeads(),
        c.headDim(), c.seqLen(), c.causal(), true, c.weightScale(), c.inputScale(), c.seed()));
  }

  /** A weight or bias one to three elements too long or too short is named, with its expected shape. */
  @Property(tries = 300)
  void wrongLengthIsNamedWithItsShape(@ForAll("cases") LayerCase c, @ForAll Parameter parameter,
      @ForAll @IntRange(min = -3, max = 3) int change) {
    ReferenceLayer.Weights w = c.weights();
    float[] right = parameter.of(w);
    if (change == 0 || right.length + change < 0) {
      return;
    }
    MultiHeadAttention.Builder b = w.builder();
    parameter.set(b, new float[right.length + change]);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, b::build);
    assertTrue(e.getMessage().startsWith(parameter.name + " must have shape ["), e.getMessage());
    assertTrue(e.getMessage().contains(right.length + " elements; got " + (right.length + change)),
        e.getMessage());
  }

  @Test
  void missingWeightsAreNamed() {
    ReferenceLayer.Weights w = small().weights();
    for (Parameter p : Parameter.values()) {
      MultiHeadAttention.Builder b = w.builder();
      p.set(b, null);
      if (p.required) {
        NullPointerException e = assertThrows(NullPointerException.class, b::build);
        assertEquals(p.name + " must be set", e.getMessage());
      } else {
        b.build(); // biases are optional
      }
    }
  }

  @Test
  void badDimensionsAreRejected() {
    ReferenceLayer.Weights w = small().weights();
    assertMessage(IllegalArgumentException.class, "modelDim must be at least 1, got 0",
        () -> w.builder().modelDim(0).build());
    assertMessage(IllegalArgumentException.class, "queryHeads must be at least 1, got -2",
        () -> w.builder().queryHeads(-2).build());
    assertMessage(IllegalArgumentException.class, "kvHeads must divide queryHeads, got kvHeads=3 and queryHeads=4",
        () -> w.builder().kvHeads(3).build());
    assertMessage(IllegalArgumentException.class, "kvHeads must be positive, got 0",
        () -> w.builder().kvHeads(0).build());
    assertMessage(IllegalArgumentException.class, "headDim must be in 1..1024, got 0",
        () -> w.builder().headDim(0).build());
    assertMessage(IllegalArgumentException.class,
        "headDim is not set and modelDim 10 is not a multiple of queryHeads 4: set headDim",
        () -> MultiHeadAttention.builder().modelDim(10).queryHeads(4).build());
    // The default head width: modelDim / queryHeads.
    MultiHeadAttention layer = MultiHeadAttention.builder().modelDim(12).queryHeads(4).kvHeads(2)
        .queryWeights(new float[12 * 12]).keyWeights(new float[6 * 12]).valueWeights(new float[6 * 12])
        .outputWeights(new float[12 * 12]).build();
    assertEquals(3, layer.headDim());
  }

  @Test
  void badCallsWriteNothing() {
    LayerCase c = small();
    MultiHeadAttention layer = c.weights().builder().build();
    int size = c.seqLen() * c.modelDim();
    float[] x = c.input();
    float[] y = new float[size];
    Arrays.fill(y, Problem.OUT_SENTINEL);
    float[] untouched = y.clone();
    assertMessage(NullPointerException.class, "x must not be null", () -> layer.forward(null, 1, y));
    assertMessage(NullPointerException.class, "y must not be null", () -> layer.forward(x, 1, null));
    assertMessage(IllegalArgumentException.class, "seqLen must be at least 1, got 0",
        () -> layer.forward(x, 0, y));
    assertMessage(IllegalArgumentException.class, "x is too short for shape [seqLen=" + c.seqLen()
        + "][modelDim=" + c.modelDim() + "]: expected at least " + size + " elements, got " + (size - 1),
        () -> layer.forward(Arrays.copyOf(x, size - 1), c.seqLen(), y));
    assertMessage(IllegalArgumentException.class, "y is too short for shape [seqLen=" + (c.seqLen() + 1)
        + "][modelDim=" + c.modelDim() + "]: expected at least " + (size + c.modelDim()) + " elements, got "
        + size, () -> layer.forward(Arrays.copyOf(x, size + c.modelDim()), c.seqLen() + 1, y));
    assertArrayEquals(untouched, y);
  }

  @Test
  void cachesAreCheckedBeforeUse() {
    LayerCase c = small();
    MultiHeadAttention layer = c.weights().builder().build();
    MultiHeadAttention other = c.weights().builder().build();
    KvCache cache = layer.newCache(4);
    float[] x = c.input();
    float[] y = new float[c.modelDim()];
    assertMessage(IllegalArgumentException.class, "cache was made by another layer; use this layer's newCache",
        () -> other.forward(x, 1, cache, y));
    assertMessage(NullPointerException.class, "cache must not be null", () -> layer.forward(x, 1, null, y));
    assertMessage(IllegalArgumentException.class, "capacity must be at least 1, got 0",
        () -> layer.newCache(0));
    assertMessage(IllegalStateException.class, "a KV cache needs a causal layer: build it with causal(true)",
        () -> c.withCausal(false).weights().builder().build().newCache(4));
    layer.forward(x, 3, cache, new float[3 * c.modelDim()]);
    assertMessage(IllegalArgumentException.class, "length must be between 0 and the cached 3 tokens, got 4",
        () -> cache.truncate(4));
    int width = c.kvHeads() * c.headDim();
    assertMessage(IllegalStateException.class, "KV cache overflow: 3 tokens cached + 2 loaded > capacity 4",
        () -> cache.load(new float[2 * width], new float[2 * width], 2));
    assertMessage(IllegalArgumentException.class, "values is too short for shape [tokens=1][kvHeads="
            + c.kvHeads() + "][headDim=" + c.headDim() + "]: expected at least " + width + " elements, got "
            + (width - 1), () -> cache.load(new float[width], new float[width - 1], 1));
    assertEquals(3, cache.length());
    cache.truncate(1);
    assertEquals(1, cache.length());
    assertEquals(3, cache.remaining());
  }

  @Test
  void parallelismIsChecked() {
    assertMessage(IllegalArgumentException.class, "threads must be at least 1, got 0",
        () -> Parallelism.threads(0));
    assertMessage(NullPointerException.class, "executor must not be null", () -> Parallelism.using(null, 2));
    Parallelism two = Parallelism.threads(2);
    LayerCase c = small();
    MultiHeadAttention layer = c.weights().builder().parallelism(two).build();
    float[] y = new float[c.seqLen() * c.modelDim()];
    layer.forward(c.input(), c.seqLen(), y);
    two.close();
    two.close(); // idempotent
    float[] untouched = y.clone();
    assertMessage(IllegalStateException.class, "this Parallelism is closed",
        () -> layer.forward(c.input(), c.seqLen(), y));
    assertArrayEquals(untouched, y);
    AttentionSpec spec = AttentionSpec.of(1, 1, 1);
    float[] one = {1f};
    assertMessage(NullPointerException.class, "parallelism must not be null",
        () -> AttentionKernel.scalar().attend(spec, 1, 1, one, one, one, null, new float[1], null));
    Parallelism.single().close(); // the shared single-threaded instance stays usable
    AttentionKernel.scalar().attend(spec, 1, 1, one, one, one, null, new float[1], Parallelism.single());
  }

  /** The layer copies its weights: changing the arrays afterwards changes nothing. */
  @Test
  void weightsAreCopied() {
    LayerCase c = small();
    ReferenceLayer.Weights w = c.weights();
    MultiHeadAttention layer = w.builder().kernel(AttentionKernel.best()).build();
    float[] before = new float[c.seqLen() * c.modelDim()];
    layer.forward(c.input(), c.seqLen(), before);
    for (Parameter p : Parameter.values()) {
      Arrays.fill(p.of(w), 7f);
    }
    float[] after = new float[before.length];
    layer.forward(c.input(), c.seqLen(), after);
    assertArrayEquals(before, after);
  }

  /** y may be x: every read of x precedes the first write of y. */
  @Test
  void outputMayOverwriteInput() {
    LayerCase c = small();
    MultiHeadAttention layer = c.weights().builder().kernel(AttentionKernel.best()).build();
    float[] y = new float[c.seqLen() * c.modelDim()];
    layer.forward(c.input(), c.seqLen(), y);
    float[] x = c.input();
    layer.forward(x, c.seqLen(), x);
    assertArrayEquals(y, x);
  }

  /**
   * Layers share each thread's scratch: alternating layers of different sizes on one thread (a smaller one
   * after a larger one, and one with a cache in between) gives each layer's own outputs.
   */
  @Test
  void layersSharingAThreadDoNotDisturbEachOther() {
    LayerCase a = new LayerCase(48, 6, 2, 8, 37, true, true, 1.0, 1.0, 21);
    LayerCase b = small();
    MultiHeadAttention big = a.weights().builder().kernel(AttentionKernel.best()).build();
    MultiHeadAttention little = b.weights().builder().kernel(AttentionKernel.best()).build();
    float[] bigFirst = new float[a.seqLen() * a.modelDim()];
    big.forward(a.input(), a.seqLen(), bigFirst);
    float[] littleFirst = new float[b.seqLen() * b.modelDim()];
    little.forward(b.input(), b.seqLen(), littleFirst);
    KvCache cache = big.newCache(a.seqLen());
    big.forward(a.input(), a.seqLen(), cache, new float[bigFirst.length]);
    float[] bigAgain = new float[bigFirst.length];
    big.forward(a.input(), a.seqLen(), bigAgain);
    float[] littleAgain = new float[littleFirst.length];
    little.forward(b.input(), b.seqLen(), littleAgain);
    assertArrayEquals(bigFirst, bigAgain);
    assertArrayEquals(littleFirst, littleAgain);
  }

  /**
   * A layer that a thread has used can be garbage-collected once dropped: per-thread scratch must not refer
   * to it (a thread pool serving many models would otherwise keep every layer it ever ran).
   */
  @Test
  void aLayerUsedByAThreadCanBeCollected() throws InterruptedException {
    WeakReference<MultiHeadAttention> used = useAndDrop();
    for (int attempt = 0; attempt < 50 && used.get() != null; attempt++) {
      System.gc();
      Thread.sleep(20);
    }
    assertNull(used.get(), "the layer is still reachable after it was dropped");
  }

  private static WeakReference<MultiHeadAttention> useAndDrop() {
    LayerCase c = small();
    MultiHeadAttention layer = c.weights().builder().kernel(AttentionKernel.best()).build();
    layer.forward(c.input(), c.seqLen(), new float[c.seqLen() * c.modelDim()]);
    return new WeakReference<>(layer);
  }

  private static LayerCase small() {
    return new LayerCase(8, 4, 2, 2, 5, true, true, 1.0, 1.0, 11);
  }

  private static <T extends Throwable> void assertMessage(Class<T> type, String message, Runnable call) {
    T e = assertThrows(type, call::run);
    assertEquals(message, e.getMessage());
  }
}
