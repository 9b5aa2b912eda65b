package io.github.attention.bench;

import io.github.attention.kernel.AttentionSpec;

/**
 * The benchmarked attention layers ({@link io.github.attention.layer.MultiHeadAttention}): the one table of
 * layer workloads that {@link LayerBench}, the comparison and the tests share. Every layer is fp32, causal,
 * default scale, without biases.
 *
 * <p>A workload runs {@link #tokens()} new tokens after {@link #cached()} tokens already in a KV cache: a
 * prefill has no cache, a decode step one new token. {@link #flops()} counts the four projections
 * ({@code 2·tokens·in·out} each) and attention (4·headDim per query head and visible (query, key) pair, as
 * {@link Shape#flops()}); softmax, biases and copies are not counted. {@link #memoryBytes()} is what a
 * decode step must read from memory: the four weight matrices and the K and V cached before the step.
 */
public enum LayerShape {
  /** A 512-token prompt through a 1024-wide layer of 16 heads of 64. */
  LAYER_PREFILL_512("layer-prefill-512", 1024, 16, 16, 64, 512, 0),
  /** One token after a 4096-token prompt, 4096 wide, 32 query heads sharing 8 KV heads of 128. */
  LAYER_DECODE_4K("layer-decode-4k", 4096, 32, 8, 128, 1, 4096);

  private final String id;
  private final int modelDim;
  private final int queryHeads;
  private final int kvHeads;
  private final int headDim;
  private final int tokens;
  private final int cached;

  LayerShape(String id, int modelDim, int queryHeads, int kvHeads, int headDim, int tokens, int cached) {
    this.id = id;
    this.modelDim = modelDim;
    this.queryHeads = queryHeads;
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.tokens = tokens;
    this.cached = cached;
  }

  /**
   * The workload with the given id, as used by the benchmark's {@code workload} parameter.
   *
   * @param id an id such as {@code "layer-prefill-512"}
   * @return the workload
   * @throws IllegalArgumentException if no workload has that id
   */
  public static LayerShape byId(String id) {
    for (LayerShape shape : values()) {
      if (shape.id.equals(id)) {
        return shape;
      }
    }
    throw new IllegalArgumentException("unknown layer workload '" + id + "', expected one of " + ids());
  }

  /** @return every workload's id, in table order, comma-separated */
  public static String ids() {
    StringBuilder all = new StringBuilder();
    for (LayerShape shape : values()) {
      all.append(all.isEmpty() ? "" : ",").append(shape.id);
    }
    return all.toString();
  }

  /** @return the id, e.g. {@code "layer-decode-4k"} */
  public String id() {
    return id;
  }

  /** @return the embedding width {@code d_model}, the projections' input and the layer's output width */
  public int modelDim() {
    return modelDim;
  }

  /** @return number of query heads */
  public int queryHeads() {
    return queryHeads;
  }

  /** @return number of key/value heads */
  public int kvHeads() {
    return kvHeads;
  }

  /** @return width of every head */
  public int headDim() {
    return headDim;
  }

  /** @return new tokens per call: the sequence length of a prefill, 1 for a decode step */
  public int tokens() {
    return tokens;
  }

  /** @return tokens already in the KV cache before the call (0 for a prefill) */
  public int cached() {
    return cached;
  }

  /** @return keys each new token's attention ranges over at most: {@code cached + tokens} */
  public int kvLen() {
    return cached + tokens;
  }

  /** @return whether this is a decode step over a KV cache, where memory bandwidth is the limit */
  public boolean decode() {
    return cached > 0;
  }

  /** @return width of the concatenated query heads, {@code queryHeads·headDim} */
  public int queryWidth() {
    return queryHeads * headDim;
  }

  /** @return width of one token's keys (or values), {@code kvHeads·headDim} */
  public int kvWidth() {
    return kvHeads * headDim;
  }

  /** @return the causal attention spec the layer passes to its kernel (default scale) */
  public AttentionSpec spec() {
    return AttentionSpec.of(queryHeads, kvHeads, headDim).withCausal(true);
  }

  /**
   * Causal (query, key) pairs per query head: new token {@code i} sees the cache and new tokens
   * {@code 0..i}, so {@code tokens·cached + tokens·(tokens+1)/2}.
   *
   * @return visible pairs per query head
   */
  public long visiblePairs() {
    return (long) tokens * cached + (long) tokens * (tokens + 1) / 2;
  }

  /** @return flops of the four projections: {@code 2·tokens·modelDim·(2·queryWidth + 2·kvWidth)} */
  public double projectionFlops() {
    return 2.0 * tokens * modelDim * (2.0 * queryWidth() + 2.0 * kvWidth());
  }

  /** @return flops of attention: {@code 4·headDim·queryHeads·visiblePairs()} */
  public double attentionFlops() {
    return 4.0 * headDim * queryHeads * visiblePairs();
  }

  /** @return flops of one layer call: projections plus attention */
  public double flops() {
    return projectionFlops() + attentionFlops();
  }

  /** @return bytes of the four weight matrices, {@code 4·modelDim·(2·queryWidth + 2·kvWidth)} */
  public long weightBytes() {
    return (long) Float.BYTES * modelDim * (2L * queryWidth() + 2L * kvWidth());
  }

  /**
   * Bytes of the keys and values of some tokens.
   *
   * @param tokens number of tokens
   * @return {@code 2·tokens·kvWidth·4}
   */
  public long kvBytes(int tokens) {
    return 2L * tokens * kvWidth() * Float.BYTES;
  }

  /**
   * Bytes a decode step must read from memory: every weight once, and the K and V cached before the step
   * (the new token's K and V were just written, so they are still in the caches). 0 for a prefill, which
   * reuses each weight across many tokens.
   *
   * @return {@code weightBytes() + kvBytes(cached())} for a decode step, else 0
   */
  public long memoryBytes() {
    return decode() ? weightBytes() + kvBytes(cached) : 0;
  }

  @Override
  public String toString() {
    return id;
  }
}
