/**
 * Scaled dot-product attention for the CPU: {@link io.github.attention.kernel.AttentionKernel} (the kernels
 * and how to get one), {@link io.github.attention.kernel.AttentionSpec} (heads, head width, scale,
 * causality), {@link io.github.attention.kernel.Parallelism} (threads) and
 * {@link io.github.attention.kernel.Blocking} (the rules that fix the order of operations).
 */
package io.github.attention.kernel;
