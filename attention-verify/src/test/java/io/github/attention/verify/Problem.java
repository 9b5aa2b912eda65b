package io.github.attention.verify;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import java.util.Arrays;

/**
 * One attention problem with its arrays. Inputs may be longer than their shape (by {@code slack}); the
 * extra elements hold NaN, so a kernel reading past the prefix shows up as NaN in its output. The output
 * array has the same slack, filled with {@link #OUT_SENTINEL}, which must survive every call.
 */
record Problem(AttentionSpec spec, int qLen, int kvLen, float[] q, float[] k, float[] v, float[] mask,
    int slack, String description) {

  static final float OUT_SENTINEL = -12345.5f;

  int outSize() {
    return qLen * spec.queryHeads() * spec.headDim();
  }

  /** A fresh output array: the prefix is garbage (NaN), the slack holds {@link #OUT_SENTINEL}. */
  float[] newOut() {
    float[] out = new float[outSize() + slack];
    Arrays.fill(out, 0, outSize(), Float.NaN);
    Arrays.fill(out, outSize(), out.length, OUT_SENTINEL);
    return out;
  }

  /** Runs {@code kernel}, checks the output's slack is untouched, and returns the output. */
  float[] run(AttentionKernel kernel) {
    float[] out = newOut();
    kernel.attend(spec, qLen, kvLen, q, k, v, mask, out);
    for (int x = outSize(); x < out.length; x++) {
      if (Float.floatToRawIntBits(out[x]) != Float.floatToRawIntBits(OUT_SENTINEL)) {
        throw new AssertionError(kernel.name() + " wrote past the output shape at index " + x + ": " + this);
      }
    }
    return out;
  }

  ReferenceAttention.Result reference() {
    return ReferenceAttention.attend(spec, qLen, kvLen, q, k, v, mask);
  }

  boolean visible(int i, int j) {
    return ReferenceAttention.visible(spec, qLen, kvLen, mask, i, j);
  }

  /** The same problem with other inputs (same slack convention). */
  Problem with(AttentionSpec newSpec, float[] newK, float[] newV, float[] newMask, String change) {
    return new Problem(newSpec, qLen, kvLen, q, newK, newV, newMask, slack, description + ", " + change);
  }

  @Override
  public String toString() {
    return spec + " qLen=" + qLen + " kvLen=" + kvLen + " slack=" + slack + " " + description;
  }
}
