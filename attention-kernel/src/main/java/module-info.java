/**
 * Fused, online-softmax attention kernels for the CPU, a plain-Java scalar backend and a backend on the JDK
 * Vector API (its incubator module), and the attention layer of a transformer built on them.
 *
 * <p>Two public packages: {@link io.github.attention.kernel} (the kernel, its spec, threads, K/V views) and
 * {@link io.github.attention.layer} (the layer and its KV cache). Everything else is internal and not
 * exported. The Vector API module is optional at run time ({@code requires static}): a program started
 * without adding it to the JVM's modules still works and gets the scalar kernel from
 * {@link io.github.attention.kernel.AttentionKernel#best()}.
 */
module io.github.attention.kernel {
  requires static jdk.incubator.vector;

  exports io.github.attention.kernel;
  exports io.github.attention.layer;
}
