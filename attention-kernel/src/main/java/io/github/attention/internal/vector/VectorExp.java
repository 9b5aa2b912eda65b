package io.github.attention.internal.vector;

import static io.github.attention.internal.vector.Species.F;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * e^x for x ≤ 0, as the softmax needs it, in lanes of {@link Species#F}: {@code -∞} and everything below
 * {@link #FLOOR} give 0, NaN stays NaN. x = n·ln2 + r with |r| ≤ ln2/2 (Cody and Waite's reduction), e^r by
 * its Taylor polynomial of degree 7 (truncation below 6e-9 relative), scaled by 2^n through the exponent
 * bits. Checked on every float in [-86, 0]: at most 0.94 ulp from the correctly rounded value
 * ({@code VectorExpTest} checks every 16th). About 10% more attention throughput here than
 * {@code lanewise(EXP)}, and the same bits before and after the JIT.
 */
final class VectorExp {

  private static final float LOG2_E = 1.44269504088896341f;
  /** 1.5·2^23: adding it rounds to an integer, which then sits in the low mantissa bits. */
  private static final float ROUNDER = 12582912f;
  /** ln 2 split so that {@code n·LN2_HIGH} is exact for |n| < 2^12 (Cody and Waite). */
  private static final float LN2_HIGH = 0.693145751953125f;
  private static final float LN2_LOW = 1.428606765330187045e-06f;
  /** Below this, e^x is flushed to 0 (e^-86 ≈ 4.5e-38): 2^n then stays a normal number. */
  static final float FLOOR = -86f;

  private VectorExp() {}

  static FloatVector exp(FloatVector x) {
    FloatVector rounded = x.fma(FloatVector.broadcast(F, LOG2_E), FloatVector.broadcast(F, ROUNDER));
    FloatVector n = rounded.sub(ROUNDER);
    FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HIGH), x);
    r = n.fma(FloatVector.broadcast(F, -LN2_LOW), r);
    FloatVector p = r.fma(FloatVector.broadcast(F, 1f / 5040), FloatVector.broadcast(F, 1f / 720));
    p = p.fma(r, FloatVector.broadcast(F, 1f / 120));
    p = p.fma(r, FloatVector.broadcast(F, 1f / 24));
    p = p.fma(r, FloatVector.broadcast(F, 1f / 6));
    p = p.fma(r, FloatVector.broadcast(F, 0.5f));
    p = p.fma(r, FloatVector.broadcast(F, 1f));
    p = p.fma(r, FloatVector.broadcast(F, 1f));
    // rounded's bits are 0x4B400000 + n; shifted left by 23 that leaves n in the exponent field.
    FloatVector e = p.reinterpretAsInts()
        .add(rounded.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23))
        .reinterpretAsFloats();
    // NaN must stay NaN: the exponent arithmetic above can turn some NaN payloads into numbers.
    return e.blend(0f, x.compare(VectorOperators.LT, FLOOR)).blend(x, x.test(VectorOperators.IS_NAN));
  }
}
