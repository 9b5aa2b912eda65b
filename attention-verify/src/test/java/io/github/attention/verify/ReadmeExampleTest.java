package io.github.attention.verify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.Parallelism;
import io.github.attention.layer.KvCache;
import io.github.attention.layer.MultiHeadAttention;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The README's usage examples, kept compiling and correct. The code between the {@code README ... begin}
 * and {@code end} markers is meant to be pasted into the README verbatim (minus the indentation).
 */
class ReadmeExampleTest {

  /** The README's "Using it" snippet, then the same calls on random data checked against the reference. */
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
