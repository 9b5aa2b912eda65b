package io.github.attention.internal.vector;

import static io.github.attention.internal.vector.Species.F;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * tanh in lanes of {@link Species#F}, for logit soft-capping. For {@code |y| < 1/4} the odd Taylor
 * polynomial to degree 9 (the next term is below {@code 2^-26·|y|}); above, {@code (1 − e)/(1 + e)} with
 * {@code e = e^(−2|y|)} from {@link VectorExp} (flushed to 0 beyond {@code |y| = 43}, where tanh rounds to
 * 1 anyway); the sign is copied from {@code y}, NaN stays NaN. Measured against {@code StrictMath.tanh} on
 * every float in [0, 10] (tanh is odd and rounds to 1 above): at most 2.99 ulp (see {@code VectorTanhTest},
 * which checks every 16th); the same bits before and after the JIT.
 */
final class VectorTanh {

  private static final float SMALL = 0.25f;
  private static final float C3 = -1f / 3;
  private static final float C5 = 2f / 15;
  private static final float C7 = -17f / 315;
  private static final float C9 = 62f / 2835;

  private VectorTanh() {}

  static FloatVector tanh(FloatVector y) {
    FloatVector a = y.lanewise(VectorOperators.ABS);
    FloatVector e = VectorExp.exp(a.mul(-2f));
    FloatVector large = FloatVector.broadcast(F, 1f).sub(e).div(e.add(1f));
    FloatVector a2 = a.mul(a);
    FloatVector p = a2.fma(FloatVector.broadcast(F, C9), FloatVector.broadcast(F, C7));
    p = p.fma(a2, FloatVector.broadcast(F, C5));
    p = p.fma(a2, FloatVector.broadcast(F, C3));
    FloatVector small = a.mul(a2).fma(p, a);
    FloatVector t = large.blend(small, a.compare(VectorOperators.LT, SMALL));
    // |t| with y's sign bit (NaN keeps its bits: both branches give NaN for a NaN input).
    return t.reinterpretAsInts().or(y.reinterpretAsInts().and(0x80000000)).reinterpretAsFloats();
  }
}
