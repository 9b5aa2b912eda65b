package io.github.attention.verify;

import io.github.attention.kernel.AttentionKernel;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Layers the random properties do not reach, each once found to break something. */
class LayerExampleTest {

  /**
   * Outputs in the subnormal range: V and Wo around 1e-20 make y around 1e-40, where rounding errors are
   * absolute, not relative. The bound once had no absolute term for the projections, and about 1% of these
   * layers exceeded it (found in review: y = 1.53317e-40, error 6.2e-46 against a bound of 6.2e-46).
   */
  @Test
  void subnormalOutputsStayWithinTheBound() {
    SplittableRandom random = new SplittableRandom(1);
    for (int t = 0; t < 200; t++) {
      float[] wv = {(float) (1e-20 * (1 + random.nextDouble()))};
      float[] wo = {(float) (1e-20 * (1 + random.nextDouble()))};
      float[] x = {(float) (1 + random.nextDouble())};
      ReferenceLayer.Weights w = new ReferenceLayer.Weights(1, 1, 1, 1, true, new float[] {1f},
          new float[] {1f}, wv, wo, null, null, null, null);
      ReferenceLayer.Result ref = ReferenceLayer.forward(w, x, 1);
      for (AttentionKernel kernel : new AttentionKernel[] {AttentionKernel.scalar(), AttentionKernel.vector()}) {
        float[] y = new float[1];
        w.builder().kernel(kernel).build().forward(x, 1, y);
        double error = Math.abs(y[0] - ref.y()[0]);
        if (!(error <= ref.tolerance(0))) {
          throw new AssertionError(String.format("%s: y = %s, reference %s, |error| %.3e > %.3e (Wv %s, Wo %s,"
              + " x %s)", kernel.name(), y[0], ref.y()[0], error, ref.tolerance(0), wv[0], wo[0], x[0]));
        }
      }
    }
  }
}
