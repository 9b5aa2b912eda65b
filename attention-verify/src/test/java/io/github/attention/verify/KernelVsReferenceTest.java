package io.github.attention.verify;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.verify.Problems.Recipe;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * Each kernel agrees with {@link ReferenceAttention} within {@link ErrorBound#kernelVsReference} on every
 * output coordinate, over random shapes, masks and magnitudes ({@link Problems}); rows that see no key are
 * exactly zero, nothing past the output's shape is written, and input elements past their shape (NaN) are
 * never read.
 */
class KernelVsReferenceTest {

  private static final ErrorStats STATS = new ErrorStats("kernel vs reference");

  @Provide
  Arbitrary<Recipe> problems() {
    return Problems.recipes();
  }

  @Property
  @Tag("species")
  void vectorMatchesReference(@ForAll("problems") Recipe recipe) {
    Agreement.assertMatchesReference(AttentionKernel.vector(), recipe.build(), STATS);
  }

  @Property
  void scalarMatchesReference(@ForAll("problems") Recipe recipe) {
    Agreement.assertMatchesReference(AttentionKernel.scalar(), recipe.build(), STATS);
  }

  @AfterContainer
  static void report() {
    STATS.printAndReset();
  }
}
