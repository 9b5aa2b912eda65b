package io.github.attention.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.Parallelism;
import io.github.attention.layer.MultiHeadAttention;
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

  /** The layer's default kernel is best(): here the scalar one, with plain-Java projections, on 2 threads. */
  @Test
  void theLayerRunsOnTheScalarBackend() {
    LayerCases.LayerCase c = new LayerCases.LayerCase(24, 4, 2, 6, 9, true, true, 1.0, 1.0, 3);
    ReferenceLayer.Weights w = c.weights();
    try (Parallelism threads = Parallelism.threads(2)) {
      MultiHeadAttention layer = w.builder().parallelism(threads).build();
      assertEquals("scalar", layer.kernel().name());
      float[] x = c.input();
      float[] y = new float[x.length];
      layer.forward(x, c.seqLen(), layer.newCache(c.seqLen()), y);
      ReferenceLayer.Result ref = ReferenceLayer.forward(w, x, c.seqLen());
      for (int i = 0; i < y.length; i++) {
        assertTrue(Math.abs(y[i] - ref.y()[i]) <= ref.tolerance(i), "y[" + i + "]");
      }
    }
  }
}
