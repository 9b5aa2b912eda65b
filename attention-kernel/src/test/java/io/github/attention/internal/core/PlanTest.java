package io.github.attention.internal.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.internal.core.WorkItem.HeadSweep;
import io.github.attention.internal.core.WorkItem.KeyChunk;
import io.github.attention.internal.core.WorkItem.KvAccess;
import io.github.attention.internal.core.WorkItem.QueryBlock;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.Blocking;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** How calls are cut into work items, on edge shapes; expected items are written out by hand. */
class PlanTest {

  private static final AttentionSpec DECODE = AttentionSpec.of(32, 8, 128).withCausal(true);

  private static Plan plan(BlockOps ops, AttentionSpec spec, int qLen, int kvLen, int threads) {
    return Plan.of(ops, spec, qLen, kvLen, threads, new Plan[Plan.RECENT]);
  }

  @Test
  void decodingOnOneThreadIsOneSweepOfAllHeadsInPlace() {
    Plan p = plan(ShapeOps.VECTOR_512, DECODE, 1, Blocking.MIN_CHUNK_KEYS, 1);
    assertTrue(p.split().isEmpty());
    assertFalse(p.isSplit());
    assertEquals(1, p.chunks());
    assertFalse(p.packs(), "reads everything in place");
    assertEquals(List.of(new HeadSweep(0, 8, KvAccess.IN_PLACE)), p.items());
    assertEquals(4, p.rowsPerItem());
    assertEquals(8, p.headsPerItem());
    assertEquals(128, p.paddedDim());
  }

  /**
   * Storage that is not a {@code float[]} read in place: read where it is, converted in registers, on a
   * backend that reads stored rows; widened block by block into the workspace on one that does not.
   */
  @Test
  void decodingFromStorageReadsStoredRowsWhereTheBackendCan() {
    Plan stored = Plan.of(ShapeOps.VECTOR_512, DECODE, 1, 100, 1, false, new Plan[Plan.RECENT]);
    assertEquals(List.of(new HeadSweep(0, 8, KvAccess.STORED_ROWS)), stored.items());
    assertFalse(stored.packs(), "nothing is copied");
    Plan widened = Plan.of(ShapeOps.SCALAR, DECODE, 1, 100, 1, false, new Plan[Plan.RECENT]);
    assertEquals(List.of(new HeadSweep(0, 8, KvAccess.PACKED_ROWS)), widened.items());
    assertTrue(widened.packs());
    // Head widths the stored tiles cannot read (not whole vectors) are packed.
    AttentionSpec odd = AttentionSpec.of(32, 8, 120).withCausal(true);
    assertEquals(List.of(new HeadSweep(0, 8, KvAccess.PACKED_BLOCK)),
        Plan.of(ShapeOps.VECTOR_512, odd, 1, 100, 1, false, new Plan[Plan.RECENT]).items());
  }

  @Test
  void decodingOnTwoThreadsGivesEachKvHeadItsOwnItem() {
    Plan p = plan(ShapeOps.VECTOR_512, DECODE, 1, 100, 2);
    List<WorkItem> expected = new ArrayList<>();
    for (int g = 0; g < 8; g++) {
      expected.add(new HeadSweep(g, g + 1, KvAccess.IN_PLACE));
    }
    assertEquals(expected, p.items());
    assertEquals(1, p.headsPerItem());
  }

  @Test
  void aBackendThatCannotReadInPlacePacks() {
    assertEquals(List.of(new HeadSweep(0, 8, KvAccess.PACKED_BLOCK)),
        plan(ShapeOps.PACKING_ONLY, DECODE, 1, 100, 1).items());
    // Head widths the backend cannot read in place are packed too.
    AttentionSpec odd = AttentionSpec.of(32, 8, 120).withCausal(true);
    assertEquals(List.of(new HeadSweep(0, 8, KvAccess.PACKED_BLOCK)),
        plan(ShapeOps.VECTOR_512, odd, 1, 100, 1).items());
  }

  @Test
  void longDecodingSplitsIntoChunksChunkMajor() {
    Plan p = plan(ShapeOps.VECTOR_512, DECODE, 1, 4096, 1);
    assertEquals(new Plan.KeyChunks(256, 16), p.split().orElseThrow());
    assertEquals(16, p.chunks());
    List<WorkItem> expected = new ArrayList<>();
    for (int c = 0; c < 16; c++) {
      expected.add(new KeyChunk(c, 0, 8, KvAccess.IN_PLACE));
    }
    assertEquals(expected, p.items());
  }

