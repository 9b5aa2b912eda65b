package io.github.attention.internal.core;

import io.github.attention.kernel.KvType;
import java.lang.foreign.MemorySegment;

/**
 * The leaf operations of {@link BlockedAttention}, one backend's arithmetic on one block of keys: a flat
 * interface of complete operations (as Lucene's {@code VectorUtilSupport}), with no algorithm in it. The
 * algorithm, written once in {@link BlockedAttention} and {@link OnlineSoftmax}, decides what each block
 * needs and in which order; implementations only compute.
 *
 * <h2>Layouts</h2>
 * Scores {@code s} are {@code [rows][Blocking.KEY_BLOCK]} floats, row {@code r} at {@code r·KEY_BLOCK}, of
 * which the first {@code width} columns are used ({@code width} is the block's key count rounded up to
 * {@link #keyStep()}). Transposed keys {@code kt} are {@code [headDim][KEY_BLOCK]}: lanes run across keys.
 * Packed keys and values, and output accumulators, have rows of {@code stride} floats, the head width
 * rounded up to {@link #dimStep()} and zero-padded. A row's running sum is kept as {@link #sumLanes()}
 * partial sums, {@code sum[r·sumLanes() ..]}.
 *
 * <h2>Determinism</h2>
 * Every operation must give the same bits whichever thread runs it and however far the JIT has compiled it:
 * no {@code reduceLanes(ADD)} (its order of additions changes when C2 compiles it), no reliance on
 * intrinsics that differ between the interpreter and compiled code.
 */
public interface BlockOps {

  /** @return the granularity of a block's width: blocks are padded with zero keys to a multiple of it */
  int keyStep();

  /** @return the granularity of an accumulator row: the head width is rounded up to a multiple of it */
  int dimStep();

  /**
   * Keys per step of a decoding block's scores when the block reads K in address order, through all of an
   * item's heads before the next step ({@code DecodeOrder.ADDRESS_ORDER}); every step starts at a multiple
   * of it, and so must every vector of keys {@link #scoresInPlace} is given.
   *
   * @return keys per step; by default {@link #keyStep()}
   */
  default int addressOrderScoreKeys() {
    return keyStep();
  }

  /**
   * Keys per step of a decoding block's values in address order, as {@link #addressOrderScoreKeys} (16: 64 KiB
   * at 8 heads × 128); each step loads and stores a head's accumulators once, 16 stores per 256 FMAs of a
   * 4×4 tile.
   *
   * @return keys per step; by default 16
   */
  default int addressOrderValueKeys() {
    return 16;
  }

  /** @return how many partial sums a row's running sum is kept as (see {@link #rowSum}) */
  int sumLanes();

  /** @return floats of scratch the operations taking a {@code tile} need */
  int tileFloats();

  /**
   * Whether keys and values of this head width can be read where they are, a token stride apart, by
   * {@link #scoresInPlace} and {@link #accumulate} (the decoding path: no packing copy).
   *
   * @param headDim the head width
   * @return true if the in-place operations support it
   */
  boolean readsInPlace(int headDim);

  /**
   * Copies tokens {@code j < n} of {@code heads} consecutive heads, token {@code j} head {@code h} at
   * {@code src[offset + j·kvStride + h·headDim ..]}, to {@code dst[dstOffset + (h·KEY_BLOCK + j)·stride ..]},
   * zero-padded from {@code headDim} to {@code stride}. Reading token by token walks {@code src} in address
   * order, which the hardware prefetcher follows.
   */
  void pack(float[] src, int kvStride, int offset, int n, int heads, int headDim, int stride, float[] dst,
      int dstOffset);

  /**
   * Widens tokens {@code j < n} of {@code heads} consecutive heads from a segment, as {@link #pack} copies
   * floats: element {@code d} of token {@code j}, head {@code h} is element
   * {@code index + j·tokenStride + h·headDim + d} of {@code src} (elements of {@code type}, native byte
   * order), written as fp32 to {@code dst[dstOffset + (h·KEY_BLOCK + j)·stride + d]}, zero-padded from
   * {@code headDim} to {@code stride}; an {@link KvType#INT8} row is multiplied by
   * {@code scales[h·KEY_BLOCK + j]} ({@code scales} is ignored for other types). Each value is exactly
   * {@link KvType#widen} of its element.
   */
  void widen(MemorySegment src, KvType type, long index, long tokenStride, int n, int heads, int headDim,
      float[] scales, int stride, float[] dst, int dstOffset);

  /**
   * Transposes keys {@code j < n}, {@code keys[offset + j·stride + d]}, into
   * {@code kt[ktOffset + d·KEY_BLOCK + j]}.
   */
  void transposeKeys(float[] keys, int offset, int stride, int n, int headDim, float[] kt, int ktOffset,
      float[] tile);

