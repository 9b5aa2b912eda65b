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
