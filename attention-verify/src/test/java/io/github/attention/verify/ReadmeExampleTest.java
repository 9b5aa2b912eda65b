package io.github.attention.verify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.KvTensor;
import io.github.attention.kernel.LogSumExp;
import io.github.attention.kernel.Parallelism;
import io.github.attention.layer.AttentionTrace;
import io.github.attention.layer.KvCache;
import io.github.attention.layer.MultiHeadAttention;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The README's usage examples, kept compiling and correct. The code between the {@code README ... begin}
 * and {@code end} markers is meant to be pasted into the README verbatim (minus the indentation).
 */
class ReadmeExampleTest {

  /** The README's "Variants" snippet: a gpt-oss-like spec, and two halves of a cache merged by log-sum-exp. */
  @Test
  void variants() {
    SplittableRandom random = new SplittableRandom(12);
    int qLen = 1;
    int kvLen = 1000;
    float[] sinkLogits = new float[64];
    for (int h = 0; h < 64; h++) {
      sinkLogits[h] = (float) random.nextGaussian();
    }
    float[] q = new float[64 * 64];
    float[] k = new float[kvLen * 8 * 64];
    float[] v = new float[k.length];
    for (float[] a : new float[][] {q, k, v}) {
      for (int i = 0; i < a.length; i++) {
        a[i] = (float) random.nextGaussian();
      }
    }
    float[] out = new float[q.length];
    // ---- README example "variants": begin ----
    // gpt-oss-style local layer: 64 query heads over 8 KV heads of 64, a 128-token window, learned sinks.
    AttentionSpec spec = AttentionSpec.of(64, 8, 64).withCausal(true)
        .withSlidingWindow(128)
        .withSinks(sinkLogits);                     // one logit per query head
    AttentionKernel kernel = AttentionKernel.best();
    kernel.attend(spec, qLen, kvLen, q, k, v, null, out);

    // Gemma 2: AttentionSpec.of(8, 4, 256).withCausal(true).withSoftcap(50f)
    // BLOOM:   AttentionSpec.of(32, 32, 128).withCausal(true).withAlibiSlopes(AttentionSpec.alibiSlopes(32))
    // ---- README example "variants": end ----
    float[] expected = out.clone();
    float[] prefixK = java.util.Arrays.copyOfRange(k, 0, 500 * 8 * 64);
    float[] prefixV = java.util.Arrays.copyOfRange(v, 0, 500 * 8 * 64);
    float[] ownK = java.util.Arrays.copyOfRange(k, 500 * 8 * 64, k.length);
    float[] ownV = java.util.Arrays.copyOfRange(v, 500 * 8 * 64, v.length);
    // ---- README example "lse merge": begin ----
    // Prefix caching: a shared prompt's K/V (500 tokens) kept once for many sequences, and one sequence's
    // own 500 tokens in its own buffers. The prefix lies wholly in the query's past (not causal); the own
    // keys are causal. Plain attention does not depend on positions, so the two parts merge into the whole.
    AttentionSpec plain = AttentionSpec.of(64, 8, 64);
    float[] outPrefix = new float[q.length];
    float[] outOwn = new float[q.length];
    float[] lsePrefix = new float[qLen * 64];            // [qLen][queryHeads]
    float[] lseOwn = new float[qLen * 64];
    kernel.attend(plain, qLen, 500, q, prefixK, prefixV, null, outPrefix, lsePrefix, Parallelism.single());
    kernel.attend(plain.withCausal(true), qLen, 500, q, ownK, ownV, null, outOwn, lseOwn, Parallelism.single());
    float[] merged = new float[q.length];
    LogSumExp.merge(qLen * 64, 64, new float[][] {outPrefix, outOwn}, new float[][] {lsePrefix, lseOwn}, merged,
        null);
    // merged: attention over all 1000 tokens (within the error bound). With a window or ALiBi, which count
    // positions, pass every part the whole key range instead and mask out the others' keys.
    // ---- README example "lse merge": end ----
    Problem whole = new Problem(plain.withCausal(true), qLen, kvLen, q, k, v, null, 0, "readme lse merge");
    VariantTest.assertMergedWithinBound(whole,
        new Problem(plain, qLen, 500, q, prefixK, prefixV, null, 0, "prefix"),
        new Problem(plain.withCausal(true), qLen, 500, q, ownK, ownV, null, 0, "own keys"), merged);
    Problem windowed = new Problem(spec, qLen, kvLen, q, k, v, null, 0, "readme variants");
    Agreement.assertWithinBound("gpt-oss-like spec", windowed, expected, windowed.reference(), null);
  }

