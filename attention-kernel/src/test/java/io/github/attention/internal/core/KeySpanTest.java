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
 * The vector backend's row-quad spans ({@link BlockRows#spanFrom}): scoring and accumulating only the keys a
 * quad of rows can see must leave every score a row sees, and every accumulator, with the bits of the call
 * over every key, when the weights outside each row's visible range are 0 (as {@link OnlineSoftmax#step}
 * leaves them); the softmax passes over the spans must give the maxima, weights and lane sums of the passes
 * over every column. Random visible ranges per row (window starts, causal limits, empty rows) on random sizes.
 */
class KeySpanTest {

  private static final BlockOps VECTOR = VectorBackend.INSTANCE.blockOps();
  private static final BlockOps SCALAR = ScalarBackend.INSTANCE.blockOps();
  private static final int L = VECTOR.sumLanes();
  private final SplittableRandom random = new SplittableRandom(23);

  private float[] fill(int n) {
    return RandomArrays.uniform(random, n);
  }

  @Test
  void spansChangeNoBitOfWhatRowsSee() {
    for (int trial = 0; trial < 500; trial++) {
      int rows = 1 + random.nextInt(13);
      int n = 1 + random.nextInt(KEY_BLOCK);
      int width = Plan.roundUp(n, VECTOR.keyStep());
      int headDim = VECTOR.dimStep() * (1 + random.nextInt(9));
      int[] first = new int[rows];
      int[] visible = new int[rows];
      BlockRows seen = new BlockRows();
      seen.ensure(rows);
      seen.start(rows, 0.125f, null, 0f, null, 1);
      for (int r = 0; r < rows; r++) {
        switch (random.nextInt(4)) {
          case 0 -> visible[r] = n;
          case 1 -> visible[r] = random.nextInt(n + 1);
          case 2 -> {
            first[r] = random.nextInt(n + 1);
            visible[r] = first[r] + random.nextInt(n - first[r] + 1);
          }
          default -> first[r] = visible[r] = random.nextInt(n + 1);
        }
        seen.set(r, first[r], visible[r], 0, 0);
      }
      seen.decide(width);
      String what = rows + " rows, " + n + " keys, head " + headDim + ", ranges " + Arrays.toString(first)
          + " to " + Arrays.toString(visible);

      int[] qOffset = new int[rows];
      for (int r = 0; r < rows; r++) {
        qOffset[r] = r * headDim;
      }
      float[] q = fill(rows * headDim);
      float[] kt = fill(headDim * KEY_BLOCK);
      float[] all = new float[rows * KEY_BLOCK];
      float[] spanned = new float[rows * KEY_BLOCK];
      Arrays.fill(spanned, Float.NaN);
      VECTOR.scores(q, qOffset, rows, headDim, kt, 0, width, all, null);
      VECTOR.scores(q, qOffset, rows, headDim, kt, 0, width, spanned, seen);
      for (int r = 0; r < rows; r++) {
        for (int j = first[r]; j < visible[r]; j++) {
          assertEquals(Float.floatToRawIntBits(all[r * KEY_BLOCK + j]),
              Float.floatToRawIntBits(spanned[r * KEY_BLOCK + j]), what + ": score " + r + ", " + j);
        }
      }

      // The softmax passes: the maxima exactly the scalar backend's (which reads every column), the weights
      // and lane sums exactly those of the same pass over every column.
      float[] everyColumn = all.clone();
      float[] maxAll = new float[rows];
      float[] maxSpanned = new float[rows];
      SCALAR.rowMaxima(everyColumn, width, seen, maxAll);
      VECTOR.rowMaxima(spanned, width, seen, maxSpanned);
      assertArrayEquals(maxAll, maxSpanned, what + ": maxima");
      float[] shift = new float[rows];
      for (int r = 0; r < rows; r++) {
        shift[r] = maxAll[r] == Float.NEGATIVE_INFINITY ? 0f : -maxAll[r];
      }
      float[] alpha = new float[rows];
      Arrays.fill(alpha, 0.5f);
      float[] sumAll = fill(rows * L);
      float[] sumSpanned = sumAll.clone();
      VECTOR.exponentiate(everyColumn, rows, width, 1f, shift, alpha, sumAll, null);
      VECTOR.exponentiate(spanned, rows, width, 1f, shift, alpha, sumSpanned, seen);
      assertArrayEquals(sumAll, sumSpanned, what + ": lane sums");
      for (int r = 0; r < rows; r++) {
        for (int j = first[r]; j < visible[r]; j++) {
          assertEquals(Float.floatToRawIntBits(everyColumn[r * KEY_BLOCK + j]),
              Float.floatToRawIntBits(spanned[r * KEY_BLOCK + j]), what + ": weight " + r + ", " + j);
        }
      }

      float[] p = fill(rows * KEY_BLOCK);
      for (int r = 0; r < rows; r++) {
        for (int j = 0; j < KEY_BLOCK; j++) {
          if (j < first[r] || j >= visible[r]) {
            p[r * KEY_BLOCK + j] = 0f;
          }
        }
      }
      float[] values = fill(n * headDim);
      Arrays.fill(alpha, 1f);
      float[] expected = fill(rows * headDim);
      float[] actual = expected.clone();
      VECTOR.accumulate(p, rows, n, values, 0, headDim, alpha, expected, headDim, null);
      VECTOR.accumulate(p, rows, n, values, 0, headDim, alpha, actual, headDim, seen);
      assertArrayEquals(expected, actual, what + ": accumulators");
    }
  }

  @Test
  void aQuadSpansItsRowsUnion() {
    BlockRows seen = new BlockRows();
    seen.ensure(6);
    seen.start(6, 1f, null, 0f, null, 1);
    seen.set(0, 10, 20, 0, 0);
    seen.set(1, 12, 40, 0, 0);
    seen.set(2, 5, 5, 0, 0); // sees nothing: no say in the span
    seen.set(3, 11, 30, 0, 0);
    seen.set(4, 7, 7, 0, 0);
    seen.set(5, 3, 3, 0, 0);
    seen.decide(64);
    assertEquals(10, seen.spanFrom(2));
    assertEquals(40, seen.spanTo(3));
    assertEquals(0, seen.spanFrom(5), "a quad whose rows see nothing");
    assertEquals(0, seen.spanTo(4));
  }
}
