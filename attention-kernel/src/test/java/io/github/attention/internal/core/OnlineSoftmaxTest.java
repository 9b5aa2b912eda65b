package io.github.attention.internal.core;

import static io.github.attention.kernel.Blocking.KEY_BLOCK;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.attention.internal.scalar.ScalarBackend;
import io.github.attention.internal.vector.VectorBackend;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The online-softmax recurrence, block by block, on both backends, against values worked out by hand. Blocks
 * are 64 wide, a multiple of every backend's key step. Exponentials are allowed 2 ulp (both backends' are
 * within 1); a running sum of n weights is allowed {@code (n + 4)·u} relative (n additions in some order,
 * the rescale, and the weights' own error).
 */
class OnlineSoftmaxTest {

  private static final int WIDTH = KEY_BLOCK;
  private static final double U = 0x1p-24;

  static BlockOps[] backends() {
    return new BlockOps[] {ScalarBackend.INSTANCE.blockOps(), VectorBackend.INSTANCE.blockOps()};
  }

  private static RowState state(BlockOps ops, int rows) {
    RowState state = new RowState(rows, 16, ops.sumLanes());
    state.start(rows, 16, ops.sumLanes(), state.own);
    return state;
  }

  /** Rows that all see the first {@code visible} keys of the block, no mask. */
  private static BlockRows rows(int count, float scale, int visible, float[] mask, int[] maskOffset) {
    BlockRows rows = new BlockRows();
    rows.ensure(count);
    rows.start(count, scale, mask, 0f, null, 1);
    for (int r = 0; r < count; r++) {
      rows.set(r, 0, visible, maskOffset == null ? 0 : maskOffset[r], 0);
    }
    rows.decide(WIDTH);
    return rows;
  }

  private static void assertUlps(double exact, float actual, double ulps, String what) {
    assertEquals(exact, actual, ulps * Math.ulp((float) exact), what);
  }

  @ParameterizedTest
  @MethodSource("backends")
  void aRowThroughThreeBlocks(BlockOps ops) {
    RowState state = state(ops, 1);
    float[] s = new float[WIDTH];

    // Block 1: two visible keys (causal), scale 0.5: logits 1 and 0.5, the rest -∞.
    s[0] = 2f;
    s[1] = 1f;
    Arrays.fill(s, 2, WIDTH, 123f);
    BlockRows first = rows(1, 0.5f, 2, null, null);
    assertEquals(false, first.raw());
    OnlineSoftmax.step(ops, s, WIDTH, first, state);
    assertEquals(1f, state.max[0]);
    assertEquals(0f, state.alpha[0], "the first visible block rescales the empty state by e^-inf");
    assertEquals(-1f, state.shift[0]);
    assertEquals(1f, s[0]);
    assertUlps(Math.exp(-0.5), s[1], 2, "p1");
    assertEquals(2, first.spanTo(0));
    for (int j = 2; j < WIDTH; j++) {
      // Columns past the row quad's span may be left as they were: every accumulation skips them.
      assertEquals(true, s[j] == 0f || j >= first.spanTo(0) && s[j] == 123f,
          "an invisible key's weight is exactly 0, or untouched past the span: " + s[j]);
    }
    double sum = 1 + Math.exp(-0.5);
    assertEquals(sum, ops.rowSum(state.sum, 0), 6 * U * sum);

    // Block 2: every key visible, no mask: raw scores. The maximum grows from 1 to 3.
    Arrays.fill(s, 0.5f);
    s[5] = 6f;
    BlockRows second = rows(1, 0.5f, WIDTH, null, null);
    assertEquals(true, second.raw());
    OnlineSoftmax.step(ops, s, WIDTH, second, state);
    assertEquals(3f, state.max[0]);
    assertUlps(Math.exp(-2), state.alpha[0], 1, "alpha");
    assertEquals(-3f, state.shift[0]);
    assertEquals(1f, s[5]);
    assertUlps(Math.exp(-2.75), s[0], 2, "p0");
    sum = sum * Math.exp(-2) + 63 * Math.exp(-2.75) + 1;
    assertEquals(sum, ops.rowSum(state.sum, 0), (WIDTH + 4) * U * sum);

    // Block 3: a lower maximum: no rescale.
    Arrays.fill(s, 0f);
    OnlineSoftmax.step(ops, s, WIDTH, rows(1, 0.5f, WIDTH, null, null), state);
    assertEquals(3f, state.max[0]);
    assertEquals(1f, state.alpha[0]);
    assertUlps(Math.exp(-3), s[7], 2, "p7");
    sum = sum + 64 * Math.exp(-3);
    assertEquals(sum, ops.rowSum(state.sum, 0), (2 * WIDTH + 4) * U * sum);
  }

  @ParameterizedTest
  @MethodSource("backends")
  void aRowThatSeesNothingKeepsAnEmptyState(BlockOps ops) {
    RowState state = state(ops, 1);
    float[] s = new float[WIDTH];
    Arrays.fill(s, 5f);
    OnlineSoftmax.step(ops, s, WIDTH, rows(1, 1f, 0, null, null), state);
    assertEquals(Float.NEGATIVE_INFINITY, state.max[0]);
    assertEquals(1f, state.alpha[0]);
    assertEquals(0f, state.shift[0], "no maximum yet: shift by 0, so e^-inf gives weights of 0");
    for (int j = 0; j < WIDTH; j++) {
      // An empty span: the weights are 0, or left as they were (no accumulation reads them).
      assertEquals(true, s[j] == 0f || s[j] == 5f, "weight " + j + ": " + s[j]);
    }
    assertEquals(0, rows(1, 1f, 0, null, null).spanTo(0));
    assertEquals(0f, ops.rowSum(state.sum, 0));
  }

  @ParameterizedTest
  @MethodSource("backends")
  void theMaskIsAddedToTheScaledScoresAndMinusInfinityRemovesAKey(BlockOps ops) {
    RowState state = state(ops, 2);
    float[] s = new float[2 * KEY_BLOCK];
    Arrays.fill(s, 0, WIDTH, 1f);
    Arrays.fill(s, KEY_BLOCK, KEY_BLOCK + WIDTH, 1f);
    // Mask rows at 3 and 100 of a longer mask array: row 0 gets +2 on key 4; row 1 loses key 0.
    float[] mask = new float[200];
    mask[3 + 4] = 2f;
    mask[100] = Float.NEGATIVE_INFINITY;
    BlockRows rows = rows(2, 0.25f, WIDTH, mask, new int[] {3, 100});
    assertEquals(false, rows.raw(), "a masked block is never raw");
    OnlineSoftmax.step(ops, s, WIDTH, rows, state);
    assertEquals(2.25f, state.max[0]);
    assertEquals(0.25f, state.max[1]);
    assertEquals(1f, s[4]);
    assertUlps(Math.exp(-2), s[0], 2, "row 0, key 0");
    assertEquals(0f, s[KEY_BLOCK], "row 1, key 0 is masked out");
    assertEquals(1f, s[KEY_BLOCK + 1]);
    double sum0 = 1 + 63 * Math.exp(-2);
    assertEquals(sum0, ops.rowSum(state.sum, 0), (WIDTH + 4) * U * sum0);
    assertEquals(63.0, ops.rowSum(state.sum, 1), (WIDTH + 4) * U * 63);
  }

  @ParameterizedTest
  @MethodSource("backends")
  void eachRowRescalesOnItsOwn(BlockOps ops) {
    RowState state = state(ops, 2);
    float[] s = new float[2 * KEY_BLOCK];
    OnlineSoftmax.step(ops, s, WIDTH, rows(2, 1f, WIDTH, null, null), state);
    // Row 0's maximum grows to 2, row 1's stays 0.
    Arrays.fill(s, 0f);
    s[9] = 2f;
    OnlineSoftmax.step(ops, s, WIDTH, rows(2, 1f, WIDTH, null, null), state);
    assertUlps(Math.exp(-2), state.alpha[0], 1, "row 0");
    assertEquals(1f, state.alpha[1]);
    assertEquals(2f, state.max[0]);
    assertEquals(0f, state.max[1]);
    double sum0 = 64 * Math.exp(-2) + 63 * Math.exp(-2) + 1;
    assertEquals(sum0, ops.rowSum(state.sum, 0), (2 * WIDTH + 4) * U * sum0);
    assertEquals(128.0, ops.rowSum(state.sum, 1), (2 * WIDTH + 4) * U * 128);
  }

  /** A NaN score never becomes the maximum, and its weight NaN makes the row's sum NaN. */
  @ParameterizedTest
  @MethodSource("backends")
  void aNaNScoreMakesTheSumNaN(BlockOps ops) {
    RowState state = state(ops, 1);
    float[] s = new float[WIDTH];
    s[3] = Float.NaN;
    s[4] = 1f;
    OnlineSoftmax.step(ops, s, WIDTH, rows(1, 1f, WIDTH, null, null), state);
    assertEquals(1f, state.max[0]);
    assertEquals(Float.NaN, ops.rowSum(state.sum, 0));
  }
}