  /** The README's "K and V where the engine keeps them" snippets, then checked against the reference. */
  @Test
  void kvStorage() {
    SplittableRandom random = new SplittableRandom(11);
    // ---- README example "head-major bf16": begin ----
    // An engine's cache, ONNX Runtime style: head-major [kvHeads][maxLen][headDim], bf16, allocated once
    // for the maximal length; the first kvLen tokens are filled.
    AttentionSpec spec = AttentionSpec.of(32, 8, 128);
    int maxLen = 4096;
    short[] keyCache = new short[spec.kvHeads() * maxLen * spec.headDim()];
    short[] valueCache = new short[keyCache.length];
    KvTensor k = KvTensor.bf16(keyCache, maxLen, spec.kvHeads(), spec.headDim()).headMajor();
    KvTensor v = KvTensor.bf16(valueCache, maxLen, spec.kvHeads(), spec.headDim()).headMajor();
    // (make the views once; the engine writes new tokens into keyCache and valueCache as it goes)
    // ---- README example "head-major bf16": end ----
    int kvLen = 300;
    for (int i = 0; i < keyCache.length; i++) {
      keyCache[i] = Storage.bf16(Problems.symmetric(random, 1));
      valueCache[i] = Storage.bf16(Problems.symmetric(random, 1));
    }
    float[] q = new float[spec.queryHeads() * spec.headDim()];
    for (int x = 0; x < q.length; x++) {
      q[x] = Problems.symmetric(random, 1);
    }
    float[] out = new float[q.length];
    AttentionKernel kernel = AttentionKernel.best();
    // ---- README example "head-major bf16 call": begin ----
    kernel.attend(spec, 1, kvLen, q, k, v, null, out);  // one decoding step over the first kvLen tokens
    // ---- README example "head-major bf16 call": end ----
    int heads = spec.kvHeads();
    int dim = spec.headDim();
    assertMatchesReference(kernel, spec, kvLen, q, out, (t, h, d, cache) ->
        Float.intBitsToFloat((cache ? keyCache : valueCache)[(h * maxLen + t) * dim + d] << 16));

    // ---- README example "paged": begin ----
    // A vLLM-style paged cache: one pool of 16-token blocks [blocks·16][kvHeads][headDim], and per
    // sequence a block table: token t is token t % 16 of pool block table[t / 16].
    int blockTokens = 16;
    int poolBlocks = 1024;
    float[] keyPool = new float[poolBlocks * blockTokens * spec.kvHeads() * spec.headDim()];
    float[] valuePool = new float[keyPool.length];
    int[] table = {7, 3, 12, 0};  // this sequence's blocks: up to 64 tokens; grow it as the sequence grows
    KvTensor pagedK = KvTensor.paged(
        KvTensor.of(keyPool, poolBlocks * blockTokens, spec.kvHeads(), spec.headDim()), blockTokens, table);
    KvTensor pagedV = KvTensor.paged(
        KvTensor.of(valuePool, poolBlocks * blockTokens, spec.kvHeads(), spec.headDim()), blockTokens, table);
    kernel.attend(spec, 1, 50, q, pagedK, pagedV, null, out);  // 50 tokens: blocks 7, 3, 12, 0
    // ---- README example "paged": end ----
    for (int i = 0; i < 13 * blockTokens * spec.kvHeads() * spec.headDim(); i++) {
      keyPool[i] = Problems.symmetric(random, 1);
      valuePool[i] = Problems.symmetric(random, 1);
    }
    kernel.attend(spec, 1, 50, q, pagedK, pagedV, null, out);
    assertMatchesReference(kernel, spec, 50, q, out, (t, h, d, keys) ->
        (keys ? keyPool : valuePool)[((table[t / 16] * 16 + t % 16) * heads + h) * dim + d]);
  }

  /** Element (t, h, d) of the keys ({@code keys}) or values, read by the test's own index arithmetic. */
  @FunctionalInterface
  private interface Element {
    float at(int t, int h, int d, boolean keys);
  }