  @Test
  void chunksSweepAllHeadsUntilThreadsNeedMoreItems() {
    // 16 chunks: enough items for up to 8 threads (at least two per thread), then one head per item.
    assertEquals(16, plan(ShapeOps.VECTOR_512, DECODE, 1, 4096, 2).items().size());
    assertEquals(16, plan(ShapeOps.VECTOR_512, DECODE, 1, 4096, 8).items().size());
    Plan nine = plan(ShapeOps.VECTOR_512, DECODE, 1, 4096, 9);
    assertEquals(16 * 8, nine.items().size());
    assertEquals(new KeyChunk(0, 0, 1, KvAccess.IN_PLACE), nine.items().get(0));
    assertEquals(new KeyChunk(0, 7, 8, KvAccess.IN_PLACE), nine.items().get(7));
    assertEquals(new KeyChunk(1, 0, 1, KvAccess.IN_PLACE), nine.items().get(8));
  }

  @Test
  void theSplitStartsAboveOneChunkOfKeys() {
    assertFalse(plan(ShapeOps.VECTOR_512, DECODE, 1, 256, 1).isSplit());
    assertEquals(new Plan.KeyChunks(256, 2), plan(ShapeOps.VECTOR_512, DECODE, 1, 257, 1).split().orElseThrow());
    // Above 64 chunks of 256 keys the chunks grow instead.
    assertEquals(new Plan.KeyChunks(320, 52),
        plan(ShapeOps.VECTOR_512, DECODE, 1, 16_385, 1).split().orElseThrow());
  }

  @Test
  void onlyCallsOfAtMostFourQueryRowsSplit() {
    assertTrue(plan(ShapeOps.VECTOR_512, DECODE, 4, 4096, 1).isSplit());
    Plan five = plan(ShapeOps.VECTOR_512, DECODE, 5, 4096, 1);
    assertFalse(five.isSplit());
    // 5 rows × 4 heads per group = 20 rows: too many to read in place.
    assertEquals(List.of(new HeadSweep(0, 8, KvAccess.PACKED_BLOCK)), five.items());
  }

  @Test
  void aSplitWhosePartialsWouldExceedTheLimitIsNotTaken() {
    // 64 chunks × 128 heads × 4 rows × 128 floats = 2^22: just within the limit.
    AttentionSpec wide = AttentionSpec.of(128, 128, 128);
    assertTrue(plan(ShapeOps.VECTOR_512, wide, 4, 16_384, 1).isSplit());
    // Padded to 144 floats per row, the same call with 129-wide heads needs more.
    AttentionSpec wider = AttentionSpec.of(128, 128, 129);
    assertFalse(plan(ShapeOps.VECTOR_512, wider, 4, 16_384, 1).isSplit());
    assertTrue(plan(ShapeOps.VECTOR_512, wider, 3, 16_384, 1).isSplit());
  }

  @Test
  void prefillIsQueryBlocksHeadMajorWithPreparedHeads() {
    AttentionSpec spec = AttentionSpec.of(8, 8, 64);
    Plan p = plan(ShapeOps.VECTOR_512, spec, 1024, 1024, 2);
    assertTrue(p.prepareHeads());
    assertTrue(p.packs());
    assertEquals(128, p.rowsPerItem());
    assertEquals(64, p.items().size());
    for (int g = 0, i = 0; g < 8; g++) {
      for (int b = 0; b < 8; b++, i++) {
        assertEquals(new QueryBlock(g, b * 128, b * 128 + 128, KvAccess.PREPARED_HEAD), p.items().get(i));
      }
    }
  }

  @Test
  void groupsShareTheRowsOfABlock() {
    // 4 query heads per KV head: 32 query rows × 4 heads = 128 rows per item.
    Plan p = plan(ShapeOps.VECTOR_512, AttentionSpec.of(8, 2, 64), 100, 100, 1);
    assertEquals(List.of(new QueryBlock(0, 0, 32, KvAccess.PREPARED_HEAD),
        new QueryBlock(0, 32, 64, KvAccess.PREPARED_HEAD), new QueryBlock(0, 64, 96, KvAccess.PREPARED_HEAD),
        new QueryBlock(0, 96, 100, KvAccess.PREPARED_HEAD), new QueryBlock(1, 0, 32, KvAccess.PREPARED_HEAD),
        new QueryBlock(1, 32, 64, KvAccess.PREPARED_HEAD), new QueryBlock(1, 64, 96, KvAccess.PREPARED_HEAD),
        new QueryBlock(1, 96, 100, KvAccess.PREPARED_HEAD)), p.items());
  }

