package io.github.attention.internal.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

/**
 * The vector kernel's exponential against {@link Math#exp} in double: the error bound of attention-verify
 * assumes every exponential within 2 ulp, and softmax needs exact zeros for {@code -∞}.
 */
class VectorExpTest {

  /** The species {@link VectorExp#exp} computes in: the backend's own, forced or not. */
  private static final VectorSpecies<Float> F = Species.F;

  @Test
  void withinOneUlpOnEverySixteenthFloatDownToTheFlushFloor() {
    int lanes = F.length();
    float[] x = new float[lanes];
    float[] y = new float[lanes];
    int first = Float.floatToRawIntBits(-0f);
    int last = Float.floatToRawIntBits(-86f);
    double worst = 0;
    float worstAt = 0;
    for (int bits = first; bits <= last; bits += 16 * lanes) {
      for (int i = 0; i < lanes; i++) {
        x[i] = Float.intBitsToFloat(Math.min(bits + 16 * i, last));
      }
      VectorExp.exp(FloatVector.fromArray(F, x, 0)).intoArray(y, 0);
      for (int i = 0; i < lanes; i++) {
        double exact = Math.exp(x[i]);
        double ulps = Math.abs(y[i] - exact) / Math.ulp((float) exact);
        if (ulps > worst) {
          worst = ulps;
          worstAt = x[i];
        }
      }
    }
    // An exhaustive run over all 1.1e9 floats in [-86, 0] measured at most 0.937 ulp.
    assertTrue(worst < 1.0, "max error " + worst + " ulp at x = " + worstAt);
  }

  /**
   * The product scaling against the exponent-field addition it replaced, written out in scalars with the
   * same fused multiply-adds: the same bits on every 16th float in [-86, 1] (both sides flush below -86).
   */
  @Test
  void scalingGivesTheBitsOfAddingNToTheExponent() {
    int lanes = F.length();
    float[] x = new float[lanes];
    float[] y = new float[lanes];
    long checked = 0;
    for (int[] range : new int[][] {
        {Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(-86f)},
        {Float.floatToRawIntBits(0f), Float.floatToRawIntBits(1f)}}) {
      for (int bits = range[0]; bits <= range[1]; bits += 16 * lanes) {
        for (int i = 0; i < lanes; i++) {
          x[i] = Float.intBitsToFloat(Math.min(bits + 16 * i, range[1]));
        }
        VectorExp.exp(FloatVector.fromArray(F, x, 0)).intoArray(y, 0);
        for (int i = 0; i < lanes; i++, checked++) {
          int expected = Float.floatToRawIntBits(expByExponentAddition(x[i]));
          if (expected != Float.floatToRawIntBits(y[i])) {
            assertEquals(expected, Float.floatToRawIntBits(y[i]), "bits of exp(" + x[i] + ")");
          }
        }
      }
    }
    assertTrue(checked > 60_000_000, "checked " + checked);
  }

  /** The previous form: e^r by the Taylor polynomial, then n added to the exponent field. */
  private static float expByExponentAddition(float x) {
    if (x < VectorExp.FLOOR) {
      return 0f;
    }
    float rounder = 12582912f;
    float rounded = Math.fma(x, 1.44269504088896341f, rounder);
    float n = rounded - rounder;
    float r = Math.fma(n, -0.693145751953125f, x);
    r = Math.fma(n, -1.428606765330187045e-06f, r);
    float p = Math.fma(r, 1f / 5040, 1f / 720);
    p = Math.fma(p, r, 1f / 120);
    p = Math.fma(p, r, 1f / 24);
    p = Math.fma(p, r, 1f / 6);
    p = Math.fma(p, r, 0.5f);
    p = Math.fma(p, r, 1f);
    p = Math.fma(p, r, 1f);
    return Float.intBitsToFloat(Float.floatToRawIntBits(p) + (Float.floatToRawIntBits(rounded) << 23));
  }

  /**
   * NaNs with payloads in every lane, many times, so that the compiled code runs too (its NaN handling is
   * the multiply's, not a blend's).
   */
  @Test
  void everyNaNStaysNaNInCompiledCode() {
    int[] payloads = {0x7FC00000, 0x7FC001FF, 0xFFFFFFFF, 0x7F800001, 0xFF8001FF, 0x7FBFFFFF};
    float[] in = new float[F.length()];
    float[] out = new float[F.length()];
    for (int round = 0; round < 20_000; round++) {
      for (int i = 0; i < in.length; i++) {
        in[i] = Float.intBitsToFloat(payloads[(round + i) % payloads.length]);
      }
      VectorExp.exp(FloatVector.fromArray(F, in, 0)).intoArray(out, 0);
      for (int i = 0; i < out.length; i++) {
        if (!Float.isNaN(out[i])) {
          assertTrue(Float.isNaN(out[i]), "exp of NaN bits " + Integer.toHexString(Float.floatToRawIntBits(in[i]))
              + " gave " + out[i] + " in round " + round);
        }
      }
    }
  }

  @Test
  void specialValues() {
    // NaNs with payloads too: the scaling must not turn any of them into a number.
    float[] x = {Float.NEGATIVE_INFINITY, -1e30f, -86.01f, Float.NaN, Float.intBitsToFloat(0x7FC001FF),
        Float.intBitsToFloat(0xFFFFFFFF), Float.intBitsToFloat(0x7F800001), Float.intBitsToFloat(0xFF8001FF), 0f,
        -0f, -1f, -85.99f};
    float[] in = new float[F.length()];
    float[] out = new float[F.length()];
    for (float value : x) {
      in[0] = value;
      VectorExp.exp(FloatVector.fromArray(F, in, 0)).intoArray(out, 0);
      if (Float.isNaN(value)) {
        assertTrue(Float.isNaN(out[0]), "exp(NaN) must be NaN");
      } else if (value < -86f) {
        assertEquals(0f, out[0], "exp(" + value + ") flushes to zero");
      } else {
        assertEquals((float) Math.exp(value), out[0], Math.ulp((float) Math.exp(value)),
            "exp(" + value + ")");
      }
    }
  }
}
