package io.github.attention.internal.vector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.github.attention.internal.scalar.ScalarBackend;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The vector backend's rotary half-split rotation is the scalar one bit for bit (lanewise multiply and
 * subtract, never fused), for every pair count 0 to 70 (whole vectors and tails, on every species the
 * build runs this at) and random offsets, values and angles.
 */
class VectorRotateTest {

  @Test
  void rotateHalvesIsTheScalarRotationBitForBit() {
    SplittableRandom r = new SplittableRandom(7);
    for (int n = 0; n <= 70; n++) {
      for (int trial = 0; trial < 20; trial++) {
        int at = r.nextInt(5);
        float[] rows = new float[at + 2 * n + r.nextInt(5)];
        for (int i = 0; i < rows.length; i++) {
          rows[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(-5, 6)));
        }
        float[] cs = new float[2 * n];
        for (int i = 0; i < n; i++) {
          double angle = r.nextDouble() * 1e4;
          cs[i] = (float) Math.cos(angle);
          cs[n + i] = (float) Math.sin(angle);
        }
        float[] expected = rows.clone();
        ScalarBackend.INSTANCE.rotateHalves(expected, at, n, cs, 0);
        VectorBackend.INSTANCE.rotateHalves(rows, at, n, cs, 0);
        assertArrayEquals(expected, rows, "n " + n + ", at " + at);
      }
    }
  }
}
