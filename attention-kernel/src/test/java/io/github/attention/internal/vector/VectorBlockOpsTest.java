package io.github.attention.internal.vector;

import static io.github.attention.kernel.Blocking.KEY_BLOCK;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.internal.RandomArrays;
import io.github.attention.internal.core.BlockOps;
import io.github.attention.internal.core.LinearMap;
import io.github.attention.internal.scalar.ScalarBackend;
import io.github.attention.kernel.KvType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The vector backend's shapes, its lane-sum rule, and its projection against the scalar dot products
 * (within {@code 2·γ_m·Σ|terms|} for two evaluations of m roundings each, {@code γ_m = m·u/(1 − m·u)}).
 * The block operations are compared with the scalar ones in {@code BackendAgreementTest}.
 */
class VectorBlockOpsTest {

  private static final BlockOps VECTOR = VectorBlockOps.INSTANCE;
  private static final BlockOps SCALAR = ScalarBackend.INSTANCE.blockOps();
  private static final int L = Species.L;
  private static final double U = 0x1p-24;
  private final SplittableRandom random = new SplittableRandom(11);

  private static double gamma(int m) {
    return m * U / (1 - m * U);
  }

  private float[] fill(int n) {
    return RandomArrays.uniform(random, n);
  }

  @Test
  void shapes() {
    assertEquals(L, VECTOR.sumLanes());
    assertEquals(L, VECTOR.dimStep());
    assertEquals(4 * L, VECTOR.keyStep());
    assertEquals(0, KEY_BLOCK % VECTOR.keyStep(), "a key block holds whole strips");
    assertEquals(2 * L * L, VECTOR.tileFloats());
    assertTrue(VECTOR.readsInPlace(4 * L)); // 128-bit vectors too (L = 4)
    assertFalse(VECTOR.readsInPlace(L + 1));
    assertTrue(VECTOR.readsStored(3 * L));
    assertFalse(VECTOR.readsStored(L + 1));
    assertEquals(1, SCALAR.sumLanes());
    assertTrue(SCALAR.readsInPlace(7));
    assertFalse(SCALAR.readsStored(64));
  }

  @Test
  void theBackendHandsOutItsOwnOperations() {
    assertSame(VectorBlockOps.INSTANCE, VectorBackend.INSTANCE.blockOps());
    assertEquals("vector-" + L * 32, VectorBackend.INSTANCE.name());
    assertEquals(L * 32, VectorBackend.bits());
  }

  /** Panels of 4 vectors of output columns: {@code out} rounded up to a whole panel, times {@code in}. */
  @Test
  void panelsPadTheOutputColumnsToWholePanels() {
    int nr = 4 * L;
    assertEquals(nr * 3L, VectorLinearMap.panelFloats(1, 3));
    assertEquals(nr * 3L, VectorLinearMap.panelFloats(nr, 3));
    assertEquals(2L * nr * 3, VectorLinearMap.panelFloats(nr + 1, 3));
    assertEquals(7L * nr * 1_000_000, VectorLinearMap.panelFloats(7L * nr - 5, 1_000_000));
  }