  /**
   * Raw scores {@code s[r·KEY_BLOCK + j] = Σ_d q[qOffset[r] + d] · kt[ktOffset + d·KEY_BLOCK + j]}, for
   * {@code r < rows} and {@code j < width}, from transposed keys. With {@code seen} (null: every key), a
   * backend may leave the scores of keys outside the {@linkplain BlockRows#spanFrom span} of a row's quad
   * unwritten: {@link #rowMaxima} makes them {@code -∞} whatever they hold.
   */
  void scores(float[] q, int[] qOffset, int rows, int headDim, float[] kt, int ktOffset, int width,
      float[] s, BlockRows seen);

  /**
   * Raw scores as {@link #scores}, for keys {@code from <= j < to} read where they are,
   * {@code k[offset + j·stride + d]}, into {@code s[r·KEY_BLOCK + j]}; {@code from} is a multiple of
   * {@link #keyStep()}, and columns from {@code to} to the next multiple of it may receive anything. A block's
   * keys can so be scored a few at a time, head after head, in address order (see
   * {@link BlockedAttention}). Only called when {@link #readsInPlace} holds.
   */
  void scoresInPlace(float[] q, int[] qOffset, int rows, int headDim, float[] k, int offset, int stride,
      int from, int to, float[] s, float[] tile);

  /**
   * Whether {@link #scoresStored} and {@link #accumulateStored} support this head width: the decoding path
   * over storage that is not a {@code float[]} read in place, converting each element in registers.
   *
   * @param headDim the head width
   * @return true if the stored-row operations support it
   */
  boolean readsStored(int headDim);

  /**
   * Raw scores as {@link #scoresInPlace}, for keys {@code from <= j < to} stored in {@code k} as
   * {@code type}: key {@code j}'s row starts at element index {@code rowAt[j]} (native byte order), an
   * {@link KvType#INT8} row is multiplied by {@code rowScale[j]} ({@code rowScale} is ignored for other types).
   * Each element is used as exactly {@link KvType#widen} of it, so the scores are those
   * {@link #scoresInPlace} gives on the widened rows, bit for bit. Only called when {@link #readsStored}
   * holds.
   */
  void scoresStored(float[] q, int[] qOffset, int rows, int headDim, MemorySegment k, KvType type, long[] rowAt,
      float[] rowScale, int from, int to, float[] s, float[] tile);

  /**
   * As {@link #accumulate}, for value rows {@code j < n} stored in {@code v} as {@code type}, row {@code j}
   * at element index {@code rowAt[j]}, an INT8 row times {@code rowScale[j]}; the head width is
   * {@code stride}. Bit for bit what {@link #accumulate} gives on the widened rows. Only called when
   * {@link #readsStored} holds.
   */
  default void accumulateStored(float[] p, int rows, int n, MemorySegment v, KvType type, long[] rowAt,
      float[] rowScale, float[] alpha, float[] o, int stride, BlockRows seen) {
    rescale(rows, alpha, o, stride);
    accumulateStoredKeys(p, rows, 0, n, v, type, rowAt, rowScale, o, stride, seen);
  }

  /**
   * The sums of {@link #accumulateStored} over keys {@code from <= j < to} only, without the rescaling:
   * splitting a block's keys into consecutive ranges gives the same bits as one call over all of them.
   * {@code seen} as for {@link #accumulateKeys}.
   */
  void accumulateStoredKeys(float[] p, int rows, int from, int to, MemorySegment v, KvType type, long[] rowAt,
      float[] rowScale, float[] o, int stride, BlockRows seen);

  /**
   * The first half of the block's softmax step. With {@code rows.raw()}, {@code blockMax[r]} is the largest
   * raw score {@code s[r][j]}, {@code j < width}, and the scores are left as they are. Otherwise each score
   * becomes its logit {@code x = s·scale + mask}, or {@code -∞} from column {@code rows.visible(r)} on, stored
   * in place, and {@code blockMax[r]} is the largest logit. NaN scores never become the maximum; all
   * {@code -∞} give {@code -∞}. A backend may leave the columns outside the {@linkplain BlockRows#spanFrom
   * span} of a row's quad as they are (then {@link #exponentiate} and the accumulation skip them too).
   */
  void rowMaxima(float[] s, int width, BlockRows rows, float[] blockMax);

  /**
   * The second half: for every row, {@code p_j = e^(s_j·factor + shift[r])} replaces {@code s_j} for
   * {@code j < width}, and the running sum becomes {@code sum_r·alpha[r] + Σ_j p_j}, kept per lane. With
   * {@code seen} (null: every key) a backend may skip the columns outside the span of a row's quad, as
   * {@link #rowMaxima} may: their weights are 0, and leaving out a 0 leaves the sum's bits.
   */
  void exponentiate(float[] s, int rows, int width, float factor, float[] shift, float[] alpha, float[] sum,
      BlockRows seen);

