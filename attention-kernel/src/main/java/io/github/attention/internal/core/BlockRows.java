package io.github.attention.internal.core;

/**
 * What each row of one key block sees, and how its raw scores become logits: the input of
 * {@link BlockOps#rowMaxima}. Rewritten by {@link BlockedAttention} for every block (per-thread scratch,
 * never shared); this is where the score variants of later features (windows, soft-capping, ALiBi) add
 * their per-row fields.
 */
public final class BlockRows {

  private int count;
  private boolean raw;
  private float scale;
  private float[] mask;
  private int[] visible = new int[0];
  private int[] maskOffset = new int[0];

  BlockRows() {}

  void ensure(int rows) {
    if (visible.length < rows) {
      visible = new int[rows];
      maskOffset = new int[rows];
    }
  }

  /**
   * Describes a block of {@code rows} rows; the per-row fields are then set with {@link #set}.
   *
   * @param rows rows of the block
   * @param scale the spec's scale
   * @param mask the caller's additive mask, or null
   */
  void start(int rows, float scale, float[] mask) {
    this.count = rows;
    this.scale = scale;
    this.mask = mask;
  }

  /** Drops the reference to the caller's mask. */
  void release() {
    mask = null;
  }

  void set(int r, int visibleKeys, int maskAt) {
    visible[r] = visibleKeys;
    maskOffset[r] = maskAt;
  }

  /**
   * Decides the raw path: a block without a mask whose every key is visible to every row keeps its raw
   * scores ({@code max(s·scale) = scale·max(s)} for a positive scale, and the scale is applied inside the
   * exponential's fused multiply-add), which saves a store and a multiply per score.
   */
  void decideRaw(int width) {
    boolean all = mask == null;
    for (int r = 0; all && r < count; r++) {
      all = visible[r] == width;
    }
    raw = all;
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
