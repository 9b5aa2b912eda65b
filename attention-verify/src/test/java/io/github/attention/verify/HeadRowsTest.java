package io.github.attention.verify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.HeadRows;
import io.github.attention.kernel.KvTensor;
import io.github.attention.kernel.Parallelism;
import io.github.attention.verify.Problems.Recipe;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * Queries and outputs in segments ({@link HeadRows}, native, misaligned, random padded layouts): the output
 * written to the segment is bitwise the array overload's, nothing outside the output rows is written, and
 * invalid views are refused before anything is written.
 */
class HeadRowsTest {

  private static final Parallelism TWO = Parallelism.threads(2);

  @Provide
  Arbitrary<Recipe> problems() {
    return Problems.recipes();
  }

  @Provide
  Arbitrary<AttentionKernel> kernels() {
    return Arbitraries.of(AttentionKernel.scalar(), AttentionKernel.vector());
  }

  /** {@code values} ({@code [tokens][heads][dim]}) in a native segment with a random padded layout. */
  private static HeadRows rows(float[] values, int tokens, int heads, int dim, SplittableRandom random,
      Arena arena, float fill) {
    long offset = random.nextInt(5);
    long headStride = dim + random.nextInt(3);
    long tokenStride = headStride * (heads - 1) + dim + random.nextInt(3);
    long floats = offset + (tokens - 1) * tokenStride + (heads - 1) * headStride + dim + 2;
    floats = Math.max(floats, (long) tokens * heads * dim);
    MemorySegment segment = arena.allocate(floats * 4 + 1, 4).asSlice(1); // misaligned by a byte
    for (long i = 0; i < floats; i++) {
      segment.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, fill);
    }
    HeadRows view = HeadRows.of(segment, tokens, heads, dim).withLayout(offset, tokenStride, headStride);
    if (values != null) {
      for (int t = 0; t < tokens; t++) {
        for (int h = 0; h < heads; h++) {
          MemorySegment.copy(values, (t * heads + h) * dim, segment, ValueLayout.JAVA_FLOAT_UNALIGNED,
              (offset + t * tokenStride + h * headStride) * 4, dim);
        }
      }
    }
    return view;
  }

  @Property(tries = 300)
  void segmentRowsGiveTheArrayResult(@ForAll("problems") Recipe recipe,
      @ForAll("kernels") AttentionKernel kernel, @ForAll long seed) {
    Problem p = recipe.build();
    AttentionSpec spec = p.spec();
    int heads = spec.queryHeads();
    int dim = spec.headDim();
    SplittableRandom random = new SplittableRandom(seed);
    float[] expected = p.run(kernel);
    KvTensor k = KvTensor.of(p.k(), p.kvLen(), spec.kvHeads(), dim);
    KvTensor v = KvTensor.of(p.v(), p.kvLen(), spec.kvHeads(), dim);
    try (Arena arena = Arena.ofShared()) {
      HeadRows q = rows(p.q(), p.qLen(), heads, dim, random, arena, Float.NaN);
      for (Parallelism threads : new Parallelism[] {Parallelism.single(), TWO}) {
        HeadRows out = rows(null, p.qLen(), heads, dim, random, arena, -7f);
        kernel.attend(spec, p.qLen(), p.kvLen(), q, k, v, p.mask(), out, threads);
        float[] got = new float[p.outSize()];
        for (int t = 0; t < p.qLen(); t++) {
          for (int h = 0; h < heads; h++) {
            KvTensor o = out.asTensor();
            long row = o.offset() + t * o.tokenStride() + h * o.headStride();
            MemorySegment.copy(out.data(), ValueLayout.JAVA_FLOAT_UNALIGNED, row * 4, got,
                (t * heads + h) * dim, dim);
          }
        }
        Agreement.assertIdentical(kernel.name() + " segment rows, " + threads, expected, got, got.length, p);
        // Every float outside the output rows still holds the fill.
        long written = 0;
        for (long i = 0; i < out.data().byteSize() / 4; i++) {
          if (out.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i) != -7f) {
            written++;
          }
        }
        assertTrue(written <= got.length, "wrote outside the output rows");
      }
    }
  }

  @Example
  void invalidRowsAreRefusedAndNothingIsWritten() {
    AttentionSpec spec = AttentionSpec.of(4, 2, 8);
    KvTensor kv = KvTensor.of(new float[10 * 16], 10, 2, 8);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment qs = arena.allocate(2 * 32 * 4);
      MemorySegment os = arena.allocate(2 * 32 * 4);
      os.fill((byte) 1);
      HeadRows q = HeadRows.of(qs, 2, 4, 8);
      HeadRows out = HeadRows.of(os, 2, 4, 8);
      byte[] before = os.toArray(ValueLayout.JAVA_BYTE);
      for (AttentionKernel kernel : List.of(AttentionKernel.scalar(), AttentionKernel.vector())) {
        List<Runnable> calls = List.of(
            () -> kernel.attend(spec, 3, 10, q, kv, kv, null, out, Parallelism.single()),
            () -> kernel.attend(spec, 1, 10, q, kv, kv, null, HeadRows.of(os.asReadOnly(), 2, 4, 8),
                Parallelism.single()),
            () -> kernel.attend(spec, 1, 10, q, kv, kv, null, HeadRows.of(qs, 2, 4, 8), Parallelism.single()),
            () -> kernel.attend(spec, 1, 10, HeadRows.of(qs, 4, 2, 8), kv, kv, null, out, Parallelism.single()),
            () -> kernel.attend(spec, 1, 10, q, kv, kv, null, HeadRows.of(os.asSlice(8), 1, 4, 8),
                Parallelism.single()));
        String[] words = {"qLen=3", "read-only", "overlap", "q has 2 heads", null};
        for (int i = 0; i < calls.size(); i++) {
          Runnable call = calls.get(i);
          String word = words[i];
          if (word == null) {
            // A slice inside out: fine (it is not an input), but check it ran.
            call.run();
            continue;
          }
          IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
          assertTrue(e.getMessage().contains(word), e.getMessage());
          assertArrayEquals(before, os.toArray(ValueLayout.JAVA_BYTE), "out untouched");
        }
        os.fill((byte) 1);
      }
    }
  }

  @AfterContainer
  static void stopThreads() {
    TWO.close();
  }
}
