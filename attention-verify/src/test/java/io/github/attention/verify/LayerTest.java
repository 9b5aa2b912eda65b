package io.github.attention.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.Parallelism;
import io.github.attention.layer.KvCache;
import io.github.attention.layer.MultiHeadAttention;
import io.github.attention.verify.LayerCases.LayerCase;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * The whole layer against {@link ReferenceLayer}, on random dimensions, weights and inputs
 * ({@link LayerCases}), for both backends: a whole sequence; multi-query attention against multi-head
 * attention with repeated K/V weights; prefill then decoding with a {@link KvCache} against one causal
 * forward; decoding over long loaded caches (split key ranges); bitwise equality for 1 to 4 threads; and
 * a cache that overflows stays usable.
 */
class LayerTest {

  private static final ErrorStats STATS =
      new ErrorStats("layer vs reference, |error| vs the output's Σ|terms| (\"A\")");
  private static final AtomicLong MQA_COMPARISONS = new AtomicLong();
  private static final AtomicLong MQA_IDENTICAL = new AtomicLong();
  private static final ExecutorService POOL = Executors.newFixedThreadPool(3, runnable -> {
    Thread thread = new Thread(runnable, "layer-test-pool");
    thread.setDaemon(true);
    return thread;
  });
  /** One, two, three and four threads: owned workers, and a user's executor. */
  private static final Parallelism[] THREADS = {Parallelism.single(), Parallelism.threads(2),
      Parallelism.threads(3), Parallelism.using(POOL, 4)};

  @Provide
  Arbitrary<LayerCase> cases() {
    return LayerCases.cases();
  }

  @Provide
  Arbitrary<LayerCase> causalCases() {
    return LayerCases.cases().map(c -> c.withCausal(true));
  }

  @Property
  @Tag("species")
  void vectorLayerMatchesReference(@ForAll("cases") LayerCase c) {
    assertLayerMatchesReference(AttentionKernel.vector(), c);
  }

  @Property
  void scalarLayerMatchesReference(@ForAll("cases") LayerCase c) {
    assertLayerMatchesReference(AttentionKernel.scalar(), c);
  }

  /** kvHeads = 1 against kvHeads = queryHeads with Wk, Wv (and biases) repeated per head: same exact layer. */
  @Property
  void multiQueryMatchesMultiHeadWithRepeatedKeyValueWeights(@ForAll("cases") LayerCase c,
      @ForAll boolean vector) {
    AttentionKernel kernel = kernel(vector);
    LayerCase single = new LayerCase(c.modelDim(), c.queryHeads(), 1, c.headDim(), c.seqLen(), c.causal(),
        c.biases(), c.weightScale(), c.inputScale(), c.seed());
    ReferenceLayer.Weights mqa = single.weights();
    ReferenceLayer.Weights mha = new ReferenceLayer.Weights(mqa.modelDim(), mqa.queryHeads(),
        mqa.queryHeads(), mqa.headDim(), mqa.causal(), mqa.wq(), repeat(mqa.wk(), mqa),
        repeat(mqa.wv(), mqa), mqa.wo(), mqa.bq(), repeat(mqa.bk(), mqa), repeat(mqa.bv(), mqa), mqa.bo());
    float[] x = single.input();
    float[] a = forward(mqa.builder().kernel(kernel).build(), x, c.seqLen());
    float[] b = forward(mha.builder().kernel(kernel).build(), x, c.seqLen());
    ReferenceLayer.Result refA = ReferenceLayer.forward(mqa, x, c.seqLen());
    ReferenceLayer.Result refB = ReferenceLayer.forward(mha, x, c.seqLen());
    for (int i = 0; i < c.seqLen() * c.modelDim(); i++) {
      double bound = refA.tolerance(i) + refB.tolerance(i);
      if (!(Math.abs(a[i] - b[i]) <= bound)) {
        throw new AssertionError(String.format("%s: multi-query y[%d] = %s, multi-head %s, |difference| %.3e"
            + " > %.3e; %s", kernel.name(), i, a[i], b[i], Math.abs(a[i] - b[i]), bound, single));
      }
    }
    MQA_COMPARISONS.incrementAndGet();
    if (Agreement.firstDifference(a, b, a.length) < 0) {
      MQA_IDENTICAL.incrementAndGet();
    }
  }

