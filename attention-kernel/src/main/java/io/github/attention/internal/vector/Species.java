package io.github.attention.internal.vector;

import java.lang.System.Logger.Level;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
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
  /** 16-bit lanes, as many as {@link #F} has: one load of bf16 or f16 widens to one float vector. */
  static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(L * Short.SIZE));
  /**
   * Byte lanes, at least as many as {@link #F} has (exactly as many from 256-bit floats up; 8 for 128-bit
   * floats, there being no 32-bit vectors): int8 rows are read {@code L} bytes at a time.
   */
  static final VectorSpecies<Byte> B =
      VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, L * Byte.SIZE)));

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