  @Test
  void aLastBlockOfFewRowsReadsInPlace() {
    AttentionSpec spec = AttentionSpec.of(1, 1, 64);
    assertEquals(List.of(new QueryBlock(0, 0, 128, KvAccess.PREPARED_HEAD),
        new QueryBlock(0, 128, 130, KvAccess.IN_PLACE)), plan(ShapeOps.VECTOR_512, spec, 130, 130, 1).items());
    assertEquals(List.of(new QueryBlock(0, 0, 128, KvAccess.PREPARED_HEAD),
        new QueryBlock(0, 128, 130, KvAccess.PREPARED_HEAD)),
        plan(ShapeOps.PACKING_ONLY, spec, 130, 130, 1).items());
  }

  @Test
  void headsTooLongToPrepareArePackedBlockByBlock() {
    AttentionSpec spec = AttentionSpec.of(2, 1, 128);
    // 128 blocks of 64 keys × 128 floats = 2^20 floats: prepared; one block more is not.
    assertTrue(plan(ShapeOps.VECTOR_512, spec, 200, 128 * 64, 1).prepareHeads());
    Plan longer = plan(ShapeOps.VECTOR_512, spec, 200, 128 * 64 + 1, 1);
    assertFalse(longer.prepareHeads());
    assertEquals(new QueryBlock(0, 0, 64, KvAccess.PACKED_BLOCK), longer.items().get(0));
  }

  @Test
  void groupsLargerThanABlockGetOneQueryRowPerItem() {
    Plan p = plan(ShapeOps.VECTOR_512, AttentionSpec.of(256, 1, 16), 3, 100, 1);
    assertEquals(256, p.rowsPerItem());
    assertEquals(List.of(new QueryBlock(0, 0, 1, KvAccess.PREPARED_HEAD),
        new QueryBlock(0, 1, 2, KvAccess.PREPARED_HEAD), new QueryBlock(0, 2, 3, KvAccess.PREPARED_HEAD)),
        p.items());
  }

  @Test
  void rowsArePaddedToTheBackendsWidth() {
    AttentionSpec spec = AttentionSpec.of(2, 1, 65);
    assertEquals(80, plan(ShapeOps.VECTOR_512, spec, 1, 10, 1).paddedDim());
    assertEquals(65, plan(ShapeOps.SCALAR, spec, 1, 10, 1).paddedDim());
  }

  /** Every (KV head, query row) pair, or every (chunk, KV head) of a split call, is covered exactly once. */
  @Test
  void itemsCoverEveryRowAndHeadExactlyOnce() {
    SplittableRandom random = new SplittableRandom(7);
    for (int trial = 0; trial < 2000; trial++) {
      int kvHeads = 1 + random.nextInt(8);
      int group = 1 << random.nextInt(9);
      AttentionSpec spec = AttentionSpec.of(kvHeads * group, kvHeads, 1 + random.nextInt(200));
      int qLen = random.nextBoolean() ? 1 + random.nextInt(6) : 1 + random.nextInt(700);
      int kvLen = 1 + random.nextInt(random.nextBoolean() ? 600 : 40_000);
      int threads = 1 + random.nextInt(9);
      BlockOps ops = random.nextBoolean() ? ShapeOps.VECTOR_512 : ShapeOps.SCALAR;
      Plan p = plan(ops, spec, qLen, kvLen, threads);
      String what = spec + " qLen=" + qLen + " kvLen=" + kvLen + " threads=" + threads;
      if (p.isSplit()) {
        int[][] seen = new int[p.chunks()][kvHeads];
        for (WorkItem item : p.items()) {
          KeyChunk c = (KeyChunk) item;
          for (int g = c.firstHead(); g < c.endHead(); g++) {
            seen[c.chunk()][g]++;
          }
        }
        for (int[] chunk : seen) {
          for (int count : chunk) {
            assertEquals(1, count, what);
          }
        }
      } else {
        int[][] seen = new int[kvHeads][qLen];
        for (WorkItem item : p.items()) {
          switch (item) {
            case QueryBlock b -> {
              assertTrue((b.endRow() - b.firstRow()) * group <= p.rowsPerItem(), what);
              for (int i = b.firstRow(); i < b.endRow(); i++) {
                seen[b.kvHead()][i]++;
              }
            }
            case HeadSweep s -> {
              assertTrue(s.endHead() - s.firstHead() <= p.headsPerItem(), what);
              for (int g = s.firstHead(); g < s.endHead(); g++) {
                for (int i = 0; i < qLen; i++) {
                  seen[g][i]++;
                }
              }
            }
            case KeyChunk c -> throw new AssertionError("a chunk in an unsplit plan: " + what);
          }
        }
        for (int[] head : seen) {
          for (int count : head) {
            assertEquals(1, count, what);
          }
        }
      }
    }
  }

