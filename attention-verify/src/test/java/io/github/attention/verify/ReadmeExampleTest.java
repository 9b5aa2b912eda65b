package io.github.attention.verify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
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

  /** A worked example small enough to check by hand. */
  @Test
  void smallWorkedExample() {
    // ---- README example "worked by hand": begin ----
    // Two query heads sharing one key/value head, four dimensions per head; one query, two keys.
    AttentionSpec spec = AttentionSpec.of(2, 1, 4);
    float[] q = {1, 0, 0, 0,   0, 1, 0, 0}; // [1][2][4]
    float[] k = {1, 1, 0, 0,   1, 1, 0, 0}; // [2][1][4]: two identical keys
    float[] v = {1, 2, 3, 4,   3, 2, 1, 0}; // [2][1][4]
    float[] out = new float[8];
    AttentionKernel.best().attend(spec, 1, 2, q, k, v, null, out);
    // Both keys score the same, so each head gets the mean of the two value rows:
    // out = {2, 2, 2, 2,   2, 2, 2, 2}
    // ---- README example "worked by hand": end ----

    assertArrayEquals(new float[] {2, 2, 2, 2, 2, 2, 2, 2}, out);
    Problem problem = new Problem(spec, 1, 2, q, k, v, null, 0, "worked example");
    Agreement.assertWithinBound(AttentionKernel.best().name(), problem, out, problem.reference(), null);
  }
}
