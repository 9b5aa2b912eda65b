package io.github.attention.kernel;

import java.util.Arrays;
import java.util.Objects;

/**
 * Several independent attention problems that share one {@link AttentionSpec}, for
 * {@link AttentionKernel#attend(AttentionSpec, AttentionBatch, Parallelism)}: a server decoding many
 * sequences at once. Each sequence has its own queries, keys and values ({@link KvTensor}s: one paged pool
 * with a block table per sequence, or anything else), lengths, mask and output; their work items run
 * together on the call's threads, so a batch of short decoding steps keeps every thread busy.
 *
 * <p>A batch is a mutable, reusable holder (so that a serving loop allocates nothing per step): {@link #set}
 * the sequences of this step, {@link #size(int)} to how many there are, call, and repeat. Nothing is checked
 * until the call (which checks every sequence before it writes anything). Not thread-safe: one batch per
 * calling thread.
 */
public final class AttentionBatch {

  private int size;
  private int[] qLen = new int[0];
  private int[] kvLen = new int[0];
  private float[][] q = new float[0][];
  private KvTensor[] k = new KvTensor[0];
  private KvTensor[] v = new KvTensor[0];
  private float[][] mask = new float[0][];
  private float[][] out = new float[0][];

  /** An empty batch. */
  public AttentionBatch() {}

  /**
   * Sets sequence {@code index}, growing the batch to {@code index + 1} sequences if it had fewer. Its
   * arguments mean what those of {@link AttentionKernel#attend(AttentionSpec, int, int, float[], KvTensor,
   * KvTensor, float[], float[])} mean.
   *
   * @param index the sequence, from 0
   * @param qLen its query rows
   * @param kvLen its keys and values to read
   * @param q its queries, {@code [qLen][queryHeads][headDim]}
   * @param k its keys
   * @param v its values
   * @param mask null, or its additive mask {@code [qLen][kvLen]}
   * @param out its output, {@code [qLen][queryHeads][headDim]}
   * @return this batch
   * @throws IndexOutOfBoundsException if {@code index} is negative
   */
  public AttentionBatch set(int index, int qLen, int kvLen, float[] q, KvTensor k, KvTensor v, float[] mask,
      float[] out) {
    if (index < 0) {
      throw new IndexOutOfBoundsException("index must not be negative, got " + index);
    }
    if (index >= this.qLen.length) {
      grow(Math.max(index + 1, 2 * this.qLen.length));
    }
    size = Math.max(size, index + 1);
    this.qLen[index] = qLen;
    this.kvLen[index] = kvLen;
    this.q[index] = q;
    this.k[index] = k;
    this.v[index] = v;
    this.mask[index] = mask;
    this.out[index] = out;
    return this;
  }

  /**
   * Keeps the first {@code size} sequences (those set before); the others are forgotten.
   *
   * @param size sequences in the batch, 0 to {@link #size()}
   * @return this batch
   * @throws IllegalArgumentException if {@code size} is negative or more than the current size
   */
  public AttentionBatch size(int size) {
    if (size < 0 || size > this.size) {
      throw new IllegalArgumentException("size must be in 0.." + this.size + ", got " + size);
    }
    for (int i = size; i < this.size; i++) {
      q[i] = null;
      k[i] = null;
      v[i] = null;
      mask[i] = null;
      out[i] = null;
    }
    this.size = size;
    return this;
  }

  /** {@return how many sequences the batch holds} */
  public int size() {
    return size;
  }

  private void grow(int capacity) {
    qLen = Arrays.copyOf(qLen, capacity);
    kvLen = Arrays.copyOf(kvLen, capacity);
    q = Arrays.copyOf(q, capacity);
    k = Arrays.copyOf(k, capacity);
    v = Arrays.copyOf(v, capacity);
    mask = Arrays.copyOf(mask, capacity);
    out = Arrays.copyOf(out, capacity);
  }

  /**
   * Sequence {@code i}'s query rows.
   *
   * @param i the sequence, {@code 0 <= i < size()}
   * @return its query rows
   * @throws IndexOutOfBoundsException if {@code i} is out of range
   */
  public int qLen(int i) {
    return qLen[Objects.checkIndex(i, size)];
  }

  /**
   * Sequence {@code i}'s key/value tokens.
   *
   * @param i the sequence, {@code 0 <= i < size()}
   * @return its key count
   * @throws IndexOutOfBoundsException if {@code i} is out of range
   */
  public int kvLen(int i) {
    return kvLen[Objects.checkIndex(i, size)];
  }

  /**
   * Sequence {@code i}'s queries.
   *
   * @param i the sequence, {@code 0 <= i < size()}
   * @return its queries
   * @throws IndexOutOfBoundsException if {@code i} is out of range
   */
  public float[] q(int i) {
    return q[Objects.checkIndex(i, size)];
  }

  /**
   * Sequence {@code i}'s keys.
   *
   * @param i the sequence, {@code 0 <= i < size()}
   * @return its keys
   * @throws IndexOutOfBoundsException if {@code i} is out of range
   */
  public KvTensor k(int i) {
    return k[Objects.checkIndex(i, size)];
  }

  /**
   * Sequence {@code i}'s values.
   *
   * @param i the sequence, {@code 0 <= i < size()}
   * @return its values
   * @throws IndexOutOfBoundsException if {@code i} is out of range
   */
  public KvTensor v(int i) {
    return v[Objects.checkIndex(i, size)];
  }

  /**
   * Sequence {@code i}'s additive mask.
   *
   * @param i the sequence, {@code 0 <= i < size()}
   * @return its mask, or null
   * @throws IndexOutOfBoundsException if {@code i} is out of range
   */
  public float[] mask(int i) {
    return mask[Objects.checkIndex(i, size)];
  }

  /**
   * Sequence {@code i}'s output.
   *
   * @param i the sequence, {@code 0 <= i < size()}
   * @return its output
   * @throws IndexOutOfBoundsException if {@code i} is out of range
   */
  public float[] out(int i) {
    return out[Objects.checkIndex(i, size)];
  }
}
