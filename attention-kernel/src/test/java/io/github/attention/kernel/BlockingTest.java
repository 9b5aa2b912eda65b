package io.github.attention.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The chunk rule of split calls, at its edges. */
class BlockingTest {

  @Test
  void chunksAre256KeysUpTo64Chunks() {
    assertEquals(256, Blocking.chunkKeys(1));
    assertEquals(1, Blocking.chunks(1));
    assertEquals(256, Blocking.chunkKeys(256));
    assertEquals(1, Blocking.chunks(256));
    assertEquals(2, Blocking.chunks(257));
    assertEquals(256, Blocking.chunkKeys(16_384));
    assertEquals(64, Blocking.chunks(16_384));
  }

  @Test
  void longerRangesGetLongerChunksOfWholeBlocks() {
    // ceil(16385 / 64) = 257 keys, rounded up to 5 blocks of 64.
    assertEquals(320, Blocking.chunkKeys(16_385));
    assertEquals(52, Blocking.chunks(16_385));
    assertEquals(1024, Blocking.chunkKeys(65_536));
    assertEquals(64, Blocking.chunks(65_536));
    assertEquals(1088, Blocking.chunkKeys(65_537));
  }

  @Test
  void theRuleHoldsUpToTheLargestKeyCount() {
    int[] lengths = {1, 63, 64, 65, 255, 256, 257, 4095, 4096, 16_383, 16_384, 16_385, 1 << 20, 123_456_789,
        Integer.MAX_VALUE - 63, Integer.MAX_VALUE};
    for (int kvLen : lengths) {
      int chunk = Blocking.chunkKeys(kvLen);
      int chunks = Blocking.chunks(kvLen);
      assertEquals(0, chunk % Blocking.KEY_BLOCK, "kvLen " + kvLen);
      assertTrue(chunk >= Blocking.MIN_CHUNK_KEYS, "kvLen " + kvLen);
      assertTrue(chunks >= 1 && chunks <= Blocking.MAX_CHUNKS, "kvLen " + kvLen + ": " + chunks);
      // The chunks cover the keys, and the last one is not empty.
      assertTrue((long) chunks * chunk >= kvLen, "kvLen " + kvLen);
      assertTrue((long) (chunks - 1) * chunk < kvLen, "kvLen " + kvLen);
    }
  }

  @Test
  void noKeysIsRejected() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Blocking.chunkKeys(0));
    assertEquals("kvLen must be positive, got 0", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Blocking.chunks(-5));
  }
}
