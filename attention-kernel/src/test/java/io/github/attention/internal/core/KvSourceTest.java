package io.github.attention.internal.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.internal.lookup.BackendLookup;
import io.github.attention.kernel.KvTensor;
import io.github.attention.kernel.KvType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The K/V source behind a view: the row rule's edges, overlap tests, element reads, the shared secret. */
class KvSourceTest {

  @Test
  void rowsAreDistinctByTheNestingRule() {
    assertTrue(KvSource.rowsAreDistinct(0, 1, 0, 1, 8), "one row");
    assertTrue(KvSource.rowsAreDistinct(8, 5, 0, 1, 8), "one head, rows 8 apart");
    assertFalse(KvSource.rowsAreDistinct(7, 5, 0, 1, 8), "one head, rows overlap");
    assertTrue(KvSource.rowsAreDistinct(0, 1, 8, 3, 8), "one token");
    assertFalse(KvSource.rowsAreDistinct(16, 4, 16, 2, 8), "equal strides");
    assertTrue(KvSource.rowsAreDistinct(16, 4, 8, 2, 8), "token-major");
    assertFalse(KvSource.rowsAreDistinct(15, 4, 8, 2, 8), "tokens closer than two heads");
    assertTrue(KvSource.rowsAreDistinct(8, 4, 32, 2, 8), "head-major");
    assertFalse(KvSource.rowsAreDistinct(8, 4, 31, 2, 8), "heads closer than four tokens");
    // The inner extent overflows a long: refused, not wrapped around.
    assertFalse(KvSource.rowsAreDistinct(Long.MAX_VALUE / 2, 4, Long.MAX_VALUE, 2, 8));
  }

  @Test
  void overlapsComparesByteRangesInTheSameMemory() {
    float[] a = new float[100];
    float[] b = new float[100];
    KvSource first = KvSources.of(KvTensor.of(a, 2, 2, 8));                         // floats 0..31
    KvSource second = KvSources.of(KvTensor.of(a, 5, 1, 8).withLayout(32, 8, 8));  // floats 32..71
    assertFalse(first.overlaps(second), "adjacent ranges of one array");
    KvSource third = KvSources.of(KvTensor.of(a, 5, 1, 8).withLayout(31, 8, 8));   // floats 31..70
    assertTrue(first.overlaps(third), "one float in common");
    assertFalse(first.overlaps(KvSources.of(KvTensor.of(b, 2, 2, 8))), "another array");
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment native_ = arena.allocate(400);
      KvSource n1 = KvSources.of(KvTensor.of(native_, KvType.F32, 2, 2, 8));
      KvSource n2 = KvSources.of(KvTensor.of(native_.asSlice(128), KvType.F32, 2, 2, 8));
      KvSource n3 = KvSources.of(KvTensor.of(native_.asSlice(124), KvType.F32, 2, 2, 8));
      assertFalse(n1.overlaps(n2), "adjacent native ranges");
      assertTrue(n1.overlaps(n3), "overlapping native ranges");
      assertFalse(n1.overlaps(first), "native and heap");
      assertFalse(first.overlaps(n1), "heap and native");
    }
  }

  @Test
  void storedInSeesArraysBehindReadOnlyViewsAndScales() {
    float[] mine = new float[64];
    float[] other = new float[64];
    KvSource readOnly = KvSources.of(
        KvTensor.of(MemorySegment.ofArray(mine).asReadOnly(), KvType.F32, 4, 2, 8));
    assertTrue(readOnly.storedIn(mine));
    assertFalse(readOnly.storedIn(other), "a hidden array is compared by overlap, not assumed");
    assertFalse(readOnly.storedIn(null));
    float[] scales = new float[8];
    KvSource int8 = KvSources.of(KvTensor.int8(MemorySegment.ofArray(new byte[64]),
        MemorySegment.ofArray(scales).asReadOnly(), 4, 2, 8));
    assertTrue(int8.storedIn(scales), "hidden scales");
    assertFalse(int8.storedIn(other));
  }

  @Test
  void getReadsEveryTypeThroughPagesAndChecksTheTable() {
    short[] pool = new short[4 * 2 * 8];
    for (int i = 0; i < pool.length; i++) {
      pool[i] = (short) (Float.floatToRawIntBits(i) >>> 16);
    }
    int[] table = {1, 0};
    KvTensor paged = KvTensor.paged(KvTensor.bf16(pool, 4, 2, 8), 2, table);
    // Logical token 0 is pool token 2 (block 1): element (2·2 + 1)·8 + 3 of the pool for head 1, d 3.
    assertEquals(Float.intBitsToFloat(pool[(2 * 2 + 1) * 8 + 3] << 16), paged.get(0, 1, 3));
    assertEquals(Float.intBitsToFloat(pool[(1 * 2) * 8] << 16), paged.get(3, 0, 0));
    table[1] = 5;
    assertThrows(IndexOutOfBoundsException.class, () -> paged.get(2, 0, 0));
    float[] floats = {1.5f, -2f, 3f, 4f};
    MemorySegment f32 = MemorySegment.ofArray(floats).asReadOnly();
    assertEquals(-2f, KvTensor.of(f32, KvType.F32, 1, 2, 2).get(0, 0, 1));
    KvTensor int8 = KvTensor.int8(new byte[] {3, -4, 5, 6}, new float[] {0.5f, 0.25f}, 1, 2, 2);
    assertEquals(-2f, int8.get(0, 0, 1));
    assertEquals(1.5f, int8.get(0, 1, 1));
  }

  @Test
  void theSecretIsInstalledOnce() {
    KvTensor.of(new float[8], 1, 1, 8); // initializes KvTensor, which installs it
    assertThrows(IllegalStateException.class, () -> KvSources.install(t -> null));
  }

  @Test
  void scalarWideningPadsRowsWithZeros() {
    BlockOps scalar = ((BlockedAttention) BackendLookup.scalar()).backend().blockOps();
    short[] half = new short[6];
    for (int i = 0; i < half.length; i++) {
      half[i] = Float.floatToFloat16(i + 1);
    }
    float[] dst = new float[2 * 8];
    java.util.Arrays.fill(dst, Float.NaN);
    scalar.widen(MemorySegment.ofArray(half), KvType.F16, 0, 3, 2, 1, 3, null, 8, dst, 0);
    assertEquals(3f, dst[2]);
    assertEquals(4f, dst[8]);
    for (int d = 3; d < 8; d++) {
      assertEquals(0f, dst[d]);
      assertEquals(0f, dst[8 + d]);
    }
  }
}
