package io.github.attention.internal.core;

import io.github.attention.kernel.Blocking;
import java.util.Arrays;

/**
 * The online-softmax state of one KV head's rows within a work item (rows are (query row, query head of the
 * group) pairs): running maximum, running sum (as {@link BlockOps#sumLanes()} partial sums per row), the
 * last block's rescale factors, and the unnormalized output accumulator. Per-thread scratch.
 */
final class RowState {

  final float[] max;
  final float[] sum;
  final float[] alpha;
  /** The last block's maximum per row, from {@link BlockOps#rowMaxima}. */
  final float[] blockMax;
  /** The exponent shift per row, {@code -max} (0 while nothing is visible). */
  final float[] shift;
  /** Where each row's query starts in the caller's {@code q} (and its output in {@code out}). */
  final int[] qOffset;
  /** The accumulator of the current item: {@link #own}, or a split chunk's block of the call's partials. */
  float[] o;
  /** This state's own accumulator. */
  final float[] own;
  /**
   * This head's scores of the block, {@code [rows][KEY_BLOCK]}, for {@link BlockedAttention}'s address-order
   * pass, which keeps every head's at once; sized at its first use (other items never need it).
   */
  float[] scores = new float[0];

  RowState(int rows, int paddedDim, int sumLanes) {
    own = new float[rows * paddedDim];
    max = new float[rows];
    sum = new float[rows * sumLanes];
    alpha = new float[rows];
    blockMax = new float[rows];
    shift = new float[rows];
    qOffset = new int[rows];
  }

  boolean fits(int rows, int paddedDim, int sumLanes) {
    return max.length >= rows && own.length >= rows * paddedDim && sum.length >= rows * sumLanes;
  }

  /**
   * Starts a fresh state for {@code rows} rows: no key seen (maximum {@code -∞}, sum 0), a zero accumulator.
   *
   * @param accumulator where the output accumulates: {@link #own}, or a chunk's block of partial results
   */
  void start(int rows, int paddedDim, int sumLanes, float[] accumulator) {
    o = accumulator;
    Arrays.fill(max, 0, rows, Float.NEGATIVE_INFINITY);
    Arrays.fill(sum, 0, rows * sumLanes, 0f);
    Arrays.fill(o, 0, rows * paddedDim, 0f);
  }

  /** @return {@link #scores}, at least {@code rows} rows of a key block long */
  float[] scores(int rows) {
    if (scores.length < rows * Blocking.KEY_BLOCK) {
      scores = new float[rows * Blocking.KEY_BLOCK];
    }
    return scores;
  }

  /** Stops referring to a chunk's partial results, which belong to the caller's workspace. */
  void release() {
    o = own;
  }
}