  /**
   * A prompt of {@code split} tokens, then the rest in steps of 1 to 3 tokens through a {@link KvCache} of
   * exactly {@code seqLen} tokens: every output matches the causal reference over the whole sequence.
   */
  @Property
  void prefillThenDecodeMatchesOneCausalForward(@ForAll("causalCases") LayerCase c, @ForAll boolean vector,
      @ForAll long splitSeed) {
    AttentionKernel kernel = kernel(vector);
    ReferenceLayer.Weights w = c.weights();
    MultiHeadAttention layer = w.builder().kernel(kernel).build();
    float[] x = c.input();
    float[] y = decodeInSteps(layer, x, c.seqLen(), new SplittableRandom(splitSeed));
    assertWithin(kernel.name() + " prefill+decode", y, ReferenceLayer.forward(w, x, c.seqLen()), c);
  }

  /**
   * A layer with a sliding window of 1 to 40 tokens, prompt then steps through a {@link KvCache}: every
   * output matches the causal reference in which each token sees only its window.
   */
  @Property
  void windowedPrefillThenDecodeMatchesTheWindowedReference(@ForAll("causalCases") LayerCase c,
      @ForAll boolean vector, @ForAll long splitSeed, @ForAll @IntRange(min = 1, max = 40) int window) {
    AttentionKernel kernel = kernel(vector);
    ReferenceLayer.Weights w = c.weights();
    MultiHeadAttention layer = w.builder().slidingWindow(window).kernel(kernel).build();
    assertEquals(window, layer.spec().slidingWindow());
    float[] x = c.input();
    float[] y = decodeInSteps(layer, x, c.seqLen(), new SplittableRandom(splitSeed));
    assertWithin(kernel.name() + " windowed prefill+decode", y,
        ReferenceLayer.forward(w, window, null, null, 0, x, c.seqLen()), c);
  }

  /**
   * Decoding 1 to 6 tokens over a cache loaded with up to 3000 tokens of keys and values: calls of at most
   * 4 tokens over more than 256 keys split the keys into chunks merged afterwards. Matches the reference,
   * and gives the same bits on 1 to 4 threads.
   */
  @Property
  void decodeOverALongCacheMatchesReferenceOnAnyThreadCount(@ForAll("longCaches") LongCache c,
      @ForAll boolean vector) {
    AttentionKernel kernel = kernel(vector);
    ReferenceLayer.Weights w = c.layer().weights();
    float[] x = c.layer().input();
    int newTokens = c.layer().seqLen();
    float[] first = null;
    for (Parallelism threads : THREADS) {
      MultiHeadAttention layer = w.builder().kernel(kernel).parallelism(threads).build();
      KvCache cache = layer.newCache(c.cached() + newTokens);
      cache.load(c.keys(), c.values(), c.cached());
      float[] y = new float[newTokens * w.modelDim()];
      layer.forward(x, newTokens, cache, y);
      if (first == null) {
        first = y;
        assertWithin(kernel.name() + " decode over " + c.cached() + " cached tokens", y,
            ReferenceLayer.forward(w, c.keys(), c.values(), c.cached(), x, newTokens), c.layer());
      } else {
        assertSameBits(kernel.name() + " decode, " + threads, first, y, c.layer());
      }
    }
  }

  /** A whole forward and a prefill-then-decode give the same bits on 1, 2, 3 and 4 threads. */
  @Property
  void threadCountDoesNotChangeABit(@ForAll("causalCases") LayerCase c, @ForAll boolean vector,
      @ForAll long splitSeed) {
    AttentionKernel kernel = kernel(vector);
    ReferenceLayer.Weights w = c.weights();
    float[] x = c.input();
    float[] whole = null;
    float[] decoded = null;
    for (Parallelism threads : THREADS) {
      MultiHeadAttention layer = w.builder().kernel(kernel).parallelism(threads).build();
      float[] y = forward(layer, x, c.seqLen());
      float[] z = decodeInSteps(layer, x, c.seqLen(), new SplittableRandom(splitSeed));
      if (whole == null) {
        whole = y;
        decoded = z;
      } else {
        assertSameBits(kernel.name() + " forward, " + threads, whole, y, c);
        assertSameBits(kernel.name() + " prefill+decode, " + threads, decoded, z, c);
      }
    }
  }

