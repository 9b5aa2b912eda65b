package io.github.attention.internal.vector;

import jdk.incubator.vector.FloatVector;

/**
 * How many vector registers the JIT can use, as far as the tiles' sizes care: x86 without AVX-512 (AVX2, or
 * AVX-512 hardware run with {@code -XX:UseAVX=2}) has 16; AVX-512 x86 and ARM (NEON, SVE) have 32. The
 * largest float vector the JVM supports tells them apart on x86. The system property {@value #PROPERTY}
 * ({@code few} or {@code many}) overrides the guess, so tests cover both tile sets on any machine.
 */
final class Registers {

  /** System property forcing the tile set: {@code few} (16 registers) or {@code many} (32). */
  static final String PROPERTY = "attention.vector.registers";

  /** True where the tiles must fit 16 vector registers. */
  static final boolean FEW = few();

  private Registers() {}

  private static boolean few() {
    String forced = System.getProperty(PROPERTY);
    if ("few".equals(forced)) {
      return true;
    }
    if ("many".equals(forced)) {
      return false;
    }
    String arch = System.getProperty("os.arch", "");
    boolean x86 = arch.equals("amd64") || arch.equals("x86_64") || arch.equals("x86") || arch.equals("i386");
    return x86 && FloatVector.SPECIES_MAX.vectorBitSize() < 512;
  }
}
