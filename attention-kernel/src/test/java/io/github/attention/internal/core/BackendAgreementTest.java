package io.github.attention.internal.core;

import static io.github.attention.kernel.Blocking.KEY_BLOCK;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.attention.internal.RandomArrays;
import io.github.attention.internal.scalar.ScalarBackend;
import io.github.attention.internal.vector.VectorBackend;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Each block operation of the vector backend against the scalar one, on awkward sizes (Lucene's way of
 * testing its two providers). Copies, maxima and divisions must agree exactly; sums may differ by their
 * rounding, bounded by {@code 2·γ_m·Σ|terms|} for two evaluations of m roundings each,
 * {@code γ_m = m·u/(1 − m·u)}.
 */
class BackendAgreementTest {

  private static final BlockOps VECTOR = VectorBackend.INSTANCE.blockOps();
  private static final BlockOps SCALAR = ScalarBackend.INSTANCE.blockOps();
  /** The vector backend's lanes. */
  private static final int L = VECTOR.sumLanes();
  private static final double U = 0x1p-24;
  private static final int[] HEAD_DIMS = {1, 3, L - 1, L, L + 1, 2 * L + 3, 64, 80, 127, 128};
  private final SplittableRandom random = new SplittableRandom(11);

  private static double gamma(int m) {
    return m * U / (1 - m * U);
  }

  private float[] fill(int n) {
    return RandomArrays.uniform(random, n);
  }

  @Test
  void packCopiesTokenRowsAndZeroPads() {
    for (int headDim : HEAD_DIMS) {
      int heads = 3;
      int n = 37;
      int stride = (headDim + L - 1) / L * L;
      int kvStride = heads * headDim + 5;
      float[] src = fill(n * kvStride + 11);
      float[] vector = new float[heads * KEY_BLOCK * stride + 9];
      float[] scalar = vector.clone();
      Arrays.fill(vector, 42f);
      Arrays.fill(scalar, 42f);
      VECTOR.pack(src, kvStride, 3, n, heads, headDim, stride, vector, 2);
      SCALAR.pack(src, kvStride, 3, n, heads, headDim, stride, scalar, 2);
      assertArrayEquals(scalar, vector, "headDim " + headDim);
      for (int h = 0; h < heads; h++) {
        for (int j = 0; j < n; j++) {
          int at = 2 + (h * KEY_BLOCK + j) * stride;
          assertEquals(src[3 + j * kvStride + h * headDim], vector[at]);
          for (int d = headDim; d < stride; d++) {
            assertEquals(0f, vector[at + d], "padding");
          }
        }
      }
    }
  }

  @Test
  void transposeKeysMatchesTheScalarOneExactly() {
    float[] tile = new float[VECTOR.tileFloats()];
    for (int headDim : HEAD_DIMS) {
      for (int n : new int[] {1, L - 1, L, L + 3, KEY_BLOCK}) {
        int stride = headDim + 3;
        float[] keys = fill(n * stride + 4);
        float[] vector = new float[headDim * KEY_BLOCK + 8];
        float[] scalar = vector.clone();
        VECTOR.transposeKeys(keys, 1, stride, n, headDim, vector, 0, tile);
        SCALAR.transposeKeys(keys, 1, stride, n, headDim, scalar, 0, null);
        assertArrayEquals(scalar, vector, "headDim " + headDim + ", n " + n);
        assertEquals(keys[1 + (n - 1) * stride + headDim - 1], vector[(headDim - 1) * KEY_BLOCK + n - 1]);
      }
    }
  }

