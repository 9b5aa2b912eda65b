package io.github.attention.internal.vector;

import java.lang.System.Logger.Level;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The one species every class of this backend uses, chosen once: the preferred one of this machine (capped
 * at 512 bits, so that a key block holds whole strips of 4 vectors), or a narrower one forced with the system
 * property {@value #BITS_PROPERTY}, so that tests cover each width. Kept in {@code static final} fields:
 * a species passed as a parameter to a method the JIT does not inline boxes every vector.
 */
final class Species {

  /** System property forcing a narrower species: 128, 256 or 512 (bits). */
  static final String BITS_PROPERTY = "attention.vector.bits";

  static final VectorSpecies<Float> F = choose();
  static final VectorSpecies<Integer> I = F.withLanes(int.class);
  /** Floats per vector. */
  static final int L = F.length();

  private Species() {}

  private static VectorSpecies<Float> choose() {
    VectorSpecies<Float> preferred = FloatVector.SPECIES_PREFERRED;
    if (preferred.vectorBitSize() > 512) {
      preferred = FloatVector.SPECIES_512;
    }
    String forced = System.getProperty(BITS_PROPERTY);
    if (forced == null) {
      return preferred;
    }
    VectorSpecies<Float> species = switch (forced.trim()) {
      case "128" -> FloatVector.SPECIES_128;
      case "256" -> FloatVector.SPECIES_256;
      case "512" -> FloatVector.SPECIES_512;
      default -> null;
    };
    if (species == null || species.vectorBitSize() > preferred.vectorBitSize()) {
      System.getLogger("io.github.attention.kernel").log(Level.WARNING,
          "ignoring -D" + BITS_PROPERTY + "=" + forced + ": expected 128, 256 or 512, at most the preferred "
              + preferred.vectorBitSize() + " bits");
      return preferred;
    }
    return species;
  }
}
