package io.github.attention.internal.core;

import io.github.attention.kernel.AttentionSpec;
import java.util.Objects;

/** Argument validation shared by every backend: everything is checked before anything is written. */
final class Checks {

  private Checks() {}

  static void attendArguments(AttentionSpec spec, int qLen, int kvLen, float[] q, float[] k, float[] v,
      float[] mask, float[] out) {
    Objects.requireNonNull(spec, "spec must not be null");
    Objects.requireNonNull(q, "q must not be null");
    Objects.requireNonNull(k, "k must not be null");
    Objects.requireNonNull(v, "v must not be null");
    Objects.requireNonNull(out, "out must not be null");
    if (qLen <= 0) {
      throw new IllegalArgumentException("qLen must be positive, got " + qLen);
    }
    if (kvLen <= 0) {
      throw new IllegalArgumentException("kvLen must be positive, got " + kvLen);
    }
    // Sizes as long: a shape may overflow int. Messages are built only on failure (no garbage per call).
    int queryHeads = spec.queryHeads();
    int kvHeads = spec.kvHeads();
    int headDim = spec.headDim();
    long qSize = (long) qLen * queryHeads * headDim;
    long kvSize = (long) kvLen * kvHeads * headDim;
    long maskSize = (long) qLen * kvLen;
    check("q", qSize, q.length, qLen, "qLen", queryHeads, "queryHeads", headDim);
    check("k", kvSize, k.length, kvLen, "kvLen", kvHeads, "kvHeads", headDim);
    check("v", kvSize, v.length, kvLen, "kvLen", kvHeads, "kvHeads", headDim);
    if (mask != null && (maskSize > Integer.MAX_VALUE || mask.length < maskSize)) {
      throw failure("mask", "[qLen=" + qLen + "][kvLen=" + kvLen + "]", maskSize, mask.length);
    }
    check("out", qSize, out.length, qLen, "qLen", queryHeads, "queryHeads", headDim);
    notSameArray(out, q, "q");
    notSameArray(out, k, "k");
    notSameArray(out, v, "v");
    notSameArray(out, mask, "mask");
  }

  private static void check(String name, long expected, int actual, int tokens, String tokensName,
      int heads, String headsName, int headDim) {
    if (expected > Integer.MAX_VALUE || actual < expected) {
      throw failure(name, "[" + tokensName + "=" + tokens + "][" + headsName + "=" + heads + "][headDim="
          + headDim + "]", expected, actual);
    }
  }

  private static IllegalArgumentException failure(String name, String shape, long expected, int actual) {
    if (expected > Integer.MAX_VALUE) {
      return new IllegalArgumentException(name + " of shape " + shape + " needs " + expected
          + " elements, more than a Java array can hold");
    }
    return new IllegalArgumentException(name + " is too short for shape " + shape + ": expected at least "
        + expected + " elements, got " + actual);
  }

  private static void notSameArray(float[] out, float[] input, String inputName) {
    if (out == input) {
      throw new IllegalArgumentException("out must not be the same array as " + inputName);
    }
  }
}