  /**
   * A call that would overflow the cache throws before changing anything (the cache's length, y); the
   * cache then takes the tokens that fit, and after reset() a whole new sequence, both correctly.
   */
  @Property
  void cacheOverflowIsRejectedAndTheCacheStaysUsable(@ForAll("causalCases") LayerCase c,
      @ForAll boolean vector, @ForAll long splitSeed) {
    AttentionKernel kernel = kernel(vector);
    ReferenceLayer.Weights w = c.weights();
    MultiHeadAttention layer = w.builder().kernel(kernel).build();
    int d = c.modelDim();
    int n = c.seqLen();
    float[] x = c.input();
    int prompt = 1 + (int) Math.floorMod(splitSeed, (long) n);
    KvCache cache = layer.newCache(n);
    float[] y = new float[n * d];
    layer.forward(x, prompt, cache, y);
    float[] tooMany = new float[(n - prompt + 1) * d];
    float[] untouched = new float[tooMany.length];
    Arrays.fill(untouched, Problem.OUT_SENTINEL);
    float[] out = untouched.clone();
    try {
      layer.forward(tooMany, n - prompt + 1, cache, out);
      throw new AssertionError("overflow not rejected: " + cache + "; " + c);
    } catch (IllegalStateException expected) {
      if (!expected.getMessage().contains("capacity " + n)) {
        throw new AssertionError("unclear message: " + expected.getMessage());
      }
    }
    if (cache.length() != prompt || !Arrays.equals(out, untouched)) {
      throw new AssertionError("the rejected call changed the cache or y: " + cache + "; " + c);
    }
    if (prompt < n) {
      float[] rest = Arrays.copyOfRange(x, prompt * d, n * d);
      float[] yRest = new float[rest.length];
      layer.forward(rest, n - prompt, cache, yRest);
      System.arraycopy(yRest, 0, y, prompt * d, yRest.length);
    }
    ReferenceLayer.Result ref = ReferenceLayer.forward(w, x, n);
    assertWithin(kernel.name() + " after a rejected overflow", y, ref, c);
    cache.reset();
    float[] again = new float[n * d];
    layer.forward(x, n, cache, again);
    assertWithin(kernel.name() + " after reset()", again, ref, c);
  }

  @AfterContainer
  static void report() {
    STATS.printAndReset();
    System.out.printf("[layer] multi-query vs repeated K/V heads: bit-identical in %d of %d layers%n",
        MQA_IDENTICAL.getAndSet(0), MQA_COMPARISONS.getAndSet(0));
  }

  /** A small layer (its seqLen is the number of new tokens, 1 to 6) and a cache of random keys and values. */
  record LongCache(LayerCase layer, int cached, float[] keys, float[] values) {

    @Override
    public String toString() {
      return "LongCache[" + layer + ", cached=" + cached + "]";
    }
  }

  @Provide
  Arbitrary<LongCache> longCaches() {
    Arbitrary<Integer> heads = Arbitraries.of(1, 2, 4);
    return Combinators.combine(Arbitraries.integers().between(1, 64), heads,
            Arbitraries.integers().between(1, 32), Arbitraries.integers().between(1, 6),
            Arbitraries.integers().between(200, 3000), Arbitraries.of(0.1, 1.0, 3.0), Arbitraries.longs())
        .flatAs((modelDim, queryHeads, headDim, newTokens, cached, scale, seed) ->
            Arbitraries.of(Problems.divisors(queryHeads)).map(kvHeads -> {
              LayerCase layer = new LayerCase(modelDim, queryHeads, kvHeads, headDim, newTokens, true, true,
                  scale, 1.0, seed);
              SplittableRandom random = new SplittableRandom(seed ^ 0x5DEECE66DL);
              int size = cached * kvHeads * headDim;
              float[] keys = new float[size];
              float[] values = new float[size];
              for (int i = 0; i < size; i++) {
                keys[i] = Problems.symmetric(random, scale);
                values[i] = Problems.symmetric(random, 1.0);
              }
              return new LongCache(layer, cached, keys, values);
            }))
        .withoutEdgeCases();
  }

