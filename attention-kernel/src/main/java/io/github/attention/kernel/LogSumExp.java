package io.github.attention.kernel;

import java.util.Arrays;
import java.util.Objects;

/**
 * Combines attention results computed over disjoint sets of keys into the result over their union, from
 * their outputs and log-sum-exps (as the log-sum-exp overloads of {@link AttentionKernel} write them): the
 * step prefix caching and cascade attention need, and the same combination as the kernels' own split-KV
 * merge. For one row with parts {@code k}: {@code M = max_k lse_k}, {@code w_k = e^(lse_k − M)},
 * {@code out = Σ_k w_k·out_k / Σ_k w_k} and {@code lse = M + ln Σ_k w_k}, evaluated in double and rounded to
 * float once. Parts whose {@code lse} is {@code -Infinity} (they saw no key) have weight 0; if every part's
 * is, the row's output is zeros and its {@code lse} is {@code -Infinity}.
 *
 * <p>Sinks: a sink is one more term of a row's softmax denominator, so it must be counted once. Compute one
 * part with the spec's sinks and the others without, and the merge gives the result with sinks over the
 * union.
 *
 * <p>Positions: each call numbers its keys from 0 and places its query rows at the end of its keys. Plain
 * attention (and the soft-cap, and sinks) do not depend on positions, so a cached prefix can be attended
 * from its own buffer (non-causal: all of it is in every query's past) and the query's own keys from theirs
 * (causal). A sliding window and ALiBi do depend on them: for those, give every part the whole key range and
 * mask out the other parts' keys, so that the positions stay those of the whole sequence.
 *
 * <p>NaN: a part whose {@code lse} is NaN (its scores were NaN) makes the row's output and {@code lse} NaN;
 * {@code +Infinity} likewise gives NaN.
 */
public final class LogSumExp {

  private LogSumExp() {}

  /**
   * Merges {@code parts} partial results, row by row.
   *
   * @param rows how many rows each part has ({@code qLen·queryHeads} for an attention output)
   * @param headDim values per row
   * @param outs the parts' outputs, each {@code [rows][headDim]}
   * @param lses the parts' log-sum-exps, each {@code [rows]}, in the same order
   * @param out the merged output, {@code [rows][headDim]}; may be one of {@code outs} (each row is read
   *     before it is written), not one of {@code lses}
   * @param lse the merged log-sum-exps, {@code [rows]}, or null if not wanted; may be one of {@code lses},
   *     not {@code out} nor one of {@code outs}
   * @throws NullPointerException if an array other than {@code lse} is null
   * @throws IllegalArgumentException if {@code rows} or {@code headDim} is not positive, there is no part,
   *     {@code outs} and {@code lses} differ in length, an array is too short, or {@code out} or {@code lse}
   *     is an array it must not be (the message names it)
   */
  public static void merge(int rows, int headDim, float[][] outs, float[][] lses, float[] out, float[] lse) {
    Objects.requireNonNull(outs, "outs must not be null");
    Objects.requireNonNull(lses, "lses must not be null");
    Objects.requireNonNull(out, "out must not be null");
    if (rows <= 0 || headDim <= 0) {
      throw new IllegalArgumentException(
          "rows and headDim must be positive, got rows=" + rows + ", headDim=" + headDim);
    }
    if (outs.length == 0 || outs.length != lses.length) {
      throw new IllegalArgumentException("outs and lses must hold the same number of parts, at least 1, got "
          + outs.length + " and " + lses.length);
    }
    long size = (long) rows * headDim;
    for (int k = 0; k < outs.length; k++) {
      Objects.requireNonNull(outs[k], "outs[" + k + "] must not be null");
      Objects.requireNonNull(lses[k], "lses[" + k + "] must not be null");
      length("outs[" + k + "]", outs[k], size);
      length("lses[" + k + "]", lses[k], rows);
    }
    length("out", out, size);
    if (lse != null) {
      length("lse", lse, rows);
    }
    for (int k = 0; k < outs.length; k++) {
      if (lses[k] == out) {
        throw new IllegalArgumentException("out must not be lses[" + k + "]: each row's weights are read first");
      }
      if (lse != null && outs[k] == lse) {
        throw new IllegalArgumentException("lse must not be outs[" + k + "]");
      }
    }
    if (lse != null && lse == out) {
      throw new IllegalArgumentException("lse must not be the same array as out");
    }
    int parts = outs.length;
    double[] weights = new double[parts];
    for (int r = 0; r < rows; r++) {
      double top = Double.NEGATIVE_INFINITY;
      for (int k = 0; k < parts; k++) {
        top = Math.max(top, lses[k][r]);
      }
      int at = r * headDim;
      if (top == Double.NEGATIVE_INFINITY) {
        Arrays.fill(out, at, at + headDim, 0f);
        if (lse != null) {
          lse[r] = Float.NEGATIVE_INFINITY;
        }
        continue;
      }
      double total = 0;
      for (int k = 0; k < parts; k++) {
        weights[k] = Math.exp(lses[k][r] - top);
        total += weights[k];
      }
      for (int d = 0; d < headDim; d++) {
        double sum = 0;
        for (int k = 0; k < parts; k++) {
          if (weights[k] != 0) {
            sum += weights[k] * outs[k][at + d];
          }
        }
        out[at + d] = (float) (sum / total);
      }
      if (lse != null) {
        lse[r] = (float) (top + Math.log(total));
      }
    }
  }

  private static void length(String name, float[] array, long expected) {
    if (array.length < expected) {
      throw new IllegalArgumentException(
          name + " is too short: expected at least " + expected + " elements, got " + array.length);
    }
  }
}