  /**
   * {@code o[r][d] = o[r][d]·alpha[r] + Σ_{j<n} p[r·KEY_BLOCK + j] · values[valueOffset + j·valueStride + d]}
   * for {@code d < stride}, rows of {@code o} {@code stride} apart. Values are a packed block, or the
   * caller's array when read in place (then the head width is {@code stride}). {@code seen} as for
   * {@link #accumulateKeys}.
   */
  default void accumulate(float[] p, int rows, int n, float[] values, int valueOffset, int valueStride,
      float[] alpha, float[] o, int stride, BlockRows seen) {
    rescale(rows, alpha, o, stride);
    accumulateKeys(p, rows, 0, n, values, valueOffset, valueStride, o, stride, seen);
  }

  /** {@code o[r][d] *= alpha[r]} for {@code r < rows}, {@code d < stride}: a block's rescaling alone. */
  void rescale(int rows, float[] alpha, float[] o, int stride);

  /**
   * @return the width in floats of the column panels a prepared head's values are laid out in for
   *     {@link #accumulatePanels} ({@link #toPanels}), or 0 if this backend takes them as rows
   */
  default int valuePanel() {
    return 0;
  }

  /**
   * Lays out {@code n} value rows {@code src[j·stride + d]} as column panels of {@link #valuePanel()} floats:
   * the panel of columns {@code [c, c + w)} ({@code w} the panel width, less for the last) holds key
   * {@code j}'s at {@code dst[dstOffset + c·KEY_BLOCK + j·w]}. Only for a backend whose panel width is not 0.
   */
  default void toPanels(float[] src, int n, int stride, float[] dst, int dstOffset) {
    throw new UnsupportedOperationException("values as rows");
  }

  /**
   * {@link #accumulate} over values laid out by {@link #toPanels} at {@code offset}: the same sums in the
   * same order, so the same bits.
   */
  default void accumulatePanels(float[] p, int rows, int n, float[] panels, int offset, float[] alpha,
      float[] o, int stride, BlockRows seen) {
    throw new UnsupportedOperationException("values as rows");
  }

  /**
   * The sums of {@link #accumulate} over keys {@code from <= j < to} only (value row {@code j} at
   * {@code valueOffset + j·valueStride}), without the rescaling: consecutive ranges give the same bits as one
   * call over all of them, since each sum adds its keys in order either way. With {@code seen} (null: every
   * key), the weights the {@link OnlineSoftmax#step} of those rows left, a backend may skip the keys outside
   * the {@linkplain BlockRows#spanFrom span} of a row's quad: their weights are exactly 0, and adding
   * {@code 0·v} to a sum leaves its bits (for finite values, up to the sign of a zero sum; a masked key's
   * infinite or NaN value then no longer turns the row into NaN).
   */
  void accumulateKeys(float[] p, int rows, int from, int to, float[] values, int valueOffset, int valueStride,
      float[] o, int stride, BlockRows seen);

  /**
   * The lane-sum rule: row {@code r}'s running sum from its {@link #sumLanes()} partial sums, added in a
   * fixed order.
   */
  float rowSum(float[] sum, int r);

  /** {@code acc[d] += src[from + d] · weight} for {@code d < length}. */
  void addScaled(float[] src, int from, float weight, int length, float[] acc);

  /** {@code out[dst + d] = src[from + d] / divisor} for {@code d < headDim}. */
  void divide(float[] src, int from, float divisor, int headDim, float[] out, int dst);

  /**
   * Brings {@code a[from .. from+length)} into cache before a block is read in place, by reading it in
   * address order; may do nothing. (Java has no prefetch instruction; see {@link BlockedAttention}.)
   */
  void prefetch(float[] a, int from, int length);

  /** As {@link #prefetch(float[], int, int)}, for bytes {@code [from, from+length)} of a segment. */
  void prefetch(MemorySegment m, long from, long length);

  /**
   * As {@link #prefetch(MemorySegment, long, long)} for the {@code count} byte ranges
   * {@code [from[i], from[i]+length[i])} together, a line of each in turn, so that all their streams start
   * at once; may read them one after the other.
   */
  default void prefetch(MemorySegment m, long[] from, long[] length, int count) {
    for (int i = 0; i < count; i++) {
      prefetch(m, from[i], length[i]);
    }
  }

  /** As {@link #prefetch(MemorySegment, long[], long[], int)}, for element ranges of a {@code float[]}. */
  default void prefetch(float[] a, long[] from, long[] length, int count) {
    for (int i = 0; i < count; i++) {
      prefetch(a, (int) from[i], (int) length[i]);
    }
  }
}