  @Test
  void scoresAgreeWithinTheirRounding() {
    float[] tile = new float[VECTOR.tileFloats()];
    for (int headDim : HEAD_DIMS) {
      for (int rows : new int[] {1, 3, 4, 5, 9}) {
        int n = 45;
        int width = (n + VECTOR.keyStep() - 1) / VECTOR.keyStep() * VECTOR.keyStep();
        float[] q = fill(rows * headDim + 2);
        int[] qOffset = new int[rows];
        for (int r = 0; r < rows; r++) {
          qOffset[r] = 2 + (rows - 1 - r) * headDim;
        }
        int kStride = headDim;
        float[] k = fill(n * kStride);
        float[] kt = new float[headDim * KEY_BLOCK];
        SCALAR.transposeKeys(k, 0, kStride, n, headDim, kt, 0, null);
        float[] scalar = new float[rows * KEY_BLOCK];
        float[] vector = new float[rows * KEY_BLOCK];
        float[] inPlace = new float[rows * KEY_BLOCK];
        SCALAR.scores(q, qOffset, rows, headDim, kt, 0, n, scalar, null);
        VECTOR.scores(q, qOffset, rows, headDim, kt, 0, width, vector, null);
        boolean readsInPlace = VECTOR.readsInPlace(headDim);
        if (readsInPlace) {
          VECTOR.scoresInPlace(q, qOffset, rows, headDim, k, 0, kStride, 0, n, inPlace, tile);
        }
        for (int r = 0; r < rows; r++) {
          for (int j = 0; j < n; j++) {
            double magnitude = 0;
            for (int d = 0; d < headDim; d++) {
              magnitude += Math.abs((double) q[qOffset[r] + d] * k[j * kStride + d]);
            }
            double tolerance = 2 * gamma(headDim) * magnitude;
            String what = "headDim " + headDim + ", rows " + rows + ", r " + r + ", key " + j;
            assertEquals(scalar[r * KEY_BLOCK + j], vector[r * KEY_BLOCK + j], tolerance, what);
            if (readsInPlace) {
              assertEquals(scalar[r * KEY_BLOCK + j], inPlace[r * KEY_BLOCK + j], tolerance, what + " in place");
            }
          }
        }
      }
    }
  }

  @Test
  void accumulateAgreesWithinItsRounding() {
    for (int headDim : HEAD_DIMS) {
      for (int rows : new int[] {1, 4, 6}) {
        int stride = (headDim + L - 1) / L * L;
        int n = 50;
        float[] p = new float[rows * KEY_BLOCK];
        for (int r = 0; r < rows; r++) {
          for (int j = 0; j < n; j++) {
            p[r * KEY_BLOCK + j] = (float) random.nextDouble();
          }
        }
        float[] values = new float[n * stride];
        for (int j = 0; j < n; j++) {
          for (int d = 0; d < headDim; d++) {
            values[j * stride + d] = (float) (random.nextDouble() * 2 - 1);
          }
        }
        float[] alpha = new float[rows];
        for (int r = 0; r < rows; r++) {
          alpha[r] = r % 2 == 0 ? 1f : 0.375f;
        }
        float[] start = fill(rows * stride);
        float[] scalar = start.clone();
        float[] vector = start.clone();
        SCALAR.accumulate(p, rows, n, values, 0, stride, alpha, scalar, stride, null);
        VECTOR.accumulate(p, rows, n, values, 0, stride, alpha, vector, stride, null);
        for (int r = 0; r < rows; r++) {
          for (int d = 0; d < stride; d++) {
            double magnitude = Math.abs((double) start[r * stride + d] * alpha[r]);
            for (int j = 0; j < n; j++) {
              magnitude += Math.abs((double) p[r * KEY_BLOCK + j] * values[j * stride + d]);
            }
            assertEquals(scalar[r * stride + d], vector[r * stride + d], 2 * gamma(n + 2) * magnitude,
                "headDim " + headDim + ", row " + r + ", d " + d);
          }
        }
      }
    }
  }

