package io.github.attention.internal.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.attention.internal.scalar.ScalarBackend;
import io.github.attention.internal.vector.VectorBackend;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The merge of a split call's chunks, on hand-made partial states: one chunk (and one KV head, so block
 * {@code c} is chunk {@code c}) per state, rows of 2 floats padded to 16.
 */
class SplitMergeTest {

  private static final int PADDED = 16;
  private static final int HEAD_DIM = 2;
  /** Unit roundoff of float. */
  private static final double U = 0x1p-24;

  static BlockOps[] backends() {
    return new BlockOps[] {ScalarBackend.INSTANCE.blockOps(), VectorBackend.INSTANCE.blockOps()};
  }

  /** Chunk states of one row: maxima, sums and output rows (of HEAD_DIM values each). */
  private static Partials partials(float[] max, float[] sum, float[][] out) {
    Partials p = new Partials();
    p.ensure(max.length, 1, PADDED);
    for (int c = 0; c < max.length; c++) {
      p.max[c] = max[c];
      p.sum[c] = sum[c];
      Arrays.fill(p.out[c], 0f);
      System.arraycopy(out[c], 0, p.out[c], 0, out[c].length);
    }
    return p;
  }

  private static float[] merge(BlockOps ops, Partials p, int chunks) {
    float[] out = {-7f, -7f, -7f, -7f};
    SplitMerge.mergeRow(ops, p, 0, 0, 1, chunks, HEAD_DIM, out, 1, false, Float.NEGATIVE_INFINITY, null, 0);
    assertEquals(-7f, out[0], "wrote before its row");
    assertEquals(-7f, out[3], "wrote past its row");
    return Arrays.copyOfRange(out, 1, 3);
  }

  @ParameterizedTest
  @MethodSource("backends")
  void aRowWithOneChunkThatTookPartIsDividedAsIfUnsplit(BlockOps ops) {
    // Chunk 0 saw no key (sum 0); chunk 1 alone gives o/sum, exactly.
    Partials p = partials(new float[] {Float.NEGATIVE_INFINITY, 5f}, new float[] {0f, 4f},
        new float[][] {{0f, 0f}, {2f, -6f}});
    assertArrayEquals(new float[] {0.5f, -1.5f}, merge(ops, p, 2));
  }

  @ParameterizedTest
  @MethodSource("backends")
  void chunksAreWeightedByTheirMaximumsDistanceFromTheLargest(BlockOps ops) {
    float[] max = {1f, -0.5f, 0.25f};
    float[] sum = {2f, 3f, 1.5f};
    float[][] o = {{1f, 4f}, {3f, -2f}, {0.5f, 1f}};
    float[] merged = merge(ops, partials(max, sum, o), 3);
    double total = 0;
    double[] numerator = new double[HEAD_DIM];
    double[] magnitude = new double[HEAD_DIM];
    for (int c = 0; c < 3; c++) {
      double w = Math.exp(max[c] - 1.0);
      total += w * sum[c];
      for (int d = 0; d < HEAD_DIM; d++) {
        numerator[d] += w * o[c][d];
        magnitude[d] += Math.abs(w * o[c][d]);
      }
    }
    for (int d = 0; d < HEAD_DIM; d++) {
      double exact = numerator[d] / total;
      // Weight, product and two additions in the numerator, weight, product and two additions in the
      // (positive) denominator, then the division: at most 9 roundings of relative size u, scaled by the
      // numerator's condition number.
      double tolerance = 9 * U * (magnitude[d] / total) * 1.0001;
      assertEquals(exact, merged[d], tolerance, "d = " + d);
    }
  }

  /**
   * In chunk order, 1e8 + 3 rounds back to 1e8 twice (floats near 1e8 are 8 apart); in the reverse order
   * 3 + 3 = 6 would round 1e8 + 6 up to 1e8 + 8.
   */
  @ParameterizedTest
  @MethodSource("backends")
  void chunksAreAddedInChunkOrder(BlockOps ops) {
    float[] max = {0f, 0f, 0f};
    float[] sum = {1f, 1f, 2f};
    float[][] o = {{1e8f, 1f}, {3f, 1f}, {3f, 2f}};
    assertArrayEquals(new float[] {25_000_000f, 1f}, merge(ops, partials(max, sum, o), 3));
  }

  @ParameterizedTest
  @MethodSource("backends")
  void aRowNoChunkSawGetsZeros(BlockOps ops) {
    Partials p = partials(new float[] {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}, new float[] {0f, 0f},
        new float[][] {{0f, 0f}, {0f, 0f}});
    assertArrayEquals(new float[] {0f, 0f}, merge(ops, p, 2));
  }

  /** A NaN sum (a NaN score in that chunk) makes the row zeros, as in an unsplit row. */
  @ParameterizedTest
  @MethodSource("backends")
  void aNaNSumGivesZeros(BlockOps ops) {
    Partials p = partials(new float[] {0f, 1f}, new float[] {Float.NaN, 2f}, new float[][] {{1f, 1f}, {2f, 2f}});
    assertArrayEquals(new float[] {0f, 0f}, merge(ops, p, 2));
    Partials alone = partials(new float[] {0f}, new float[] {Float.NaN}, new float[][] {{1f, 1f}});
    assertArrayEquals(new float[] {0f, 0f}, merge(ops, alone, 1));
  }

  /** Row 1 of a state with two rows, where only chunk 1 took part: its own sum and output row. */
  @ParameterizedTest
  @MethodSource("backends")
  void aLaterRowWithOneChunkReadsItsOwnSum(BlockOps ops) {
    Partials p = new Partials();
    p.ensure(2, 2, PADDED);
    p.max[0] = Float.NEGATIVE_INFINITY;
    p.max[1] = Float.NEGATIVE_INFINITY;
    p.max[2] = 7f;
    p.max[3] = 3f;
    p.sum[2] = 5f;
    p.sum[3] = 2f;
    p.out[1][PADDED] = 6f;
    p.out[1][PADDED + 1] = -1f;
    float[] out = new float[2];
    SplitMerge.mergeRow(ops, p, 1, 0, 1, 2, 2, out, 0, false, Float.NEGATIVE_INFINITY, null, 0);
    assertArrayEquals(new float[] {3f, -0.5f}, out);
  }

  /** Rows and heads are interleaved: block first + c·stride, row r of each block. */
  @ParameterizedTest
  @MethodSource("backends")
  void theRowOfAHeadIsReadFromItsOwnBlocks(BlockOps ops) {
    // Two chunks × two heads, two rows: block c·2 + g.
    Partials p = new Partials();
    p.ensure(4, 2, PADDED);
    for (int b = 0; b < 4; b++) {
      for (int r = 0; r < 2; r++) {
        p.max[b * 2 + r] = 0f;
        p.sum[b * 2 + r] = 1f;
        p.out[b][r * PADDED] = 1000 * b + r;
      }
    }
    float[] out = new float[2];
    // Head 1, row 1: blocks 1 and 3, each with weight 1 and sum 1: (1001 + 3001) / 2.
    SplitMerge.mergeRow(ops, p, 1, 1, 2, 2, 1, out, 0, false, Float.NEGATIVE_INFINITY, null, 0);
    assertEquals(2001f, out[0]);
  }
}
