package io.github.attention.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.verify.Problems.Content;
import io.github.attention.verify.Problems.MaskKind;
import io.github.attention.verify.Problems.Recipe;
import io.github.attention.verify.Problems.Shape;
import io.github.attention.verify.Problems.ValueKind;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A JVM started without {@code --add-modules jdk.incubator.vector} (surefire execution
 * {@code without-vector-module}, the only one that runs the {@code fallback} tag) still works, on the
 * scalar kernel. Nothing here may link a Vector API class.
 */
@Tag("fallback")
class FallbackTest {

  @Test
  void runsWithoutTheVectorModule() {
    assertTrue(ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty(),
        "the fallback tests must run in a JVM without --add-modules jdk.incubator.vector");
  }

  @Test
  void bestIsTheScalarKernel() {
    assertEquals("scalar", AttentionKernel.best().name());
  }

  @Test
  void vectorExplainsWhatIsMissing() {
    UnsupportedOperationException e =
        assertThrows(UnsupportedOperationException.class, AttentionKernel::vector);
    assertTrue(e.getMessage().contains("--add-modules"), e.getMessage());
  }

  @Test
  void bestComputesAttention() {
    ErrorStats stats = new ErrorStats("fallback best() vs reference");
    Recipe[] recipes = {
        new Recipe(new Shape(4, 2, 16, 3, 70, true, 0.25f),
            new Content(MaskKind.MASKED_ROWS, 1f, 0.3, 1.0, ValueKind.SYMMETRIC, 1.0, 2, 1)),
        new Recipe(new Shape(1, 1, 7, 9, 4, false, 1f),
            new Content(MaskKind.FINITE, 30f, 0, 10.0, ValueKind.SPREAD, 1e5, 0, 2)),
    };
    for (Recipe recipe : recipes) {
      Agreement.assertMatchesReference(AttentionKernel.best(), recipe.build(), stats);
    }
    stats.printAndReset();
  }
}
