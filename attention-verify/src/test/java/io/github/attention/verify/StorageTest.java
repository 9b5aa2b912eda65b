package io.github.attention.verify;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.KvType;
import io.github.attention.kernel.Parallelism;
import io.github.attention.verify.Problems.Recipe;
import java.lang.foreign.Arena;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Assume;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.statistics.Statistics;

/**
 * K and V in every storage kind ({@link Storage}: F32, BF16, F16, INT8; token-major, head-major, padded
 * strides, paged with shuffled and shared blocks; arrays, heap and native segments): the kernel agrees with
 * the reference computed on the values the storage holds, widened, within the fp32 bound of
 * {@link ErrorBound} (unchanged: the reference sees exactly what the kernel should see), and its output is
 * bitwise that of the array overload on those widened values, on one thread and on two. Both hold because
 * widening is exact and everything after it is the fp32 arithmetic of the array path.
 */
class StorageTest {

  private static final ErrorStats STATS = new ErrorStats("storage kinds vs reference");
  private static final Parallelism TWO = Parallelism.threads(2);

  @Provide
  Arbitrary<Recipe> problems() {
    return Problems.recipes();
  }

  @Provide
  Arbitrary<Storage.Recipe> storages() {
    return Combinators.combine(Arbitraries.of(KvType.class), Arbitraries.of(Storage.Layout.class),
            Arbitraries.of(Storage.Memory.class), Arbitraries.of(1, 2, 5, 16, 64, 128), Arbitraries.longs())
        .as(Storage.Recipe::new);
  }

  @Provide
  Arbitrary<AttentionKernel> kernels() {
    return Arbitraries.of(AttentionKernel.scalar(), AttentionKernel.vector());
  }

  @Property
  @Tag("species")
  void everyStorageKindGivesTheArrayResultOfItsValues(@ForAll("problems") Recipe recipe,
      @ForAll("storages") Storage.Recipe keys, @ForAll("storages") Storage.Recipe values,
      @ForAll("kernels") AttentionKernel kernel) {
    Problem p = recipe.build();
    int kvHeads = p.spec().kvHeads();
    int headDim = p.spec().headDim();
    try (Arena arena = Arena.ofShared()) {
      Storage k = Storage.of(keys, p.k(), p.kvLen(), kvHeads, headDim, arena);
      Storage v = Storage.of(values, p.v(), p.kvLen(), kvHeads, headDim, arena);
      Assume.that(Storage.finite(k.dequantized) && Storage.finite(v.dequantized));
      Statistics.label("keys").collect(keys.type(), keys.layout());
      Problem widened = p.with(p.spec(), k.dequantized, v.dequantized, p.mask(), "K " + keys + ", V " + values);
      float[] expected = widened.run(kernel);
      // Errors reported per backend and key type (the bound is the fp32 one for every type).
      Agreement.assertWithinBound(kernel.name() + " K " + keys.type(), widened, expected, widened.reference(),
          STATS);
      for (Parallelism threads : new Parallelism[] {Parallelism.single(), TWO}) {
        float[] out = widened.newOut();
        kernel.attend(p.spec(), p.qLen(), p.kvLen(), p.q(), k.tensor, v.tensor, p.mask(), out, threads);
        Agreement.assertIdentical(kernel.name() + " on " + k.tensor + " / " + v.tensor + ", " + threads,
            expected, out, out.length, widened);
      }
    }
  }

  /**
   * Shrunk from the property on 128-bit vectors: int8 keys of one vector (4 bytes) a row, paged in blocks of
   * one token, in an array holding exactly the rows. The stored-rows tile loaded a whole byte vector (8
   * lanes there) per row, so the last row's load ran 4 bytes past the pool; it now loads the first L lanes
   * masked. On wider species the rows are whole byte vectors and this holds trivially.
   */
  @Example
  @Tag("species")
  void int8RowsOfOneVectorEndExactlyAtTheirStorage() {
    for (AttentionKernel kernel : kernels().allValues().orElseThrow().toList()) {
      everyStorageKindGivesTheArrayResultOfItsValues(
          new Recipe(new Problems.Shape(1, 1, 4, 1, 2, false, 0.5f), new Problems.Content(
              Problems.MaskKind.NONE, 0f, 0.05, 1e-40, Problems.ValueKind.SYMMETRIC, 1e-30, 0, 0)),
          new Storage.Recipe(KvType.INT8, Storage.Layout.PAGED, Storage.Memory.ARRAY, 1, 0),
          new Storage.Recipe(KvType.F32, Storage.Layout.TOKEN_MAJOR, Storage.Memory.ARRAY, 1, 0), kernel);
    }
  }

  @AfterContainer
  static void report() {
    STATS.printAndReset();
    TWO.close();
  }
}
