package io.github.attention.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.kernel.AttentionKernel;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Backend selection in a JVM started with {@code --add-modules jdk.incubator.vector}. Tagged
 * {@code species} so it also runs where {@code -Dattention.vector.bits} forces the 256- or the 128-bit
 * species.
 */
@Tag("species")
class KernelSelectionTest {

  /** best() picks SIMD at every width this machine can force, 128 bits (ARM NEON's) included. */
  @Test
  void bestIsTheVectorKernel() {
    AttentionKernel best = AttentionKernel.best();
    assertTrue(best.name().startsWith("vector-"), "best() is " + best.name());
    assertEquals(AttentionKernel.vector().name(), best.name());
  }

  @Test
  void vectorUsesTheForcedWidth() {
    String bits = System.getProperty("attention.vector.bits");
    String name = AttentionKernel.vector().name();
    // A width above the machine's (256 forced on 128-bit NEON) is ignored: the preferred one, at most 512.
    int preferred = Math.min(512, jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize());
    if (bits != null) {
      assertEquals("vector-" + Math.min(Integer.parseInt(bits.trim()), preferred), name);
    } else {
      assertTrue(name.matches("vector-(128|256|512)"), name);
    }
  }

  @Test
  void scalarIsNamedScalar() {
    assertEquals("scalar", AttentionKernel.scalar().name());
  }
}
