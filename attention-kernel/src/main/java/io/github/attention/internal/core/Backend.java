package io.github.attention.internal.core;

/**
 * One backend: the block operations {@link BlockedAttention} runs on, and the matrix products of the layer's
 * projections. Each backend is one package (scalar, vector); {@code BackendLookup} chooses among them.
 */
public interface Backend {

  /** @return the backend's name, e.g. {@code "scalar"} or {@code "vector-512"} */
  String name();

  /** @return the backend's attention block operations */
  BlockOps blockOps();

  /**
   * A matrix product {@code x·Wᵀ + b} on this backend, with its own copy of the weights.
   *
   * @param name the weight's name, for messages
   * @param weights {@code W}, {@code [out][in]}, at least {@code out·in} long (checked by the caller)
   * @param bias {@code b}, {@code [out]}, or null for none
   * @param out output columns
   * @param in input columns
   * @return the product
   * @throws IllegalArgumentException if the backend's copy of the weights would not fit in a Java array
   *     (the message names the weight)
   */
  LinearMap linearMap(String name, float[] weights, float[] bias, int out, int in);

  /**
   * Turns {@code n} pairs {@code (x, y) = (rows[at + i], rows[at + n + i])} in place by the angles whose
   * cosines and sines are {@code cs[csAt + i]} and {@code cs[csAt + n + i]}: {@code x' = x·c − y·s}, {@code y' = x·s + y·c},
   * each product and sum rounded to float (never fused), so every backend gives the same bits: the rotary
   * embedding's half-split pairing on one head.
   *
   * @param rows the rows
   * @param at the first element of the head
   * @param n pairs, half the rotated width
   * @param cs {@code n} cosines then {@code n} sines, from {@code csAt}
   * @param csAt where they start
   */
  void rotateHalves(float[] rows, int at, int n, float[] cs, int csAt);
}
