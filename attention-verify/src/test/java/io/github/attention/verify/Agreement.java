package io.github.attention.verify;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;

/** Assertions shared by the properties and examples. */
final class Agreement {

  private Agreement() {}

  /** Runs {@code kernel} on {@code p} and checks it against the reference within the derived bound. */
  static float[] assertMatchesReference(AttentionKernel kernel, Problem p, ErrorStats stats) {
    float[] out = p.run(kernel);
    assertWithinBound(kernel.name(), p, out, p.reference(), stats);
    return out;
  }

  /**
   * Every coordinate of {@code out} is within {@link ErrorBound#kernelVsReference} of the reference (so it
   * is finite), and rows that see no key are exactly zero.
   */
  static void assertWithinBound(String backend, Problem p, float[] out, ReferenceAttention.Result ref,
      ErrorStats stats) {
    AttentionSpec spec = p.spec();
    int heads = spec.queryHeads();
    int dim = spec.headDim();
    for (int i = 0; i < p.qLen(); i++) {
      for (int h = 0; h < heads; h++) {
        ReferenceAttention.Row row = ref.row(i, h);
        int at = (i * heads + h) * dim;
        for (int d = 0; d < dim; d++) {
          float actual = out[at + d];
          if (row.visibleKeys() == 0) {
            if (actual != 0f) {
              throw new AssertionError(String.format("%s: row i=%d h=%d sees no key but out[d=%d] = %s; %s",
                  backend, i, h, d, actual, p));
            }
            continue;
          }
          double expected = ref.out()[at + d];
          double error = Math.abs(actual - expected);
          double tolerance = ErrorBound.kernelVsReference(spec, row, d);
          if (!(error <= tolerance)) {
            throw new AssertionError(String.format(
                "%s: out[i=%d][h=%d][d=%d] = %s, reference %s, |error| %.3e > tolerance %.3e"
                    + " (n=%d, nb=%d, A=%.3e); %s",
                backend, i, h, d, actual, expected, error, tolerance, row.visibleKeys(), row.keyBlocks(),
                row.valueMagnitude()[d], p));
          }
          if (stats != null) {
            stats.record(backend, error, row.valueMagnitude()[d], tolerance,
                ErrorBound.scoreUncertainty(spec, row));
          }
        }
      }
    }
  }

  /**
   * Asserts that two kernel outputs are identical in their first {@code size} floats: the same bits,
   * except that {@code +0.0} and {@code -0.0} count as equal.
   *
   * <p>Why signed zeros are let go: when products underflow, a fused multiply-add turns a zero accumulator
   * into {@code -0.0} ({@code fma(-tiny, w, +0) = -0}), and a later key with weight exactly 0 turns it back
   * ({@code -0 + 0·v = +0}). So visiting a masked key, which rewritten problems may or may not do, can flip
   * the sign of an exactly-zero output; the value, and every nonzero bit pattern, is the same. (Found on
   * the vector kernel, e.g. causal qLen=4, kvLen=3, 2 heads, headDim 13, values around 1e-30.)
   */
  static void assertIdentical(String what, float[] a, float[] b, int size, Problem p) {
    int x = firstDifference(a, b, size);
    if (x >= 0) {
      throw new AssertionError(String.format("%s: first difference at index %d: %s (bits %08x) vs %s"
          + " (bits %08x); %s", what, x, a[x], Float.floatToRawIntBits(a[x]), b[x],
          Float.floatToRawIntBits(b[x]), p));
    }
  }

  /** The first index below {@code size} where the values differ (see {@link #assertIdentical}), or -1. */
  static int firstDifference(float[] a, float[] b, int size) {
    for (int x = 0; x < size; x++) {
      boolean sameBits = Float.floatToRawIntBits(a[x]) == Float.floatToRawIntBits(b[x]);
      if (!sameBits && !(a[x] == 0f && b[x] == 0f)) {
        return x;
      }
    }
    return -1;
  }
}
