package io.github.attention.internal.lookup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.github.attention.internal.scalar.ScalarBackend;
import io.github.attention.internal.vector.VectorBackend;
import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.Parallelism;
import org.junit.jupiter.api.Test;

/** Which backend a layer's projections run on, in a JVM with the vector module and a 512-bit machine. */
class BackendLookupTest {

  @Test
  void eachKernelOfTheLibraryRunsItsProjectionsOnItsOwnBackend() {
    assertSame(ScalarBackend.INSTANCE, BackendLookup.backendOf(AttentionKernel.scalar()));
    assertSame(VectorBackend.INSTANCE, BackendLookup.backendOf(AttentionKernel.vector()));
    assertSame(BackendLookup.vector(), BackendLookup.best());
    assertEquals("vector-" + VectorBackend.bits(), BackendLookup.vector().name());
  }

  /** Another implementation says nothing about matrix products: best()'s backend. */
  @Test
  void aKernelOfAnotherImplementationGetsTheBestBackend() {
    AttentionKernel foreign = new AttentionKernel() {
      @Override
      public void attend(AttentionSpec spec, int qLen, int kvLen, float[] q, float[] k, float[] v, float[] mask,
          float[] out) {
        AttentionKernel.scalar().attend(spec, qLen, kvLen, q, k, v, mask, out, Parallelism.single());
      }

      @Override
      public String name() {
        return "foreign";
      }
    };
    assertSame(VectorBackend.INSTANCE, BackendLookup.backendOf(foreign));
  }
}
