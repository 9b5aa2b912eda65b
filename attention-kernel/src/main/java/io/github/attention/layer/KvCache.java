package io.github.attention.layer;

import java.util.Objects;

/**
 * The keys and values of the tokens a {@link MultiHeadAttention} layer has seen so far in one sequence, so
 * that each new token costs one projection and one pass over the cache instead of recomputing the prefix.
 * Made by {@link MultiHeadAttention#newCache(int)} for a fixed capacity; filled by
 * {@link MultiHeadAttention#forward(float[], int, KvCache, float[])}.
 *
 * <p>Holds {@code [capacity][kvHeads][headDim]} keys and as many values, allocated up front. Not
 * thread-safe: one sequence, one thread at a time.
 */
public final class KvCache {

  private final MultiHeadAttention layer;
  private final int capacity;
  private final float[] keys;
  private final float[] values;
  private int length;

  KvCache(MultiHeadAttention layer, int capacity, int size) {
    this.layer = layer;
    this.capacity = capacity;
    this.keys = new float[size];
    this.values = new float[size];
  }

  /** @return the most tokens this cache can hold */
  public int capacity() {
    return capacity;
  }

  /** @return the number of tokens cached so far, the position of the next token */
  public int length() {
    return length;
  }

  /** @return how many more tokens fit */
  public int remaining() {
    return capacity - length;
  }

  /** Empties the cache, to start a new sequence. Keeps the memory. */
  public void reset() {
    length = 0;
  }

  /**
   * Forgets the tokens from position {@code length} on, keeping the first {@code length}: rolls the sequence
   * back (rejected speculative tokens, another branch of a search, a benchmark repeating one step).
   *
   * @param length the number of tokens to keep, {@code 0 <= length <= length()}
   * @throws IllegalArgumentException if {@code length} is negative or more than {@link #length()}
   */
  public void truncate(int length) {
    if (length < 0 || length > this.length) {
      throw new IllegalArgumentException("length must be between 0 and the cached " + this.length
          + " tokens, got " + length);
    }
    this.length = length;
  }

  /**
   * Appends keys and values computed elsewhere (for example a prompt's keys and values saved from an earlier
   * run of the same weights), as if {@code tokens} tokens had gone through the layer.
   *
   * @param keys {@code [tokens][kvHeads][headDim]}, at least {@code tokens·kvHeads·headDim} long
   * @param values {@code [tokens][kvHeads][headDim]}, at least {@code tokens·kvHeads·headDim} long
   * @param tokens the number of tokens, at least 1
   * @throws NullPointerException if {@code keys} or {@code values} is null
   * @throws IllegalArgumentException if {@code tokens < 1} or an array is too short
   * @throws IllegalStateException if the tokens do not fit ({@link #remaining()} is less); nothing changes
   */
  public void load(float[] keys, float[] values, int tokens) {
    Objects.requireNonNull(keys, "keys must not be null");
    Objects.requireNonNull(values, "values must not be null");
    if (tokens < 1) {
      throw new IllegalArgumentException("tokens must be at least 1, got " + tokens);
    }
    int width = layer.kvHeads() * layer.headDim();
    long size = (long) tokens * width;
    if (tokens > remaining()) {
      throw new IllegalStateException("KV cache overflow: " + length + " tokens cached + " + tokens
          + " loaded > capacity " + capacity);
    }
    if (keys.length < size) {
      throw new IllegalArgumentException("keys is too short for shape [tokens=" + tokens + "][kvHeads="
          + layer.kvHeads() + "][headDim=" + layer.headDim() + "]: expected at least " + size
          + " elements, got " + keys.length);
    }
    if (values.length < size) {
      throw new IllegalArgumentException("values is too short for shape [tokens=" + tokens + "][kvHeads="
          + layer.kvHeads() + "][headDim=" + layer.headDim() + "]: expected at least " + size
          + " elements, got " + values.length);
    }
    System.arraycopy(keys, 0, this.keys, length * width, (int) size);
    System.arraycopy(values, 0, this.values, length * width, (int) size);
    length += tokens;
  }

  @Override
  public String toString() {
    return "KvCache[" + length + "/" + capacity + " tokens]";
  }

  MultiHeadAttention layer() {
    return layer;
  }

  float[] keys() {
    return keys;
  }

  float[] values() {
    return values;
  }

  void append(int tokens) {
    length += tokens;
  }
}