  private static void assertLayerMatchesReference(AttentionKernel kernel, LayerCase c) {
    ReferenceLayer.Weights w = c.weights();
    MultiHeadAttention layer = w.builder().kernel(kernel).build();
    float[] x = c.input();
    float[] xBefore = x.clone();
    int size = c.seqLen() * c.modelDim();
    float[] y = new float[size + 3];
    Arrays.fill(y, Problem.OUT_SENTINEL);
    layer.forward(x, c.seqLen(), y);
    assertWithin(kernel.name(), y, ReferenceLayer.forward(w, x, c.seqLen()), c);
    for (int i = size; i < y.length; i++) {
      if (y[i] != Problem.OUT_SENTINEL) {
        throw new AssertionError(kernel.name() + ": y written past its shape at " + i + "; " + c);
      }
    }
    if (!Arrays.equals(x, xBefore)) {
      throw new AssertionError(kernel.name() + ": x was modified; " + c);
    }
  }

  /** Runs the prompt and then the remaining tokens in random steps of 1 to 3 through a fresh cache. */
  static float[] decodeInSteps(MultiHeadAttention layer, float[] x, int seqLen,
      SplittableRandom random) {
    int d = layer.modelDim();
    float[] y = new float[seqLen * d];
    KvCache cache = layer.newCache(seqLen);
    int done = 1 + random.nextInt(seqLen);
    layer.forward(x, done, cache, y);
    while (done < seqLen) {
      int step = Math.min(seqLen - done, 1 + random.nextInt(3));
      float[] part = new float[step * d];
      layer.forward(Arrays.copyOfRange(x, done * d, (done + step) * d), step, cache, part);
      System.arraycopy(part, 0, y, done * d, part.length);
      done += step;
    }
    return y;
  }

  private static float[] forward(MultiHeadAttention layer, float[] x, int seqLen) {
    float[] y = new float[seqLen * layer.modelDim()];
    layer.forward(x, seqLen, y);
    return y;
  }

  private static void assertWithin(String what, float[] y, ReferenceLayer.Result ref, LayerCase c) {
    int d = c.modelDim();
    for (int t = 0; t * d < ref.y().length; t++) {
      for (int o = 0; o < d; o++) {
        int i = t * d + o;
        double error = Math.abs(y[i] - ref.y()[i]);
        if (!(error <= ref.tolerance(i))) {
          throw new AssertionError(String.format("%s: y[token %d][%d] = %s, reference %s, |error| %.3e >"
              + " tolerance %.3e; %s", what, t, o, y[i], ref.y()[i], error, ref.tolerance(i), c));
        }
        STATS.record(what.substring(0, what.indexOf(' ') < 0 ? what.length() : what.indexOf(' ')), error,
            ref.termMagnitude(i), ref.tolerance(i), ref.scoreUncertainty(t));
      }
    }
  }

  private static void assertSameBits(String what, float[] expected, float[] actual, LayerCase c) {
    for (int i = 0; i < expected.length; i++) {
      if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
        throw new AssertionError(String.format("%s: y[%d] = %s (bits %08x), one thread gave %s (bits %08x); %s",
            what, i, actual[i], Float.floatToRawIntBits(actual[i]), expected[i],
            Float.floatToRawIntBits(expected[i]), c));
      }
    }
  }

  /** Rows of each head's weights (or bias) repeated for every query head of the single K/V head. */
  private static float[] repeat(float[] single, ReferenceLayer.Weights w) {
    if (single == null) {
      return null;
    }
    float[] repeated = new float[single.length * w.queryHeads()];
    for (int h = 0; h < w.queryHeads(); h++) {
      System.arraycopy(single, 0, repeated, h * single.length, single.length);
    }
    return repeated;
  }

  private static AttentionKernel kernel(boolean vector) {
    return vector ? AttentionKernel.vector() : AttentionKernel.scalar();
  }
}
