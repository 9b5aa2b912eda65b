package io.github.attention.verify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.Parallelism;
import io.github.attention.verify.Problems.Content;
import io.github.attention.verify.Problems.MaskKind;
import io.github.attention.verify.Problems.Recipe;
import io.github.attention.verify.Problems.Shape;
import io.github.attention.verify.Problems.ValueKind;
import org.junit.jupiter.api.Test;

/**
 * Calls that split their keys into chunks (at most 4 query rows, more than 256 keys) beyond what the random
 * problems reach: many chunks, chunks longer than 256 keys (kvLen above 16384), masks that remove whole
 * chunks; against the reference and bit for bit on several threads. And non-finite scores come out the same
 * whether a call splits or not.
 */
class SplitKeysTest {

  private static final ErrorStats STATS = new ErrorStats("split key ranges vs reference");

  @Test
  void longAndMaskedRangesMatchTheReferenceOnAnyThreadCount() {
    Recipe[] recipes = {
        recipe(new Shape(4, 1, 32, 1, 20_000, true, AttentionSpec.defaultScale(32)), MaskKind.NONE, 1),
        recipe(new Shape(8, 2, 16, 4, 3_000, true, AttentionSpec.defaultScale(16)), MaskKind.NEG_INF, 2),
        recipe(new Shape(2, 2, 64, 3, 1_000, false, 0.1f), MaskKind.MASKED_ROWS, 3),
        recipe(new Shape(6, 3, 8, 2, 70_000, false, 1f), MaskKind.NONE, 4),
    };
    try (Parallelism two = Parallelism.threads(2); Parallelism three = Parallelism.threads(3)) {
      for (Recipe recipe : recipes) {
        Problem p = recipe.build();
        ReferenceAttention.Result ref = p.reference();
        for (AttentionKernel kernel : new AttentionKernel[] {AttentionKernel.scalar(), AttentionKernel.vector()}) {
          float[] single = p.run(kernel);
          Agreement.assertWithinBound(kernel.name(), p, single, ref, STATS);
          for (Parallelism threads : new Parallelism[] {two, three}) {
            float[] out = p.newOut();
            kernel.attend(p.spec(), p.qLen(), p.kvLen(), p.q(), p.k(), p.v(), p.mask(), out, threads);
            assertArrayEquals(single, out, kernel.name() + " on " + threads + ": " + p);
          }
        }
      }
    }
    STATS.printAndReset();
  }

  /** A NaN key gives its row zeros (a NaN sum of weights) with 256 keys, unsplit, and with 257, split. */
  @Test
  void aNaNScoreGivesTheSameRowSplitOrNot() {
    AttentionSpec spec = AttentionSpec.of(1, 1, 4);
    for (int kvLen : new int[] {256, 257, 600}) {
      float[] q = {1, 1, 1, 1};
      float[] k = new float[kvLen * 4];
      float[] v = new float[kvLen * 4];
      java.util.Arrays.fill(v, 1f);
      k[5] = Float.NaN;
      for (AttentionKernel kernel : new AttentionKernel[] {AttentionKernel.scalar(), AttentionKernel.vector()}) {
        float[] out = new float[4];
        kernel.attend(spec, 1, kvLen, q, k, v, null, out);
        assertArrayEquals(new float[4], out, kernel.name() + ", kvLen " + kvLen);
      }
    }
  }

  private static Recipe recipe(Shape shape, MaskKind mask, long seed) {
    return new Recipe(shape, new Content(mask, 1f, 0.3, 1.0, ValueKind.SYMMETRIC, 1.0, 3, seed));
  }
}