  /** Weights whose padded copy would not fit in an array are refused, naming them, before any copy. */
  @Test
  void weightsTooLargeOncePaddedAreRefused() {
    // One column past the last whole panel that fits in an int: padding it adds a panel past MAX_VALUE.
    int nr = 4 * L;
    int out = Integer.MAX_VALUE / nr * nr + 1;
    long padded = (Integer.MAX_VALUE / nr + 1L) * nr;
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> VectorBackend.INSTANCE.linearMap("queryWeights (Wq)", new float[1], null, out, 1));
    assertEquals("queryWeights (Wq) of [" + out + "][1] is too large: padded to " + padded
        + " elements, more than a Java array can hold", e.getMessage());
  }

  /**
   * Scores and value sums read from 16- and 8-bit storage, at rows anywhere in it (shuffled, repeated), are
   * bit for bit those of the in-place operations on the widened rows, for every type, 1 to 9 rows (the tiles
   * take 4 and repeat the last), 1 to 64 keys, head widths of 1 to 5 vectors; 64 random cases per type.
   */
  @Test
  void storedRowsAreTheInPlaceArithmeticOnTheirWidenedValues() {
    for (KvType type : KvType.values()) {
      for (int trial = 0; trial < 64; trial++) {
        int rows = 1 + random.nextInt(9);
        int n = 1 + random.nextInt(KEY_BLOCK);
        int headDim = L * (1 + random.nextInt(5));
        int tokens = n + random.nextInt(40);
        int bytes = type.bytes();
        MemorySegment m = Arena.ofAuto().allocate((long) tokens * headDim * bytes + 64, 64).asSlice(bytes);
        float[] widened = new float[tokens * headDim];
        float[] scales = new float[tokens];
        for (int i = 0; i < tokens * headDim; i++) {
          int bits = random.nextInt();
          switch (type) {
            case F32 -> m.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) random.nextGaussian());
            case BF16, F16 -> m.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) bits);
            case INT8 -> m.set(ValueLayout.JAVA_BYTE, i, (byte) bits);
          }
        }
        for (int t = 0; t < tokens; t++) {
          scales[t] = (float) (random.nextDouble() * 0.1);
        }
        for (int i = 0; i < tokens * headDim; i++) {
          int raw = switch (type) {
            case F32 -> Float.floatToRawIntBits(m.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i));
            case BF16, F16 -> m.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i);
            case INT8 -> m.get(ValueLayout.JAVA_BYTE, i);
          };
          float x = type.widen(raw, scales[i / headDim]);
          // NaN and infinite bf16/f16 patterns would make every sum NaN: keep the values finite.
          widened[i] = Float.isFinite(x) ? x : 0f;
          if (!Float.isFinite(x)) {
            m.set(ValueLayout.JAVA_BYTE, (long) i * bytes, (byte) 0);
            if (bytes > 1) {
              m.set(ValueLayout.JAVA_BYTE, (long) i * bytes + 1, (byte) 0);
            }
            if (bytes > 2) {
              m.set(ValueLayout.JAVA_BYTE, (long) i * bytes + 2, (byte) 0);
              m.set(ValueLayout.JAVA_BYTE, (long) i * bytes + 3, (byte) 0);
            }
          }
        }
        // Block row j is storage token at[j]; the packed copy puts it at row j, headDim apart.
        long[] rowAt = new long[KEY_BLOCK];
        float[] rowScale = new float[KEY_BLOCK];
        float[] packed = new float[n * headDim];
        for (int j = 0; j < n; j++) {
          int t = random.nextInt(tokens);
          rowAt[j] = (long) t * headDim;
          rowScale[j] = scales[t];
          System.arraycopy(widened, t * headDim, packed, j * headDim, headDim);
        }
        float[] q = fill(rows * headDim);
        int[] qOffset = new int[rows];
        for (int r = 0; r < rows; r++) {
          qOffset[r] = r * headDim;
        }
        String what = type + ", " + rows + " rows, " + n + " keys, head " + headDim;
        float[] expected = new float[rows * KEY_BLOCK];
        float[] actual = new float[rows * KEY_BLOCK];
        VECTOR.scoresInPlace(q, qOffset, rows, headDim, packed, 0, headDim, 0, n, expected,
            new float[VECTOR.tileFloats()]);
        VECTOR.scoresStored(q, qOffset, rows, headDim, m, type, rowAt, rowScale, 0, n, actual,
            new float[VECTOR.tileFloats()]);
        for (int r = 0; r < rows; r++) {
          assertArrayEquals(Arrays.copyOfRange(expected, r * KEY_BLOCK, r * KEY_BLOCK + n),
              Arrays.copyOfRange(actual, r * KEY_BLOCK, r * KEY_BLOCK + n), what + ": scores of row " + r);
        }
        float[] p = fill(rows * KEY_BLOCK);
        float[] alpha = new float[rows];
        for (int r = 0; r < rows; r++) {
          alpha[r] = r % 3 == 0 ? 1f : (float) random.nextDouble();
        }
        float[] o = fill(rows * headDim);
        float[] oStored = o.clone();
        VECTOR.accumulate(p, rows, n, packed, 0, headDim, alpha, o, headDim, null);
        VECTOR.accumulateStored(p, rows, n, m, type, rowAt, rowScale, alpha, oStored, headDim, null);
        assertArrayEquals(o, oStored, what + ": accumulated values");
      }
    }
  }

  /** Lanes are added in lane order, from lane 0: floats near 2^25 are 4 apart, so the order shows. */
  /**
   * The address-order decoding pass scores a block {@code keyStep} keys at a time and accumulates it a few keys
   * at a time, head after head: each piece must give exactly the bits of one call over the whole block, on
   * both backends (random sizes, strides and split points).
   */
  @Test
  void keyRangesGiveTheBitsOfOneCall() {
    for (BlockOps ops : new BlockOps[] {VECTOR, SCALAR}) {
      for (int trial = 0; trial < 200; trial++) {
        int rows = 1 + random.nextInt(9);
        int headDim = L * (1 + random.nextInt(4));
        int n = 1 + random.nextInt(KEY_BLOCK);
        int kvStride = headDim * (1 + random.nextInt(3));
        int[] qOffset = new int[rows];
        for (int r = 0; r < rows; r++) {
          qOffset[r] = r * headDim;
        }
        float[] q = fill(rows * headDim);
        float[] k = fill(n * kvStride);
        float[] whole = new float[rows * KEY_BLOCK];
        float[] pieces = new float[rows * KEY_BLOCK];
        float[] tile = new float[ops.tileFloats()];
        ops.scoresInPlace(q, qOffset, rows, headDim, k, 0, kvStride, 0, n, whole, tile);
        for (int from = 0; from < n; from += ops.keyStep()) {
          ops.scoresInPlace(q, qOffset, rows, headDim, k, 0, kvStride, from, Math.min(n, from + ops.keyStep()),
              pieces, tile);
        }
        for (int r = 0; r < rows; r++) {
          assertArrayEquals(Arrays.copyOfRange(whole, r * KEY_BLOCK, r * KEY_BLOCK + n),
              Arrays.copyOfRange(pieces, r * KEY_BLOCK, r * KEY_BLOCK + n), ops + ": scores of row " + r);
        }
        float[] p = fill(rows * KEY_BLOCK);
        float[] alpha = new float[rows];
        for (int r = 0; r < rows; r++) {
          alpha[r] = r % 3 == 0 ? 1f : (float) random.nextDouble();
        }
        float[] o = fill(rows * headDim);
        float[] split = o.clone();
        ops.accumulate(p, rows, n, k, 0, kvStride, alpha, o, headDim, null);
        ops.rescale(rows, alpha, split, headDim);
        for (int from = 0; from < n; ) {
          int to = Math.min(n, from + 1 + random.nextInt(8));
          ops.accumulateKeys(p, rows, from, to, k, 0, kvStride, split, headDim, null);
          from = to;
        }
        assertArrayEquals(o, split, ops + ": accumulated values");
      }
    }
  }

  /**
   * With 16 registers a prepared head's values are laid out in column panels: accumulating from them must
   * give the bits of accumulating from the same values as rows (random rows, head widths with and without
   * a narrow last panel, key counts, rescaling). With 32 registers the values stay rows.
   */
  @Test
  void valuesInPanelsGiveTheBitsOfValuesInRows() {
    if (!Registers.FEW) {
      assertEquals(0, VECTOR.valuePanel(), "32 registers: values as rows");
      return;
    }
    assertEquals(2 * L, VECTOR.valuePanel());
    for (int trial = 0; trial < 300; trial++) {
      int rows = 1 + random.nextInt(13);
      int stride = L * (1 + random.nextInt(5));
      int n = 1 + random.nextInt(KEY_BLOCK);
      int offset = L * random.nextInt(3);
      float[] values = fill(n * stride);
      float[] panels = new float[offset + KEY_BLOCK * stride];
      Arrays.fill(panels, Float.NaN); // what toPanels does not write must not be read
      VECTOR.toPanels(values, n, stride, panels, offset);
      float[] p = fill(rows * KEY_BLOCK);
      float[] alpha = new float[rows];
      for (int r = 0; r < rows; r++) {
        alpha[r] = r % 3 == 0 ? 1f : (float) random.nextDouble();
      }
      float[] fromRows = fill(rows * stride);
      float[] fromPanels = fromRows.clone();
      VECTOR.accumulate(p, rows, n, values, 0, stride, alpha, fromRows, stride, null);
      VECTOR.accumulatePanels(p, rows, n, panels, offset, alpha, fromPanels, stride, null);
      assertArrayEquals(fromRows, fromPanels, rows + " rows, stride " + stride + ", " + n + " keys");
    }
  }

  @Test
  void theRowSumAddsLanesInOrder() {
    float[] sum = new float[3 * L];
    Arrays.fill(sum, 2 * L, 3 * L, 1f);
    // Row 2 = [2^25, 1, 1, ...]: 2^25 + 1 rounds back to 2^25 at every step (ones first would add up).
    sum[2 * L] = 0x1p25f;
    assertEquals(0x1p25f, VECTOR.rowSum(sum, 2));
    // Row 2 = [1, ..., 1, 2^25]: the L - 1 ones add up exactly first, then one rounding.
    sum[2 * L] = 1f;
    sum[3 * L - 1] = 0x1p25f;
    assertEquals((float) (0x1p25 + (L - 1)), VECTOR.rowSum(sum, 2));
  }

  /** The vector projection's panels and 6-row tiles against the scalar dot products. */
  @Test
  void projectionsAgree() {
    int[][] shapes = {{1, 1, 1}, {7, 5, 3}, {13, 70, 33}, {6, 64, 128}, {100, 130, 17}};
    for (int[] shape : shapes) {
      int rows = shape[0];
      int out = shape[1];
      int in = shape[2];
      float[] w = fill(out * in);
      float[] b = fill(out);
      float[] x = fill(rows * in + 5);
      LinearMap vector = VectorBackend.INSTANCE.linearMap("W", w, b, out, in);
      LinearMap scalar = ScalarBackend.INSTANCE.linearMap("W", w, b, out, in);
      assertEquals(out, vector.out());
      assertEquals(in, vector.in());
      assertEquals(out, scalar.out());
      assertEquals(in, scalar.in());
      float[] vy = new float[rows * out + 2];
      float[] sy = new float[rows * out + 2];
      Arrays.fill(vy, 5f);
      Arrays.fill(sy, 5f);
      float[] tile = new float[vector.tileFloats()];
      // Two column blocks where there are enough columns, to cover a block that starts mid-matrix.
      int split = Math.min(out, 64);
      vector.block(x, 5, 0, rows, 0, split, vy, 2, tile);
      vector.block(x, 5, 0, rows, split, out, vy, 2, tile);
      scalar.block(x, 5, 0, rows, 0, out, sy, 2, null);
      assertEquals(5f, vy[0]);
      assertEquals(5f, vy[1]);
      for (int r = 0; r < rows; r++) {
        for (int o = 0; o < out; o++) {
          double magnitude = Math.abs(b[o]);
          for (int i = 0; i < in; i++) {
            magnitude += Math.abs((double) x[5 + r * in + i] * w[o * in + i]);
          }
          int at = 2 + r * out + o;
          assertEquals(sy[at], vy[at], 2 * gamma(in + 1) * magnitude, "shape " + Arrays.toString(shape));
        }
      }
    }
  }
}
