package io.github.attention.internal.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.internal.parallel.WorkerTeam;
import io.github.attention.internal.scalar.ScalarBackend;
import io.github.attention.internal.vector.VectorBackend;
import java.lang.ref.WeakReference;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Projections cut into items of 96 rows × 64 columns, with several blocks of each, against plain dot
 * products in double: each output within {@code γ_{in+1}·Σ|x·w| + |b|·u}, the rounding of a float sum of
 * {@code in} products and the bias; and bit for bit the same on one and two threads.
 */
class ProjectionTest {

  private static final double U = 0x1p-24;

  static Backend[] backends() {
    return new Backend[] {ScalarBackend.INSTANCE, VectorBackend.INSTANCE};
  }

  @ParameterizedTest
  @MethodSource("backends")
  void manyRowAndColumnBlocksMatchDotProducts(Backend backend) {
    SplittableRandom random = new SplittableRandom(3);
    int rows = 250;
    int out = 130;
    int in = 37;
    float[] w = new float[out * in];
    float[] b = new float[out];
    float[] x = new float[5 + rows * in];
    for (float[] a : new float[][] {w, b, x}) {
      for (int i = 0; i < a.length; i++) {
        a[i] = (float) (random.nextDouble() * 2 - 1);
      }
    }
    Projection projection = new Projection(backend.linearMap("W", w, b, out, in));
    assertEquals(out, projection.out());
    assertEquals(in, projection.in());
    WorkerTeam one = new WorkerTeam(1, null);
    WorkerTeam two = new WorkerTeam(2, null);
    try {
      float[] y = new float[3 + rows * out + 2];
      projection.apply(x, 5, rows, y, 3, one);
      for (int r = 0; r < rows; r++) {
        for (int o = 0; o < out; o++) {
          double exact = b[o];
          double magnitude = Math.abs(b[o]);
          for (int i = 0; i < in; i++) {
            double product = (double) x[5 + r * in + i] * w[o * in + i];
            exact += product;
            magnitude += Math.abs(product);
          }
          double gamma = (in + 1) * U / (1 - (in + 1) * U);
          assertEquals(exact, y[3 + r * out + o], gamma * magnitude, "row " + r + ", column " + o);
        }
      }
      assertEquals(0f, y[0]);
      assertEquals(0f, y[y.length - 1]);
      float[] threaded = new float[y.length];
      projection.apply(x, 5, rows, threaded, 3, two);
      assertArrayEquals(y, threaded);
    } finally {
      two.close();
    }
  }

  /** A finished call keeps no reference to the caller's arrays. */
  @ParameterizedTest
  @MethodSource("backends")
  void aCallDropsTheCallersArrays(Backend backend) throws InterruptedException {
    Projection projection = new Projection(backend.linearMap("W", new float[6], null, 2, 3));
    float[] x = new float[3];
    float[] y = new float[2];
    projection.apply(x, 0, 1, y, 0, new WorkerTeam(1, null));
    WeakReference<float[]> input = new WeakReference<>(x);
    WeakReference<float[]> output = new WeakReference<>(y);
    x = null;
    y = null;
    for (int i = 0; i < 50 && (input.get() != null || output.get() != null); i++) {
      System.gc();
      Thread.sleep(10);
    }
    assertTrue(input.get() == null, "x is still reachable");
    assertTrue(output.get() == null, "y is still reachable");
  }
}
