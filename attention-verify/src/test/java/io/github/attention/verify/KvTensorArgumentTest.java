package io.github.attention.verify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.KvTensor;
import io.github.attention.kernel.KvType;
import io.github.attention.kernel.Parallelism;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Invalid K/V views are refused when they are made, and invalid calls on valid views before anything is
 * written: each with the documented exception and a message naming the argument; {@code out} is untouched.
 */
class KvTensorArgumentTest {

  private static final AttentionSpec SPEC = AttentionSpec.of(4, 2, 8);
  private static final int TOKENS = 10;
  private static final List<AttentionKernel> KERNELS = List.of(AttentionKernel.scalar(), AttentionKernel.vector());

  private static float[] floats(int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (i % 7) * 0.25f - 0.5f;
    }
    return a;
  }

  private static void assertMessage(Throwable e, String... words) {
    for (String word : words) {
      assertTrue(e.getMessage().contains(word), () -> "'" + e.getMessage() + "' should contain '" + word + "'");
    }
  }

  private static void views(Class<? extends Throwable> type, Executable make, String... words) {
    Throwable e = assertThrows(type, make::run);
    assertMessage(e, words);
  }

  @FunctionalInterface
  interface Executable {
    void run() throws Throwable;
  }

  @Test
  void storageTooSmallForTheLayoutNamesTheHighestElement() {
    views(IllegalArgumentException.class, () -> KvTensor.of(new float[159], TOKENS, 2, 8),
        "data", "element 159", "holds 159");
    views(IllegalArgumentException.class, () -> KvTensor.bf16(new short[160], TOKENS, 2, 8)
        .withLayout(3, 16, 8), "element 162", "holds 160");
    // Head-major over a buffer of the maximal length: the last head's row of the last token.
    views(IllegalArgumentException.class, () -> KvTensor.f16(new short[160], TOKENS, 2, 8)
        .withLayout(0, 8, 81), "element 160");
    views(IllegalArgumentException.class,
        () -> KvTensor.of(MemorySegment.ofArray(new byte[2 * 159]), KvType.BF16, TOKENS, 2, 8), "holds 159");
  }

  @Test
  void negativeAndAliasingStridesAreRefused() {
    KvTensor t = KvTensor.of(new float[1000], TOKENS, 2, 8);
    views(IllegalArgumentException.class, () -> t.withLayout(0, -16, 8), "negative");
    views(IllegalArgumentException.class, () -> t.withLayout(-1, 16, 8), "negative");
    // Heads overlap: headStride 4 < headDim 8.
    views(IllegalArgumentException.class, () -> t.withLayout(0, 16, 4), "overlap", "headStride=4");
    // Tokens overlap heads: token stride 8 puts token 1 head 0 on token 0 head 1.
    views(IllegalArgumentException.class, () -> t.withLayout(0, 8, 8), "overlap");
    views(IllegalArgumentException.class, () -> t.withLayout(0, 0, 8), "overlap");
    // Head-major with too small a head stride for the tokens: head 1 starts inside head 0's tokens.
    views(IllegalArgumentException.class, () -> t.withLayout(0, 8, 72), "overlap");
    // The same, one element apart, is fine: padded and head-major views are valid.
    t.withLayout(0, 8, 80);
    t.withLayout(5, 20, 9);
  }

  @Test
  void int8NeedsEnoughScales() {
    views(IllegalArgumentException.class, () -> KvTensor.int8(new byte[160], new float[19], TOKENS, 2, 8),
        "scales", "scale 19", "hold 19");
    views(NullPointerException.class, () -> KvTensor.int8(new byte[160], null, TOKENS, 2, 8), "scales");
    views(IllegalArgumentException.class,
        () -> KvTensor.of(MemorySegment.ofArray(new byte[160]), KvType.INT8, TOKENS, 2, 8), "INT8", "scales");
    views(IllegalArgumentException.class,
        () -> KvTensor.int8(new byte[160], new float[20], TOKENS, 2, 8).withScaleLayout(1, 2, 1), "scale 20");
    views(IllegalArgumentException.class, () -> KvTensor.of(new float[160], TOKENS, 2, 8)
        .withScaleLayout(0, 2, 1), "INT8");
  }

  @Test
  void pagedViewsCheckTheirBlocks() {
    KvTensor pool = KvTensor.bf16(new short[12 * 16], 12, 2, 8);
    views(IllegalArgumentException.class, () -> KvTensor.paged(pool, 5, new int[2]), "12 tokens", "5");
    views(IllegalArgumentException.class, () -> KvTensor.paged(pool, 0, new int[2]), "blockTokens");
    views(NullPointerException.class, () -> KvTensor.paged(pool, 4, null), "block table");
    KvTensor paged = KvTensor.paged(pool, 4, new int[] {2, 0, 1});
    assertEquals(12, paged.tokens());
    views(IllegalArgumentException.class, () -> KvTensor.paged(paged, 4, new int[1]), "paged");
    views(IllegalStateException.class, paged::headMajor, "paged");
  }

  /** A call with {@code k} or {@code v} replaced; everything else valid. */
  private static void callFails(Class<? extends Throwable> type, KvTensor k, KvTensor v, int kvLen,
      float[] out, Parallelism parallelism, String... words) {
    float[] q = floats(4 * 8);
    for (AttentionKernel kernel : KERNELS) {
      float[] before = out.clone();
      Throwable e = assertThrows(type,
          () -> kernel.attend(SPEC, 1, kvLen, q, k, v, null, out, parallelism));
      assertMessage(e, words);
      assertArrayEquals(before, out, kernel.name() + ": out must be untouched");
    }
  }

  @Test
  void callsCheckTheViewsAgainstTheSpecAndLength() {
    KvTensor good = KvTensor.of(floats(160), TOKENS, 2, 8);
    float[] out = new float[32];
    Arrays.fill(out, 7f);
    KvTensor wide = KvTensor.of(floats(320), TOKENS, 2, 16);
    callFails(IllegalArgumentException.class, wide, good, 5, out, Parallelism.single(), "k", "width 16");
    callFails(IllegalArgumentException.class, good, KvTensor.of(floats(160), TOKENS, 1, 16), 5, out,
        Parallelism.single(), "v", "1 KV heads");
    callFails(IllegalArgumentException.class, good, good, 11, out, Parallelism.single(), "kvLen=11", "10 tokens");
    callFails(NullPointerException.class, null, good, 5, out, Parallelism.single(), "k");
  }

  @Test
  void aBlockTableEntryOutsideThePoolIsRefusedAtTheCall() {
    float[] out = new float[32];
    Arrays.fill(out, 7f);
    KvTensor pool = KvTensor.of(floats(12 * 16), 12, 2, 8);
    int[] table = {2, 0, 1, 9};
    KvTensor paged = KvTensor.paged(pool, 4, table);
    KvTensor plain = KvTensor.of(floats(16 * 16), 16, 2, 8);
    // 12 tokens read blocks 0..2: fine. 13 read entry [3] = 9, outside the 3 blocks.
    for (AttentionKernel kernel : KERNELS) {
      kernel.attend(SPEC, 1, 12, floats(32), paged, plain, null, new float[32]);
    }
    callFails(IllegalArgumentException.class, paged, plain, 13, out, Parallelism.single(), "k's block table",
        "[3] = 9", "3 blocks");
    table[0] = -1;
    callFails(IllegalArgumentException.class, plain, paged, 1, out, Parallelism.single(), "v's block table",
        "[0] = -1");
  }

  @Test
  void outMustNotBeAnInputsStorage() {
    float[] storage = floats(160);
    float[] out = Arrays.copyOf(storage, 160);
    KvTensor k = KvTensor.of(out, TOKENS, 2, 8);
    KvTensor v = KvTensor.of(storage, TOKENS, 2, 8);
    callFails(IllegalArgumentException.class, k, v, 3, out, Parallelism.single(), "out", "storage of k");
    KvTensor viaSegment = KvTensor.of(MemorySegment.ofArray(out), KvType.F32, TOKENS, 2, 8);
    callFails(IllegalArgumentException.class, v, viaSegment, 3, out, Parallelism.single(), "storage of v");
    // A read-only view hides its array: still found, by overlap.
    KvTensor readOnly = KvTensor.of(MemorySegment.ofArray(out).asReadOnly(), KvType.F32, TOKENS, 2, 8);
    callFails(IllegalArgumentException.class, readOnly, v, 3, out, Parallelism.single(), "storage of k");
    // An INT8 tensor's scales are its storage too.
    float[] scalesOut = new float[160];
    KvTensor int8 = KvTensor.int8(new byte[160], scalesOut, TOKENS, 2, 8);
    callFails(IllegalArgumentException.class, v, int8, 3, scalesOut, Parallelism.single(), "storage of v");
  }

  @Test
  void closedAndConfinedSegmentsAreRefused() throws Exception {
    float[] out = new float[32];
    Arrays.fill(out, 7f);
    KvTensor good = KvTensor.of(floats(160), TOKENS, 2, 8);
    Arena closed = Arena.ofConfined();
    KvTensor gone = KvTensor.of(closed.allocate(160 * 2), KvType.BF16, TOKENS, 2, 8);
    closed.close();
    callFails(IllegalStateException.class, gone, good, 3, out, Parallelism.single(), "k", "closed");
    // Confined to another thread.
    Arena[] foreign = new Arena[1];
    MemorySegment other = CompletableFuture.supplyAsync(() -> {
      foreign[0] = Arena.ofConfined();
      return foreign[0].allocate(160 * 2);
    }).get();
    KvTensor elsewhere = KvTensor.of(other, KvType.F16, TOKENS, 2, 8);
    callFails(WrongThreadException.class, good, elsewhere, 3, out, Parallelism.single(), "v", "another thread");
    // Confined to this thread: fine alone, refused for a call on two threads.
    try (Arena mine = Arena.ofConfined(); Parallelism two = Parallelism.threads(2)) {
      MemorySegment segment = mine.allocate(160 * 2);
      KvTensor local = KvTensor.of(segment, KvType.BF16, TOKENS, 2, 8);
      KERNELS.get(1).attend(SPEC, 1, 3, floats(32), local, good, null, new float[32]);
      callFails(IllegalArgumentException.class, local, good, 3, out, two, "k", "confined", "2 threads");
    }
  }

  /**
   * A memory-mapped file past 2³¹ bytes (sparse: only the pages written are real), as an engine maps its
   * cache: a view's offsets are longs, and the kernel reads there what it reads from an array.
   */
  @Test
  void aSegmentPastTwoGigabytesIsAddressed(@TempDir Path dir) throws IOException {
    long base = (1L << 31) + 12_345; // bf16 elements: an element index past 2³¹, 4 GiB + 24,690 bytes in
    long bytes = 2 * (base + TOKENS * 16L);
    Path file = dir.resolve("cache.bin");
    try (Arena arena = Arena.ofConfined();
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
            StandardOpenOption.WRITE, StandardOpenOption.SPARSE)) {
      MemorySegment big = channel.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
      assertTrue(big.byteSize() > (1L << 32));
      float[] values = floats(TOKENS * 16);
      for (int i = 0; i < values.length; i++) {
        big.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, base + i, Storage.bf16(values[i]));
      }
      KvTensor k = KvTensor.of(big, KvType.BF16, TOKENS, 2, 8).withLayout(base, 16, 8);
      short[] copy = new short[TOKENS * 16];
      MemorySegment.copy(big, ValueLayout.JAVA_SHORT_UNALIGNED, 2 * base, copy, 0, copy.length);
      KvTensor near = KvTensor.bf16(copy, TOKENS, 2, 8);
      float[] q = floats(32);
      for (AttentionKernel kernel : KERNELS) {
        float[] fromFile = new float[32];
        float[] fromArray = new float[32];
        kernel.attend(SPEC, 1, TOKENS, q, k, k, null, fromFile);
        kernel.attend(SPEC, 1, TOKENS, q, near, near, null, fromArray);
        assertArrayEquals(fromArray, fromFile, kernel.name());
        assertTrue(fromFile[0] != 0f, "computed something");
      }
    }
  }
}
