package io.github.attention.internal.core;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.internal.lookup.BackendLookup;
import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.Parallelism;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** What the kernel keeps of a call once it has returned: nothing of the caller's, on any thread. */
class BlockedAttentionTest {

  static AttentionKernel[] kernels() {
    return new AttentionKernel[] {BackendLookup.scalar(), BackendLookup.vector()};
  }

  @ParameterizedTest
  @MethodSource("kernels")
  void noThreadKeepsTheCallersArrays(AttentionKernel kernel) throws InterruptedException {
    List<WeakReference<float[]>> arrays = new ArrayList<>();
    try (Parallelism two = Parallelism.threads(2)) {
      // Prefill (query blocks, prepared heads) and a split decoding call, both with a mask, on two threads.
      callAndForget(kernel, AttentionSpec.of(4, 2, 32), 300, 300, two, arrays);
      callAndForget(kernel, AttentionSpec.of(4, 2, 32).withCausal(true), 1, 2000, two, arrays);
      for (int i = 0; i < 50 && arrays.stream().anyMatch(a -> a.get() != null); i++) {
        System.gc();
        Thread.sleep(10);
      }
      for (int i = 0; i < arrays.size(); i++) {
        // (Not assertNull: its message would print the array.)
        assertTrue(arrays.get(i).get() == null,
            "array " + i + " (q, k, v, mask, out of each call) is still reachable");
      }
    }
  }

  private static void callAndForget(AttentionKernel kernel, AttentionSpec spec, int qLen, int kvLen,
      Parallelism threads, List<WeakReference<float[]>> arrays) {
    float[] q = new float[qLen * spec.queryHeads() * spec.headDim()];
    float[] k = new float[kvLen * spec.kvHeads() * spec.headDim()];
    float[] v = new float[k.length];
    float[] mask = new float[qLen * kvLen];
    float[] out = new float[q.length];
    kernel.attend(spec, qLen, kvLen, q, k, v, mask, out, threads);
    for (float[] a : new float[][] {q, k, v, mask, out}) {
      arrays.add(new WeakReference<>(a));
    }
  }
}
