package io.github.attention.internal.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

/**
 * The vector kernel's tanh (logit soft-capping) against {@link StrictMath#tanh} in double: attention-verify's
 * error bound assumes it within 4 ulp.
 */
class VectorTanhTest {

  private static final VectorSpecies<Float> F = Species.F;

  @Test
  void withinFourUlpOnEverySixteenthFloatUpToTen() {
    int lanes = F.length();
    float[] x = new float[lanes];
    float[] y = new float[lanes];
    int last = Float.floatToRawIntBits(10f);
    double worst = 0;
    float worstAt = 0;
    for (int bits = 0; bits <= last; bits += 16 * lanes) {
      for (int i = 0; i < lanes; i++) {
        x[i] = Float.intBitsToFloat(Math.min(bits + 16 * i, last));
      }
      VectorTanh.tanh(FloatVector.fromArray(F, x, 0)).intoArray(y, 0);
      for (int i = 0; i < lanes; i++) {
        double exact = StrictMath.tanh(x[i]);
        double ulps = Math.abs(y[i] - exact) / Math.ulp((float) exact);
        if (ulps > worst) {
          worst = ulps;
          worstAt = x[i];
        }
      }
    }
    // An exhaustive run over every float in [0, 10] measured at most 2.99 ulp (at 0.2538, just above the
    // switch from the polynomial to the exponential form); beyond 10, tanh rounds to 1.
    assertTrue(worst <= 4.0, "max error " + worst + " ulp at x = " + worstAt);
  }

  /**
   * tanh skips its exponential form when every lane is below 1/4: a lane's bits must not depend on whether
   * its neighbours are small. Each small value is taken once in a vector of small values and once beside
   * large ones, many times over so that the JIT compiles both paths.
   */
  @Test
  void aLanesBitsDoNotDependOnItsNeighbours() {
    int lanes = F.length();
    float[] pure = new float[lanes];
    float[] mixed = new float[lanes];
    float[] a = new float[lanes];
    float[] b = new float[lanes];
    java.util.SplittableRandom random = new java.util.SplittableRandom(42);
    for (int round = 0; round < 200_000; round++) {
      for (int i = 0; i < lanes; i++) {
        pure[i] = (float) random.nextDouble(-0.25, 0.25);
        mixed[i] = i == round % lanes ? pure[i] : (float) random.nextDouble(0.25, 3.0);
      }
      VectorTanh.tanh(FloatVector.fromArray(F, pure, 0)).intoArray(a, 0);
      VectorTanh.tanh(FloatVector.fromArray(F, mixed, 0)).intoArray(b, 0);
      int lane = round % lanes;
      if (Float.floatToRawIntBits(a[lane]) != Float.floatToRawIntBits(b[lane])) {
        throw new AssertionError("tanh(" + pure[lane] + ") = " + a[lane] + " among small lanes but " + b[lane]
            + " beside large ones (round " + round + ")");
      }
    }
  }

  @Test
  void oddSaturatingAndSpecialValues() {
    float[] x = {0f, -0f, 1e-30f, -1e-30f, 0.25f, -0.25f, 20f, -20f, 1e30f, Float.POSITIVE_INFINITY,
        Float.NEGATIVE_INFINITY, Float.NaN, Float.MIN_VALUE};
    float[] in = new float[F.length()];
    float[] out = new float[F.length()];
    for (float value : x) {
      in[0] = value;
      VectorTanh.tanh(FloatVector.fromArray(F, in, 0)).intoArray(out, 0);
      if (Float.isNaN(value)) {
        assertTrue(Float.isNaN(out[0]), "tanh(NaN) must be NaN");
      } else if (Math.abs(value) >= 20f) {
        assertEquals(Math.signum(value), out[0], "tanh(" + value + ") saturates exactly");
      } else {
        // Odd, with the sign of zero kept, and tiny arguments returned as they are.
        assertEquals((float) StrictMath.tanh(value), out[0], 4 * Math.ulp((float) StrictMath.tanh(value)),
            "tanh(" + value + ")");
        assertEquals(Float.floatToRawIntBits(value) < 0, Float.floatToRawIntBits(out[0]) < 0,
            "sign of tanh(" + value + ")");
      }
    }
  }
}
