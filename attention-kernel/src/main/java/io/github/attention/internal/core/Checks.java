package io.github.attention.internal.core;

import io.github.attention.kernel.AttentionBatch;
import io.github.attention.kernel.AttentionSpec;
import java.lang.foreign.MemorySegment;
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
    lengths(qLen, kvLen);
    // Sizes as long: a shape may overflow int. Messages are built only on failure (no garbage per call).
    int queryHeads = spec.queryHeads();
    int kvHeads = spec.kvHeads();
    int headDim = spec.headDim();
    long qSize = (long) qLen * queryHeads * headDim;
    long kvSize = (long) kvLen * kvHeads * headDim;
    check("q", qSize, q.length, qLen, "qLen", queryHeads, "queryHeads", headDim);
    check("k", kvSize, k.length, kvLen, "kvLen", kvHeads, "kvHeads", headDim);
    check("v", kvSize, v.length, kvLen, "kvLen", kvHeads, "kvHeads", headDim);
    maskArgument(mask, qLen, kvLen);
    check("out", qSize, out.length, qLen, "qLen", queryHeads, "queryHeads", headDim);
    notSameArray(out, q, "q");
    notSameArray(out, k, "k");
    notSameArray(out, v, "v");
    notSameArray(out, mask, "mask");
  }

  /**
   * The checks of a call on K/V tensors: {@code q}, {@code mask} and {@code out} as for arrays; each tensor's
   * heads and width against the spec, {@code kvLen} against its tokens, its block table entries for the
   * tokens the call reads, its segments alive and readable by the threads that will read them, and
   * {@code out} not its storage.
   */
  static void attendArguments(AttentionSpec spec, int qLen, int kvLen, float[] q, KvSource k, KvSource v,
      float[] mask, float[] out, int threads) {
    Objects.requireNonNull(spec, "spec must not be null");
    Objects.requireNonNull(q, "q must not be null");
    Objects.requireNonNull(out, "out must not be null");
    lengths(qLen, kvLen);
    int queryHeads = spec.queryHeads();
    int headDim = spec.headDim();
    long qSize = (long) qLen * queryHeads * headDim;
    check("q", qSize, q.length, qLen, "qLen", queryHeads, "queryHeads", headDim);
    tensor("k", "k's scales", k, spec, qLen, kvLen, threads);
    tensor("v", "v's scales", v, spec, qLen, kvLen, threads);
    maskArgument(mask, qLen, kvLen);
    check("out", qSize, out.length, qLen, "qLen", queryHeads, "queryHeads", headDim);
    notSameArray(out, q, "q");
    notSameArray(out, mask, "mask");
    if (k.storedIn(out)) {
      throw new IllegalArgumentException("out must not be the storage of k");
    }
    if (v.storedIn(out)) {
      throw new IllegalArgumentException("out must not be the storage of v");
    }
  }

  /**
   * Every sequence of a batch as {@link #attendArguments(AttentionSpec, int, int, float[], KvSource, KvSource,
   * float[], float[], int)} checks a call, the message prefixed with the sequence's index; and no output is
   * another sequence's output or input.
   */
  static void batchArguments(AttentionSpec spec, AttentionBatch batch, int threads) {
    int n = batch.size();
    for (int s = 0; s < n; s++) {
      try {
        Objects.requireNonNull(batch.k(s), "k must not be null");
        Objects.requireNonNull(batch.v(s), "v must not be null");
        attendArguments(spec, batch.qLen(s), batch.kvLen(s), batch.q(s), KvSources.of(batch.k(s)),
            KvSources.of(batch.v(s)), batch.mask(s), batch.out(s), threads);
      } catch (RuntimeException e) {
        throw inSequence(s, e);
      }
    }
    for (int s = 0; s < n; s++) {
      float[] out = batch.out(s);
      for (int t = 0; t < n; t++) {
        if (t == s) {
          continue;
        }
        // Messages are built only on failure: nothing is allocated per call.
        if (out == batch.out(t)) {
          throw new IllegalArgumentException("sequence " + s + ": out must not be sequence " + t + "'s out");
        }
        if (out == batch.q(t) || out == batch.mask(t) || KvSources.of(batch.k(t)).storedIn(out)
            || KvSources.of(batch.v(t)).storedIn(out)) {
          throw new IllegalArgumentException("sequence " + s + ": out must not be one of sequence " + t
              + "'s inputs");
        }
      }
    }
  }

  /** The same kind of exception, its message prefixed with the sequence. */
  private static RuntimeException inSequence(int s, RuntimeException e) {
    String message = "sequence " + s + ": " + e.getMessage();
    return switch (e) {
      case NullPointerException x -> (RuntimeException) new NullPointerException(message).initCause(e);
      case WrongThreadException x -> new WrongThreadException(message, e);
      case IllegalArgumentException x -> new IllegalArgumentException(message, e);
      case IllegalStateException x -> new IllegalStateException(message, e);
      default -> e;
    };
  }

  /**
   * The checks of a call with queries and outputs in segments: the tensor checks for K and V; each row
   * view's heads and width against the spec and its tokens against {@code qLen}; segments alive and
   * readable; {@code out} writable and overlapping no input.
   */
  static void segmentArguments(AttentionSpec spec, int qLen, int kvLen, KvSource q, KvSource k, KvSource v,
      float[] mask, KvSource out, int threads) {
    Objects.requireNonNull(spec, "spec must not be null");
    lengths(qLen, kvLen);
    rows("q", q, spec, qLen, threads);
    tensor("k", "k's scales", k, spec, qLen, kvLen, threads);
    tensor("v", "v's scales", v, spec, qLen, kvLen, threads);
    maskArgument(mask, qLen, kvLen);
    if ((long) qLen * spec.queryHeads() * spec.headDim() > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("q of " + qLen + " tokens is more than one call can hold");
    }
    rows("out", out, spec, qLen, threads);
    if (out.data().isReadOnly()) {
      throw new IllegalArgumentException("out's segment is read-only");
    }
    if (out.overlaps(q) || out.overlaps(k) || out.overlaps(v) || out.storedIn(mask)) {
      throw new IllegalArgumentException("out must not overlap q, k, v or mask");
    }
  }

  private static void rows(String name, KvSource t, AttentionSpec spec, int qLen, int threads) {
    if (t.kvHeads() != spec.queryHeads() || t.headDim() != spec.headDim()) {
      throw new IllegalArgumentException(name + " has " + t.kvHeads() + " heads of width " + t.headDim()
          + ", the spec " + spec.queryHeads() + " query heads of width " + spec.headDim());
    }
    if (qLen > t.tokens()) {
      throw new IllegalArgumentException("qLen=" + qLen + " exceeds the " + t.tokens() + " tokens of " + name);
    }
    segment(name, t.data, threads);
  }

  /**
   * The log-sum-exp output of {@code [qLen][queryHeads]} floats: not null, long enough, and not an array the
   * call reads or {@code out}.
   */
  static void lseArgument(float[] lse, AttentionSpec spec, int qLen, Object... others) {
    Objects.requireNonNull(lse, "lse must not be null");
    long size = (long) qLen * spec.queryHeads();
    if (lse.length < size) {
      throw failure("lse", "[qLen=" + qLen + "][queryHeads=" + spec.queryHeads() + "]", size, lse.length);
    }
    for (Object other : others) {
      if (other == lse) {
        throw new IllegalArgumentException("lse must not be the same array as an input or out");
      }
    }
  }

  private static void maskArgument(float[] mask, int qLen, int kvLen) {
    long maskSize = (long) qLen * kvLen;
    if (mask != null && (maskSize > Integer.MAX_VALUE || mask.length < maskSize)) {
      throw failure("mask", "[qLen=" + qLen + "][kvLen=" + kvLen + "]", maskSize, mask.length);
    }
  }

  private static void lengths(int qLen, int kvLen) {
    if (qLen <= 0) {
      throw new IllegalArgumentException("qLen must be positive, got " + qLen);
    }
    if (kvLen <= 0) {
      throw new IllegalArgumentException("kvLen must be positive, got " + kvLen);
    }
  }

  private static void tensor(String name, String scalesName, KvSource t, AttentionSpec spec, int qLen,
      int kvLen, int threads) {
    if (t.kvHeads() != spec.kvHeads() || t.headDim() != spec.headDim()) {
      throw new IllegalArgumentException(name + " has " + t.kvHeads() + " KV heads of width " + t.headDim()
          + ", the spec " + spec.kvHeads() + " of width " + spec.headDim());
    }
    if (kvLen > t.tokens()) {
      throw new IllegalArgumentException("kvLen=" + kvLen + " exceeds the " + t.tokens() + " tokens of " + name);
    }
    if (t.blockTokens != 0) {
      // Only the blocks the call reads: with a sliding window, from the first visible key's key block on
      // (an engine may have freed the pages before it).
      int blocks = (kvLen - 1) / t.blockTokens + 1;
      int[] table = t.table;
      for (int b = Call.keyBase(spec, qLen, kvLen) / t.blockTokens; b < blocks; b++) {
        if (table[b] < 0 || table[b] >= t.poolBlocks) {
          throw new IllegalArgumentException(name + "'s block table entry [" + b + "] = " + table[b]
              + " is outside its pool of " + t.poolBlocks + " blocks");
        }
      }
    }
    segment(name, t.data, threads);
    segment(scalesName, t.scales, threads);
  }

  /** A thread that never runs: a segment it may access is not confined to one thread. */
  private static final Thread NOT_AN_OWNER = new Thread(() -> {});

  private static void segment(String name, MemorySegment segment, int threads) {
    if (segment == null) {
      return;
    }
    if (!segment.scope().isAlive()) {
      throw new IllegalStateException(name + ": its segment's arena is closed");
    }
    if (!segment.isAccessibleBy(Thread.currentThread())) {
      throw new WrongThreadException(name + ": its segment is confined to another thread");
    }
    if (threads > 1 && !segment.isAccessibleBy(NOT_AN_OWNER)) {
      throw new IllegalArgumentException(name + ": its segment is confined to the calling thread, and the "
          + "call may run on " + threads + " threads; use a shared or global segment, or Parallelism.single()");
    }
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
