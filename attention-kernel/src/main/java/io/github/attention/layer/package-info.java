/**
 * The attention layer of a transformer on top of the kernel:
 * {@link io.github.attention.layer.MultiHeadAttention} (projections, attention, output projection) and
 * {@link io.github.attention.layer.KvCache} (the keys and values of a sequence, for token-by-token decoding).
 */
package io.github.attention.layer;
