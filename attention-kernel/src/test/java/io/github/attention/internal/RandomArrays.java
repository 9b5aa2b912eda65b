package io.github.attention.internal;

import java.util.SplittableRandom;

/** Random inputs shared by the backend tests. */
public final class RandomArrays {

  private RandomArrays() {}

  /**
   * @param random the test's generator (its sequence decides the values)
   * @param n length
   * @return {@code n} floats drawn uniformly from [-2, 2)
   */
  public static float[] uniform(SplittableRandom random, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) (random.nextDouble() * 4 - 2);
    }
    return a;
  }
}
