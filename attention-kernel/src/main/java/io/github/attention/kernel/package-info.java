/**
 * Scaled dot-product attention for the CPU: {@link io.github.attention.kernel.AttentionKernel} (the kernels
 * and how to get one), {@link io.github.attention.kernel.AttentionSpec} (heads, head width, scale,
 * causality), {@link io.github.attention.kernel.Parallelism} (threads),
 * {@link io.github.attention.kernel.Blocking} (the rules that fix the order of operations), and where the
 * data may live: {@link io.github.attention.kernel.KvTensor} and {@link io.github.attention.kernel.KvType}
 * (keys and values in an engine's own storage and element type),
 * {@link io.github.attention.kernel.HeadRows} (queries and outputs in segments) and
 * {@link io.github.attention.kernel.AttentionBatch} (many sequences in one call).
 */
package io.github.attention.kernel;
