package io.github.attention.verify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.kernel.AttentionBatch;
import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.KvTensor;
import io.github.attention.kernel.Parallelism;
import io.github.attention.verify.Problems.Recipe;
import io.github.attention.verify.Problems.Shape;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * A batch of sequences sharing one spec (each its own lengths, mask, K/V storage) gives every sequence
 * bitwise the output of a call of it alone, on 1, 2 and 3 threads; invalid sequences are refused, naming
 * them, before any output is written.
 */
class BatchTest {

  private static final Parallelism TWO = Parallelism.threads(2);
  private static final Parallelism THREE = Parallelism.threads(3);

  @Provide
  Arbitrary<List<Recipe>> batches() {
    return Problems.recipes().list().ofMinSize(1).ofMaxSize(5);
  }

  @Provide
  Arbitrary<List<Storage.Recipe>> storages() {
    return new StorageTest().storages().list().ofSize(10);
  }

  @Provide
  Arbitrary<AttentionKernel> kernels() {
    return Arbitraries.of(AttentionKernel.scalar(), AttentionKernel.vector());
  }

  @Property(tries = 200)
  @Tag("species")
  void aBatchGivesEachSequenceItsOwnResult(@ForAll("batches") List<Recipe> recipes,
      @ForAll("storages") List<Storage.Recipe> storages, @ForAll("kernels") AttentionKernel kernel) {
    // Every sequence takes the first one's heads, width, causality and scale; lengths and contents vary.
    Shape first = recipes.get(0).shape();
    List<Problem> problems = new ArrayList<>();
    for (Recipe r : recipes) {
      Shape s = r.shape();
      int qLen = Math.min(s.qLen(), 64);
      int kvLen = Math.min(s.kvLen(), 300);
      problems.add(new Recipe(new Shape(first.queryHeads(), first.kvHeads(), first.headDim(), qLen, kvLen,
          first.causal(), first.scale()), r.content()).build());
    }
    AttentionSpec spec = problems.get(0).spec();
    try (Arena arena = Arena.ofShared()) {
      AttentionBatch batch = new AttentionBatch();
      List<float[]> alone = new ArrayList<>();
      for (int i = 0; i < problems.size(); i++) {
        Problem p = problems.get(i);
        Storage k = Storage.of(storages.get(2 * i), p.k(), p.kvLen(), spec.kvHeads(), spec.headDim(), arena);
        Storage v = Storage.of(storages.get(2 * i + 1), p.v(), p.kvLen(), spec.kvHeads(), spec.headDim(),
            arena);
        float[] out = p.newOut();
        kernel.attend(spec, p.qLen(), p.kvLen(), p.q(), k.tensor, v.tensor, p.mask(), out);
        alone.add(out);
        batch.set(i, p.qLen(), p.kvLen(), p.q(), k.tensor, v.tensor, p.mask(), p.newOut());
      }
      for (Parallelism threads : new Parallelism[] {Parallelism.single(), TWO, THREE}) {
        for (int i = 0; i < problems.size(); i++) {
          Arrays.fill(batch.out(i), 0, problems.get(i).outSize(), Float.NaN);
        }
        kernel.attend(spec, batch, threads);
        for (int i = 0; i < problems.size(); i++) {
          Agreement.assertIdentical(kernel.name() + " batch sequence " + i + " of " + problems.size() + " on "
              + threads, alone.get(i), batch.out(i), alone.get(i).length, problems.get(i));
        }
      }
    }
  }

  @Example
  void invalidSequencesAreNamedAndNothingIsWritten() {
    AttentionSpec spec = AttentionSpec.of(4, 2, 8);
    KvTensor kv = KvTensor.of(new float[10 * 16], 10, 2, 8);
    float[] q = new float[32];
    float[] out0 = new float[32];
    float[] out1 = new float[32];
    Arrays.fill(out0, 3f);
    Arrays.fill(out1, 3f);
    for (AttentionKernel kernel : List.of(AttentionKernel.scalar(), AttentionKernel.vector())) {
      AttentionBatch batch = new AttentionBatch()
          .set(0, 1, 10, q, kv, kv, null, out0)
          .set(1, 1, 11, q, kv, kv, null, out1);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> kernel.attend(spec, batch, Parallelism.single()));
      assertTrue(e.getMessage().startsWith("sequence 1: kvLen=11"), e.getMessage());
      batch.set(1, 1, 10, q, kv, kv, null, out0);
      e = assertThrows(IllegalArgumentException.class, () -> kernel.attend(spec, batch, Parallelism.single()));
      assertTrue(e.getMessage().contains("sequence 0: out must not be sequence 1's out"), e.getMessage());
      batch.set(1, 1, 10, out0, kv, kv, null, out1);
      e = assertThrows(IllegalArgumentException.class, () -> kernel.attend(spec, batch, Parallelism.single()));
      assertTrue(e.getMessage().contains("sequence 0: out must not be one of sequence 1's inputs"),
          e.getMessage());
      batch.set(1, 1, 10, q, null, kv, null, out1);
      NullPointerException npe = assertThrows(NullPointerException.class,
          () -> kernel.attend(spec, batch, Parallelism.single()));
      assertTrue(npe.getMessage().startsWith("sequence 1: k"), npe.getMessage());
      float[] untouched = new float[32];
      Arrays.fill(untouched, 3f);
      assertArrayEquals(untouched, out0);
      assertArrayEquals(untouched, out1);
      kernel.attend(spec, batch.size(0), Parallelism.single()); // empty: nothing to do
    }
  }

  @AfterContainer
  static void stopThreads() {
    TWO.close();
    THREE.close();
  }
}
