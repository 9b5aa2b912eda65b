package io.github.attention.verify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.kernel.LogSumExp;
import org.junit.jupiter.api.Test;

/**
 * {@link LogSumExp#merge} on cases worked out by hand (the properties of {@code VariantTest} check it on
 * kernel results), and its argument checks.
 */
class LogSumExpTest {

  /** Shares e^0 : e^(ln 3) = 1 : 3, so out = (1·a + 3·b)/4 and lse = ln 4, each rounded once. */
  @Test
  void twoPartsMergeByTheirShares() {
    float[] a = {1, 2};
    float[] b = {3, 4};
    float[] out = new float[2];
    float[] lse = new float[1];
    LogSumExp.merge(1, 2, new float[][] {a, b}, new float[][] {{0f}, {(float) Math.log(3)}}, out, lse);
    double w = Math.exp((float) Math.log(3));
    assertEquals((float) ((1 + w * 3) / (1 + w)), out[0]);
    assertEquals((float) ((2 + w * 4) / (1 + w)), out[1]);
    assertEquals((float) Math.log(1 + w), lse[0]);
    assertEquals(2.5f, out[0], 1e-6f);
    assertEquals((float) Math.log(4), lse[0], 1e-6f);
  }

  /** Rows are independent; a part that saw no key (lse −∞) has weight 0 even if its output is NaN. */
  @Test
  void partsWithoutKeysDoNotCount() {
    float[][] outs = {{5, 6, 7, 8}, {Float.NaN, Float.NaN, 1, 1}, {9, 9, 3, 4}};
    float[][] lses = {{2f, Float.NEGATIVE_INFINITY}, {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY},
        {Float.NEGATIVE_INFINITY, 1f}};
    float[] out = new float[4];
    float[] lse = new float[2];
    LogSumExp.merge(2, 2, outs, lses, out, lse);
    assertArrayEquals(new float[] {5, 6, 3, 4}, out, "row 0 from part 0 alone, row 1 from part 2 alone");
    assertArrayEquals(new float[] {2f, 1f}, lse);
  }

  @Test
  void aRowWithoutKeysAnywhereIsZeroWithMinusInfinity() {
    float[] out = {7, 7};
    float[] lse = {7};
    LogSumExp.merge(1, 2, new float[][] {{1, 2}, {3, 4}},
        new float[][] {{Float.NEGATIVE_INFINITY}, {Float.NEGATIVE_INFINITY}}, out, lse);
    assertArrayEquals(new float[] {0, 0}, out);
    assertEquals(Float.NEGATIVE_INFINITY, lse[0]);
  }

  @Test
  void aNanLogSumExpGivesNan() {
    float[] out = new float[1];
    float[] lse = new float[1];
    LogSumExp.merge(1, 1, new float[][] {{1}, {2}}, new float[][] {{Float.NaN}, {0}}, out, lse);
    assertTrue(Float.isNaN(out[0]) && Float.isNaN(lse[0]), out[0] + " " + lse[0]);
  }

  /** out may be one of the outputs (each row read before written); lse may be left out. */
  @Test
  void theOutputMayReplaceAPartsOutput() {
    float[] a = {1, 2, 10, 20};
    float[] b = {3, 4, 30, 40};
    LogSumExp.merge(2, 2, new float[][] {a, b}, new float[][] {{0, 0}, {0, 0}}, a, null);
    assertArrayEquals(new float[] {2, 3, 20, 30}, a);
  }

  private static void rejected(String message, Runnable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
    assertEquals(message, e.getMessage());
  }

  @Test
  void badArgumentsAreRejectedByName() {
    float[][] outs = {{0, 0}, {0, 0}};
    float[][] lses = {{0}, {0}};
    rejected("rows and headDim must be positive, got rows=0, headDim=2",
        () -> LogSumExp.merge(0, 2, outs, lses, new float[2], null));
    rejected("rows and headDim must be positive, got rows=1, headDim=0",
        () -> LogSumExp.merge(1, 0, outs, lses, new float[2], null));
    rejected("outs and lses must hold the same number of parts, at least 1, got 0 and 0",
        () -> LogSumExp.merge(1, 2, new float[0][], new float[0][], new float[2], null));
    rejected("outs[1] is too short: expected at least 2 elements, got 1",
        () -> LogSumExp.merge(1, 2, new float[][] {{0, 0}, {0}}, lses, new float[2], null));
    rejected("out is too short: expected at least 2 elements, got 1",
        () -> LogSumExp.merge(1, 2, outs, lses, new float[1], null));
    rejected("lse is too short: expected at least 1 elements, got 0",
        () -> LogSumExp.merge(1, 2, outs, lses, new float[2], new float[0]));
    rejected("lse must not be outs[0]", () -> LogSumExp.merge(1, 2, outs, lses, new float[2], outs[0]));
    assertThrows(NullPointerException.class, () -> LogSumExp.merge(1, 2, new float[][] {null, {0, 0}}, lses,
        new float[2], null));
    assertThrows(NullPointerException.class, () -> LogSumExp.merge(1, 2, outs, lses, null, null));
  }
}