  @Test
  void consecutiveDecodingStepsShareOnePlan() {
    Plan[] recent = new Plan[Plan.RECENT];
    Plan first = Plan.of(ShapeOps.VECTOR_512, DECODE, 1, 300, 1, recent);
    for (int kvLen = 301; kvLen <= 512; kvLen++) {
      assertSame(first, Plan.of(ShapeOps.VECTOR_512, DECODE, 1, kvLen, 1, recent), "kvLen " + kvLen);
    }
    // A third chunk is another plan.
    Plan third = Plan.of(ShapeOps.VECTOR_512, DECODE, 1, 513, 1, recent);
    assertNotSame(first, third);
    assertEquals(3, third.chunks());
    // An equal spec made separately finds the same plan.
    assertSame(third, Plan.of(ShapeOps.VECTOR_512, AttentionSpec.of(32, 8, 128).withCausal(true), 1, 600, 1,
        recent));
  }

  @Test
  void plansDifferByBackendThreadsAndSpec() {
    Plan[] recent = new Plan[Plan.RECENT];
    Plan base = Plan.of(ShapeOps.VECTOR_512, DECODE, 1, 100, 1, recent);
    assertNotSame(base, Plan.of(ShapeOps.SCALAR, DECODE, 1, 100, 1, recent));
    assertNotSame(base, Plan.of(ShapeOps.VECTOR_512, DECODE, 1, 100, 2, recent));
    assertNotSame(base, Plan.of(ShapeOps.VECTOR_512, DECODE.withCausal(false), 1, 100, 1, recent));
    // Four plans fit: the first is still there.
    assertSame(base, Plan.of(ShapeOps.VECTOR_512, DECODE, 1, 100, 1, recent));
  }

  @Test
  void theCacheForgetsTheLeastRecentlyUsedPlan() {
    Plan[] recent = new Plan[Plan.RECENT];
    Plan first = Plan.of(ShapeOps.VECTOR_512, DECODE, 1, 100, 1, recent);
    Plan second = Plan.of(ShapeOps.VECTOR_512, DECODE, 2, 100, 1, recent);
    for (int qLen = 3; qLen <= Plan.RECENT; qLen++) {
      Plan.of(ShapeOps.VECTOR_512, DECODE, qLen, 100, 1, recent);
    }
    // Used again, the first moves to the front: the next new plan pushes out the second instead.
    assertSame(first, Plan.of(ShapeOps.VECTOR_512, DECODE, 1, 100, 1, recent));
    assertSame(first, recent[0]);
    Plan.of(ShapeOps.VECTOR_512, DECODE, Plan.RECENT + 1, 100, 1, recent);
    assertSame(first, Plan.of(ShapeOps.VECTOR_512, DECODE, 1, 100, 1, recent));
    assertNotSame(second, Plan.of(ShapeOps.VECTOR_512, DECODE, 2, 100, 1, recent));
  }

  @Test
  void itemsOfManyWideHeadsSweepFewerHeadsEach() {
    // 128 KV heads of 1024: one key block of all of them would be 2^23 floats, twice the packing limit.
    AttentionSpec wide = AttentionSpec.of(128, 128, 1024);
    Plan p = plan(ShapeOps.PACKING_ONLY, wide, 1, 100, 1);
    assertEquals(64, p.headsPerItem());
    assertEquals(List.of(new HeadSweep(0, 64, KvAccess.PACKED_BLOCK), new HeadSweep(64, 128, KvAccess.PACKED_BLOCK)),
        p.items());
    // A count of heads the cap does not divide: the last item takes the rest.
    AttentionSpec odd = AttentionSpec.of(100, 100, 1024);
    assertEquals(List.of(new HeadSweep(0, 64, KvAccess.PACKED_BLOCK), new HeadSweep(64, 100, KvAccess.PACKED_BLOCK)),
        plan(ShapeOps.PACKING_ONLY, odd, 1, 100, 1).items());
  }

  @Test
  void aPlansItemsCannotBeChanged() {
    Plan p = plan(ShapeOps.VECTOR_512, DECODE, 1, 100, 1);
    assertThrows(UnsupportedOperationException.class,
        () -> p.items().add(new HeadSweep(0, 1, KvAccess.IN_PLACE)));
  }
}
