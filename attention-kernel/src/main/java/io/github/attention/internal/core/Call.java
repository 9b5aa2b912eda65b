package io.github.attention.internal.core;

import io.github.attention.internal.parallel.Work;
import io.github.attention.kernel.AttentionSpec;

/**
 * One attention call in progress: the caller's checked arguments and the call's {@link Plan}, read by every
 * thread that runs one of its items. Each thread's {@link Workspace} keeps one, reused from call to call;
 * {@link #close} drops the references to the caller's arrays.
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
  float[] k;
  float[] v;
  float[] mask;
  float[] out;
  /** The split call's partial results (in the caller's workspace). */
  Partials partials;

  void open(BlockedAttention kernel, Plan plan, long id, int qLen, int kvLen, float[] q, float[] k, float[] v,
      float[] mask, float[] out, Partials partials) {
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
  }

  /**
   * Elements from one token's key (or value) to the next token's: the caller's arrays are token-major,
   * {@code [kvLen][kvHeads][headDim]}. (Where strided and head-major layouts will be described.)
   */
  int tokenStride() {
    return spec.kvHeads() * spec.headDim();
  }

  /** @return where the key (or value) of token {@code token}, KV head {@code head} starts in {@code k} ({@code v}) */
  int kvOffset(int token, int head) {
    return token * tokenStride() + head * spec.headDim();
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
    mask = null;
    out = null;
    partials = null;
  }
}
