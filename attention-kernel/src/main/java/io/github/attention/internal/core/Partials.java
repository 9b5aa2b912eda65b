package io.github.attention.internal.core;

import java.util.Arrays;

/**
 * The partial results of a split call: per block {@code b = chunk · kvHeads + head}, the online-softmax
 * state of the head's rows over the chunk's keys, with the running maximum and sum of row {@code r} at
 * {@code b·rows + r} and the unnormalized output rows in {@code out[b]} ({@code rows × paddedDim}, used in
 * place as the accumulator while the chunk runs). Held by the calling thread's workspace for the call and
 * written by whichever threads run the chunks, each block by one of them.
 */
final class Partials {

  float[] max = new float[0];
  float[] sum = new float[0];
  float[][] out = new float[0][];
  /** The merge's accumulator, one row. */
  float[] merged = new float[0];
  int rows;
  int paddedDim;

  /** Makes room for {@code blocks} blocks of {@code rows} rows of {@code paddedDim} floats. */
  void ensure(int blocks, int rows, int paddedDim) {
    this.rows = rows;
    this.paddedDim = paddedDim;
    if (max.length < blocks * rows) {
      max = new float[blocks * rows];
      sum = new float[blocks * rows];
    }
    if (out.length < blocks) {
      out = Arrays.copyOf(out, blocks);
    }
    for (int b = 0; b < blocks; b++) {
      if (out[b] == null || out[b].length < rows * paddedDim) {
        out[b] = new float[rows * paddedDim];
      }
    }
    if (merged.length < paddedDim) {
      merged = new float[paddedDim];
    }
  }
}