  private static void assertMatchesReference(AttentionKernel kernel, AttentionSpec spec, int kvLen, float[] q,
      float[] out, Element element) {
    float[] kf = new float[kvLen * spec.kvHeads() * spec.headDim()];
    float[] vf = new float[kf.length];
    for (int t = 0, x = 0; t < kvLen; t++) {
      for (int h = 0; h < spec.kvHeads(); h++) {
        for (int d = 0; d < spec.headDim(); d++, x++) {
          kf[x] = element.at(t, h, d, true);
          vf[x] = element.at(t, h, d, false);
        }
      }
    }
    Problem p = new Problem(spec, 1, kvLen, q, kf, vf, null, 0, "README storage example");
    Agreement.assertWithinBound(kernel.name(), p, out, p.reference(), null);
  }

  /** The README's "Using it" snippet, then the same calls on random data checked against the reference. */
  /** The README's "Tracing one token" snippet, on a small causal GQA layer. */
  @Test
  void tracingOneToken() {
    LayerCases.LayerCase c = new LayerCases.LayerCase(16, 4, 2, 4, 8, true, true, 1.0, 1.0, 9);
    MultiHeadAttention layer = c.weights().builder().build();
    float[] x = c.input();
    int seqLen = 8;
    // ---- README example "trace": begin ----
    AttentionTrace t = layer.trace(x, seqLen, 5);          // token 5 as the query
    AttentionTrace.QueryHead head0 = t.queryHeads().get(0);
    double[] weights = head0.weights();                      // [seqLen]: where head 0 looks from token 5
    int kvHead = head0.kvHead();                             // the K/V head it shares (GQA)
    double[] y5 = t.output();                                // [modelDim]: forward's row 5, to rounding
    // ---- README example "trace": end ----
    assertEquals(seqLen, weights.length);
    assertEquals(0, kvHead);
    assertEquals(0.0, weights[6]); // causal: after token 5
    float[] y = new float[seqLen * 16];
    layer.forward(x, seqLen, y);
    ReferenceLayer.Result ref = ReferenceLayer.forward(c.weights(), x, seqLen);
    for (int o = 0; o < 16; o++) {
      assertTrue(Math.abs(y5[o] - y[5 * 16 + o]) <= ref.tolerance(5 * 16 + o) + 1e-9 * ref.termMagnitude(5 * 16 + o));
    }
  }

  @Test
  void usingIt() {
    // ---- README example "Using it": begin ----
    // 8 query heads sharing 2 key/value heads (grouped-query attention), 64 wide, causal.
    AttentionSpec spec = AttentionSpec.of(8, 2, 64).withCausal(true);
    int qLen = 16;   // query tokens
    int kvLen = 16;  // key/value tokens
    float[] q = new float[qLen * spec.queryHeads() * spec.headDim()];  // [qLen][8][64]
    float[] k = new float[kvLen * spec.kvHeads() * spec.headDim()];    // [kvLen][2][64]
    float[] v = new float[kvLen * spec.kvHeads() * spec.headDim()];    // [kvLen][2][64]
    // ... fill q, k and v from the model's projections ...
    float[] out = new float[q.length];                                 // [qLen][8][64]

    AttentionKernel kernel = AttentionKernel.best();  // the Vector API kernel if usable, else scalar
    kernel.attend(spec, qLen, kvLen, q, k, v, null, out);

    // Decoding one token over a KV cache: one query row, the cache's filled prefix as keys and values.
    // (k and v may be longer than needed: only the first kvLen tokens are read.)
    float[] qNext = new float[spec.queryHeads() * spec.headDim()];
    float[] outNext = new float[qNext.length];
    kernel.attend(spec, 1, kvLen, qNext, k, v, null, outNext);
    // ---- README example "Using it": end ----

    // All zeros in, the mean of zero value rows out.
    assertArrayEquals(new float[out.length], out);
    assertArrayEquals(new float[outNext.length], outNext);

    // The same calls on random data, against the reference.
    SplittableRandom random = new SplittableRandom(2024);
    for (float[] array : new float[][] {q, k, v, qNext}) {
      for (int x = 0; x < array.length; x++) {
        array[x] = Problems.symmetric(random, 2);
      }
    }
    kernel.attend(spec, qLen, kvLen, q, k, v, null, out);
    kernel.attend(spec, 1, kvLen, qNext, k, v, null, outNext);
    Problem prefill = new Problem(spec, qLen, kvLen, q, k, v, null, 0, "README prefill");
    Problem decode = new Problem(spec, 1, kvLen, qNext, k, v, null, 0, "README decode");
    Agreement.assertWithinBound(kernel.name(), prefill, out, prefill.reference(), null);
    Agreement.assertWithinBound(kernel.name(), decode, outNext, decode.reference(), null);
  }

