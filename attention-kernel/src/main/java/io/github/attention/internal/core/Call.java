package io.github.attention.internal.core;

import io.github.attention.internal.parallel.Work;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.Blocking;

/**
 * One attention call in progress: the caller's checked arguments and the call's {@link Plan}, read by every
 * thread that runs one of its items. Each thread's {@link Workspace} keeps one, reused from call to call;
 * {@link #close} drops the references to the caller's arrays and segments.
 */
final class Call implements Work {

  BlockedAttention kernel;
  Plan plan;
  /** Distinguishes this call from every other, so that a thread's prepared K/V head is not mistaken. */
  long id;
  AttentionSpec spec;
  int qLen;
  int kvLen;
  float[] q;
  /** Where the keys and values are: a tensor's source, or {@link #ownK} / {@link #ownV}. */
  KvSource k;
  KvSource v;
  /** Sources this call points at the caller's token-major arrays (the {@code float[]} overloads). */
  private final KvSource ownK = new KvSource();
  private final KvSource ownV = new KvSource();
  float[] mask;
  float[] out;
  /** The split call's partial results (in the caller's workspace). */
  Partials partials;
  /** Where the call writes each row's log-sum-exp, {@code [qLen][queryHeads]}, or null. */
  float[] lse;
  /** The spec's sink logits and ALiBi slopes (not copies), or null. */
  float[] sinks;
  float[] slopes;
  /**
   * The first key any row can see, rounded down to a key block: 0 without a sliding window. Chunks of a
   * split call start here, so that a window's decode step splits the window, not the whole cache.
   */
  int keyBase;

  /** @return this call's own source of keys, pointed at {@code k} ({@code [kvLen][kvHeads][headDim]}) */
  KvSource ownKeys(float[] k, int kvLen, AttentionSpec spec) {
    ownK.tokenMajor(k, kvLen, spec.kvHeads(), spec.headDim());
    return ownK;
  }

  /** @return this call's own source of values, pointed at {@code v} */
  KvSource ownValues(float[] v, int kvLen, AttentionSpec spec) {
    ownV.tokenMajor(v, kvLen, spec.kvHeads(), spec.headDim());
    return ownV;
  }

  void open(BlockedAttention kernel, Plan plan, long id, int qLen, int kvLen, float[] q, KvSource k,
      KvSource v, float[] mask, float[] out, Partials partials) {
    this.kernel = kernel;
    this.plan = plan;
    this.id = id;
    this.spec = plan.spec();
    this.qLen = qLen;
    this.kvLen = kvLen;
    this.q = q;
    this.k = k;
    this.v = v;
    this.mask = mask;
    this.out = out;
    this.partials = partials;
    this.lse = null;
    this.sinks = SpecArrays.sinks(spec);
    this.slopes = SpecArrays.alibiSlopes(spec);
    this.keyBase = keyBase(spec, qLen, kvLen);
  }

  /**
   * The first key query row 0 (the earliest position) can see, rounded down to a whole key block: 0 without
   * a sliding window.
   */
  static int keyBase(AttentionSpec spec, int qLen, int kvLen) {
    int window = spec.slidingWindow();
    if (window == 0) {
      return 0;
    }
    long first = (long) kvLen - qLen - window + 1;
    long clamped = Math.max(0, Math.min(first, kvLen));
    return (int) (clamped / Blocking.KEY_BLOCK * Blocking.KEY_BLOCK);
  }

  @Override
  public void run(int item) {
    kernel.run(this, plan.items().get(item), Workspace.current());
  }

  void close() {
    kernel = null;
    plan = null;
    spec = null;
    q = null;
    k = null;
    v = null;
    ownK.release();
    ownV.release();
    mask = null;
    out = null;
    partials = null;
    lse = null;
    sinks = null;
    slopes = null;
  }
}