  @Test
  void maximaAreExact() {
    int rows = 3;
    float[] s = fill(rows * KEY_BLOCK);
    float[] mask = fill(10 + rows * 200);
    mask[10 + 5] = Float.NEGATIVE_INFINITY;
    // Row 0 sees the whole block, row 1 its first 17 keys, row 2 none; each reads its own mask row.
    BlockRows masked = new BlockRows();
    masked.ensure(rows);
    masked.start(rows, 0.3f, mask, 0f, null, 1);
    masked.set(0, 0, KEY_BLOCK, 10, 0);
    masked.set(1, 0, 17, 210, 0);
    masked.set(2, 0, 0, 410, 0);
    masked.decide(KEY_BLOCK);
    float[] vs = s.clone();
    float[] ss = s.clone();
    float[] vmax = new float[rows];
    float[] smax = new float[rows];
    VECTOR.rowMaxima(vs, KEY_BLOCK, masked, vmax);
    SCALAR.rowMaxima(ss, KEY_BLOCK, masked, smax);
    assertArrayEquals(ss, vs);
    assertArrayEquals(smax, vmax);
    assertEquals(Float.NEGATIVE_INFINITY, vmax[2], "a row that sees nothing");
    assertEquals(Float.NEGATIVE_INFINITY, vs[5]);
    assertEquals(Float.NEGATIVE_INFINITY, vs[KEY_BLOCK + 17]);
    assertEquals(s[KEY_BLOCK + 16] * 0.3f + mask[210 + 16], vs[KEY_BLOCK + 16]);
  }

  @Test
  void exponentialsAndLaneSumsAgree() {
    int rows = 2;
    float[] s = new float[rows * KEY_BLOCK];
    for (int i = 0; i < s.length; i++) {
      s[i] = (float) (-20 * random.nextDouble());
    }
    s[3] = Float.NEGATIVE_INFINITY;
    float[] shift = {0f, 1.5f};
    float[] alpha = {0.5f, 1f};
    float[] vs = s.clone();
    float[] ss = s.clone();
    float[] vsum = new float[rows * L];
    float[] ssum = new float[rows];
    Arrays.fill(vsum, 0, L, 1f);
    ssum[0] = L;
    VECTOR.exponentiate(vs, rows, KEY_BLOCK, 1f, shift, alpha, vsum, null);
    SCALAR.exponentiate(ss, rows, KEY_BLOCK, 1f, shift, alpha, ssum, null);
    double[] total = new double[rows];
    for (int i = 0; i < s.length; i++) {
      // Both exponentials are within 1 ulp of e^x for the same argument (factor 1 rounds nothing).
      assertEquals(ss[i], vs[i], 2 * Math.ulp(ss[i]) + Float.MIN_VALUE, "p[" + i + "]");
      total[i / KEY_BLOCK] += ss[i];
    }
    assertEquals(0f, vs[3]);
    for (int r = 0; r < rows; r++) {
      double expected = (r == 0 ? L * 0.5 : 0) + total[r];
      assertEquals(expected, VECTOR.rowSum(vsum, r), (KEY_BLOCK + L + 4) * U * expected, "row " + r);
      assertEquals(expected, SCALAR.rowSum(ssum, r), (KEY_BLOCK + 4) * U * expected, "row " + r);
    }
  }

  @Test
  void addScaledAndDivideAgree() {
    for (int length : new int[] {L, 2 * L, 8 * L}) {
      float[] src = fill(length + 3);
      float[] vacc = fill(length);
      float[] sacc = vacc.clone();
      VECTOR.addScaled(src, 3, 0.7f, length, vacc);
      SCALAR.addScaled(src, 3, 0.7f, length, sacc);
      for (int d = 0; d < length; d++) {
        double magnitude = Math.abs(sacc[d]) + Math.abs(src[3 + d] * 0.7);
        assertEquals(sacc[d], vacc[d], 4 * U * magnitude);
      }
      for (int headDim : new int[] {1, length - 1, length}) {
        float[] vout = new float[headDim + 4];
        float[] sout = new float[headDim + 4];
        Arrays.fill(vout, 9f);
        Arrays.fill(sout, 9f);
        VECTOR.divide(src, 3, 3f, headDim, vout, 2);
        SCALAR.divide(src, 3, 3f, headDim, sout, 2);
        assertArrayEquals(sout, vout, "a division rounds once, the same way");
        assertEquals(9f, vout[headDim + 2], "nothing past headDim");
      }
    }
  }

  @Test
  void prefetchChangesNothing() {
    float[] a = fill(1000);
    float[] copy = a.clone();
    VECTOR.prefetch(a, 7, 900);
    SCALAR.prefetch(a, 7, 900);
    assertArrayEquals(copy, a);
  }

}