  /**
   * The README's layer example: build a layer from weight arrays, prefill a prompt, decode token by token
   * with a cache, on two threads; then the outputs against the reference layer.
   */
  @Test
  void decodeLoop() {
    LayerCases.LayerCase random = new LayerCases.LayerCase(64, 8, 2, 8, 12, true, false, 1.0, 1.0, 7);
    ReferenceLayer.Weights weights = random.weights();
    float[] wq = weights.wq();
    float[] wk = weights.wk();
    float[] wv = weights.wv();
    float[] wo = weights.wo();
    float[] tokens = random.input();
    int promptLength = 5;
    int generated = 7;
    float[] outputs = new float[(promptLength + generated) * 64];

    // ---- README example "decode loop": begin ----
    // d_model 64, 8 query heads sharing 2 key/value heads of width 8; weights in nn.Linear's [out][in].
    try (Parallelism threads = Parallelism.threads(2)) {  // the caller and one worker thread
      MultiHeadAttention layer = MultiHeadAttention.builder()
          .modelDim(64).queryHeads(8).kvHeads(2).headDim(8).causal(true)
          .queryWeights(wq)    // [8·8][64]
          .keyWeights(wk)      // [2·8][64]
          .valueWeights(wv)    // [2·8][64]
          .outputWeights(wo)   // [64][8·8]
          .kernel(AttentionKernel.best())
          .parallelism(threads)
          .build();

      KvCache cache = layer.newCache(512);  // room for 512 tokens of this sequence
      float[] x = new float[512 * 64];
      float[] y = new float[512 * 64];

      // Prefill: the whole prompt in one call.
      System.arraycopy(tokens, 0, x, 0, promptLength * 64);
      layer.forward(x, promptLength, cache, y);   // y[0 .. promptLength·64) holds the prompt's outputs
      System.arraycopy(y, 0, outputs, 0, promptLength * 64);

      // Decode: one token per call; each attends to everything cached so far.
      for (int t = promptLength; t < promptLength + generated; t++) {
        System.arraycopy(tokens, t * 64, x, 0, 64);  // in a model: the embedding of the token just chosen
        layer.forward(x, 1, cache, y);               // y[0 .. 64) is the new token's output
        System.arraycopy(y, 0, outputs, t * 64, 64);
      }
      cache.reset();  // ready for the next sequence
    }
    // ---- README example "decode loop": end ----

    ReferenceLayer.Result ref = ReferenceLayer.forward(weights, tokens, promptLength + generated);
    for (int i = 0; i < outputs.length; i++) {
      double error = Math.abs(outputs[i] - ref.y()[i]);
      if (!(error <= ref.tolerance(i))) {
        throw new AssertionError("README decode loop: y[" + i + "] = " + outputs[i] + ", reference "
            + ref.y()[i] + ", tolerance " + ref.tolerance(i));
      }
    }
  }

  /** A worked example small enough to check by hand. */
  @Test
  void smallWorkedExample() {
    // Two query heads sharing one key/value head, four dimensions per head; one query, two keys.
    AttentionSpec spec = AttentionSpec.of(2, 1, 4);
    float[] q = {1, 0, 0, 0,   0, 1, 0, 0}; // [1][2][4]
    float[] k = {1, 1, 0, 0,   1, 1, 0, 0}; // [2][1][4]: two identical keys
    float[] v = {1, 2, 3, 4,   3, 2, 1, 0}; // [2][1][4]
    float[] out = new float[8];
    AttentionKernel.best().attend(spec, 1, 2, q, k, v, null, out);
    // Both keys score the same, so each head gets the mean of the two value rows:
    // out = {2, 2, 2, 2,   2, 2, 2, 2}

    assertArrayEquals(new float[] {2, 2, 2, 2, 2, 2, 2, 2}, out);
    Problem problem = new Problem(spec, 1, 2, q, k, v, null, 0, "worked example");
    Agreement.assertWithinBound(AttentionKernel.best().name(), problem, out, problem.reference(), null);
  }
}
