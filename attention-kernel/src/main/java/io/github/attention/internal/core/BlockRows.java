package io.github.attention.internal.core;

/**
 * What each row of one key block sees, and how its raw scores become logits: the input of
 * {@link BlockOps#rowMaxima}. Rewritten by {@link BlockedAttention} for every block (per-thread scratch,
 * never shared): each row's visible range (causal limit, sliding window), mask offset and ALiBi bias, and
 * the soft-cap.
 */
public final class BlockRows {

  private int count;
  private boolean raw;
  private float scale;
  private float[] mask;
  private int[] visible = new int[0];
  private int[] first = new int[0];
  private int[] maskOffset = new int[0];
  private int[] alibiOffset = new int[0];
  private int[] spanFrom = new int[0];
  private int[] spanTo = new int[0];
  private float softcap;
  private float inverseCap;
  private float[] slopes;
  private int group;
  private int slopeBase;

  BlockRows() {}

  void ensure(int rows) {
    if (visible.length < rows) {
      visible = new int[rows];
      first = new int[rows];
      maskOffset = new int[rows];
      alibiOffset = new int[rows];
      spanFrom = new int[(rows + 3) / 4];
      spanTo = new int[(rows + 3) / 4];
    }
  }

  /**
   * Describes a block of {@code rows} rows; the per-row fields are then set with {@link #set}.
   *
   * @param rows rows of the block
   * @param scale the spec's scale
   * @param mask the caller's additive mask, or null
   */
  void start(int rows, float scale, float[] mask, float softcap, float[] slopes, int group) {
    this.count = rows;
    this.scale = scale;
    this.mask = mask;
    this.softcap = softcap;
    this.inverseCap = softcap > 0 ? 1f / softcap : 0f;
    this.slopes = slopes;
    this.group = group;
  }

  /** Sets the KV head whose query heads the rows are (their ALiBi slopes). */
  void head(int kvHead) {
    slopeBase = kvHead * group;
  }

  /** Drops the reference to the caller's mask. */
  void release() {
    mask = null;
    slopes = null;
  }

  /**
   * @param firstKey the first of the block's keys the row sees (its window's start), 0 without a window
   * @param visibleKeys how many of the block's keys, from its first, lie before the row's causal limit
   * @param maskAt where the row's mask entry for the block's first key is
   * @param alibiAt {@code j0 − p}: the block's first key minus the row's position
   */
  void set(int r, int firstKey, int visibleKeys, int maskAt, int alibiAt) {
    first[r] = firstKey;
    visible[r] = visibleKeys;
    maskOffset[r] = maskAt;
    alibiOffset[r] = alibiAt;
  }

  /**
   * Decides the raw path and each quad of rows' {@linkplain #spanFrom span}. The raw path: a block without a
   * mask, soft-cap or ALiBi whose every key is visible to every row keeps its raw scores
   * ({@code max(s·scale) = scale·max(s)} for a positive scale, and the scale is applied inside the
   * exponential's fused multiply-add), which saves a store and a multiply per score.
   */
  void decide(int width) {
    boolean all = mask == null && softcap == 0f && slopes == null;
    for (int r = 0; all && r < count; r++) {
      all = first[r] == 0 && visible[r] == width;
    }
    raw = all;
    for (int r0 = 0; r0 < count; r0 += 4) {
      int from = Integer.MAX_VALUE;
      int to = 0;
      for (int r = r0, end = Math.min(count, r0 + 4); r < end; r++) {
        if (first[r] < visible[r]) {
          from = Math.min(from, first[r]);
          to = Math.max(to, visible[r]);
        }
      }
      spanFrom[r0 / 4] = to == 0 ? 0 : from;
      spanTo[r0 / 4] = to;
    }
  }

  /**
   * The first key of the block that any row of row {@code r}'s quad (rows {@code r & -4} to
   * {@code (r & -4) + 3}) sees. Together with {@link #spanTo} it bounds the keys whose weights can be
   * non-zero for those rows: the tiles of four rows may skip the keys outside (their weights are exactly 0,
   * so skipping them leaves every sum's bits as they were), which is what a sliding window's first block
   * and the causal diagonal block save.
   *
   * @param r a row
   * @return the first key any row of its quad sees (0 if none sees any)
   */
  public int spanFrom(int r) {
    return spanFrom[r >> 2];
  }

  /**
   * @param r a row
   * @return one past the last key any row of its quad sees (0 if none sees any); see {@link #spanFrom}
   */
  public int spanTo(int r) {
    return spanTo[r >> 2];
  }

  /** @return rows of the block */
  public int count() {
    return count;
  }

  /** @return whether the scores stay raw: no mask, every key visible to every row */
  public boolean raw() {
    return raw;
  }

  /** @return the factor applied to every raw score */
  public float scale() {
    return scale;
  }

  /**
   * @param r a row
   * @return how many of the block's keys, from its first, row {@code r} sees; the rest are {@code -∞}
   */
  public int visible(int r) {
    return visible[r];
  }

  /**
   * @param r a row
   * @return the first of the block's keys row {@code r} sees (its sliding window's start); keys before it,
   *     and from {@link #visible} on, are {@code -∞}
   */
  public int first(int r) {
    return first[r];
  }

  /** @return the soft-cap, or 0 for none */
  public float softcap() {
    return softcap;
  }

  /** @return {@code 1/softcap} rounded to float (0 without a soft-cap) */
  public float inverseCap() {
    return inverseCap;
  }

  /** @return whether the rows add ALiBi biases */
  public boolean alibi() {
    return slopes != null;
  }

  /**
   * @param r a row
   * @return row {@code r}'s ALiBi slope (its query head's); only when {@link #alibi()}
   */
  public float slope(int r) {
    return slopes[slopeBase + r % group];
  }

  /**
   * @param r a row
   * @return {@code j0 − p}: the block's first key minus row {@code r}'s position, so key {@code j} of the
   *     block gets the bias {@code slope(r) · (float) (alibiOffset(r) + j)}
   */
  public int alibiOffset(int r) {
    return alibiOffset[r];
  }

  /** @return the caller's additive mask {@code [qLen][kvLen]}, or null for none */
  public float[] mask() {
    return mask;
  }

  /**
   * @param r a row
   * @return where row {@code r}'s mask entries for the block's first key are in {@link #mask()}
   */
  public int maskOffset(int r) {
    return maskOffset[r];
  }
}
