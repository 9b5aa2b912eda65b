package io.github.attention.internal.core;

/**
 * One work item of a {@link Plan}: which query rows, key/value heads and keys it covers, and how it reads
 * its keys and values. Items write disjoint parts of the output (or of the split call's partial results),
 * so they run in any order on any thread.
 */
sealed interface WorkItem {

  /** How an item reads the keys and values of each block. */
  enum KvAccess {
    /**
     * Where they are in the caller's arrays, a token stride apart: few rows (decoding), whose reuse of a
     * block would not pay for copying it.
     */
    IN_PLACE,
    /**
     * Few rows, as {@link #STORED_ROWS}, on a backend that does not read stored rows: the block of all heads
     * is widened to fp32 rows in the workspace
     * just before it is used, and scored and accumulated as in place.
     */
    PACKED_ROWS,
    /**
     * Few rows, as {@link #IN_PLACE}, from storage that is not a {@code float[]} read in place (16- or 8-bit
     * elements, a segment, pages smaller than a key block), where the backend {@link BlockOps#readsStored
     * reads stored rows}: each element is loaded as stored and widened in registers, with no copy.
     */
    STORED_ROWS,
    /** From the item's KV head, transposed and packed once per thread for all its query blocks. */
    PREPARED_HEAD,
    /** Packed (and the keys transposed) block by block, for this item alone. */
    PACKED_BLOCK
  }

  /** @return how the item reads keys and values */
  KvAccess access();

  /**
   * One key/value head, query rows {@code [firstRow, endRow)} of its query heads, every visible key: the
   * items of calls with many query rows.
   */
  record QueryBlock(int kvHead, int firstRow, int endRow, KvAccess access) implements WorkItem {}

  /**
   * Key/value heads {@code [firstHead, endHead)} with every query row, every visible key: calls whose query
   * rows fit one block. Sweeping several heads block by block reads K and V in address order.
   */
  record HeadSweep(int firstHead, int endHead, KvAccess access) implements WorkItem {}

  /**
   * Key/value heads {@code [firstHead, endHead)} with every query row, over the keys of chunk {@code chunk}
   * of a split call only; the item leaves its rows' maximum, sum and unnormalized output in the call's
   * {@link Partials} for the merge.
   */
  record KeyChunk(int chunk, int firstHead, int endHead, KvAccess access) implements WorkItem {}
}
