package io.github.attention.internal.vector;

import static io.github.attention.internal.vector.Species.F;
import static io.github.attention.internal.vector.Species.I;
import static io.github.attention.internal.vector.Species.L;
import static io.github.attention.kernel.Blocking.KEY_BLOCK;

import io.github.attention.internal.core.BlockOps;
import io.github.attention.internal.core.BlockRows;
import io.github.attention.kernel.KvType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * The Vector API {@link BlockOps}, on the lanes of {@link Species#F}.
 *
 * <p>Scores use a 4 × 4 register tile (4 rows × 4 vectors of keys, 16 accumulators): per head dimension,
 * 4 broadcasts of query values and 4 loads of transposed keys feed 16 FMAs. The P·V product uses the same
 * tile shape over (rows × vectors of the head dimension), reading the packed value block, or the caller's
 * array when decoding. Decoding scores by {@link #dotScores} instead of transposing keys. A row's running sum
 * is kept as L partial sums, one per lane, and added in lane order at the end: {@code reduceLanes(ADD)}
 * adds in a different order before and after C2 compiles it.
 */
final class VectorBlockOps implements BlockOps {

  static final VectorBlockOps INSTANCE = new VectorBlockOps();

  /** 0, 1, .., L−1: the lanes' key offsets within a vector (exact floats), for ALiBi's biases. */
  private static final FloatVector IOTA = FloatVector.fromArray(F, iota(), 0);

  private static float[] iota() {
    float[] lanes = new float[L];
    for (int i = 0; i < L; i++) {
      lanes[i] = i;
    }
    return lanes;
  }

  /** Keys per register tile of the score product: a key block holds whole strips. */
  private static final int STRIP = 4 * L;

  private VectorBlockOps() {}

  @Override
  public int sumLanes() {
    return L;
  }

  @Override
  public float rowSum(float[] sum, int r) {
    float total = 0f;
    for (int i = r * L, end = i + L; i < end; i++) {
      total += sum[i];
    }
    return total;
  }

  @Override
  public int keyStep() {
    return STRIP;
  }

  @Override
  public int dimStep() {
    return L;
  }

  /**
   * With 16 registers, 16 keys (2 vectors of the 4 × 2 tiles' width at 256 bits) instead of a strip of 4
   * vectors, and 8 value keys instead of 16: shorter steps keep the reads nearer to address order, which
   * the smaller tiles, computing more slowly, need more. Measured on an AMD EPYC Zen 3 (AVX2), one JVM, the
   * builds alternated call by call, median ms: decode-4k-gqa 3.99 → 3.45 on one thread and 2.23 → 2.00 on
   * two, decode-32k-gqa 32.0 → 26.2 and 17.0 → 14.5 (with the values' whole-row tile, see
   * {@link #accumulate4x2}); 8 score keys or 4 or 32 value keys were slower. The 4 × 4 tiles keep the
   * steps measured on an Intel Xeon.
   */
  @Override
  public int addressOrderScoreKeys() {
    return Registers.FEW ? 16 : STRIP;
  }

  @Override
  public int addressOrderValueKeys() {
    return Registers.FEW ? 8 : 16;
  }

  /**
   * Two L × L tiles: the transposition's middle rounds or the score folding's last rounds use one, the
   * folding of {@link StoredRows#scores} (4 rows of L/2 pair vectors) both.
   */
  @Override
  public int tileFloats() {
    return 2 * L * L;
  }

  /**
   * Transposes keys in tiles of L keys × L dimensions with log2(L) rounds of two-vector lane selection
   * ({@code selectFrom(v1, v2)}, one {@code vpermt2ps} on AVX-512): round t swaps bit t of the key index with
   * bit t of the lane index, so afterwards row {@code i} holds dimension {@code i} of the tile's L keys. The
   * first round reads the keys, middle rounds go through a small per-thread tile in L1, the last writes
   * {@code kt}. Each round is one small loop: a fully unrolled tile is too big for the JIT to compile well.
   * Partial tiles (the last keys of a block, the last dimensions of an odd head size) are copied by scalar
   * code, which keeps masks out of this loop.
   */
  @Override
  public void transposeKeys(float[] k, int offset, int kvStride, int n, int headDim, float[] kt, int ktOffset,
      float[] tile) {
    for (int j0 = 0; j0 < n; j0 += L) {
      for (int d0 = 0; d0 < headDim; d0 += L) {
        int src = offset + j0 * kvStride + d0;
        int dst = ktOffset + d0 * KEY_BLOCK + j0;
        if (j0 + L <= n && d0 + L <= headDim) {
          transposeTile(k, src, kvStride, tile, kt, dst);
        } else {
          copyTransposed(k, src, kvStride, Math.min(L, n - j0), Math.min(L, headDim - d0), kt, dst);
        }
      }
    }
  }

  private static void transposeTile(float[] k, int src, int kvStride, float[] tile, float[] kt, int dst) {
    for (int t = 0; t < ROUNDS; t++) {
      IntVector low = IntVector.fromArray(I, SELECT_LOW, t * L);
      IntVector high = IntVector.fromArray(I, SELECT_HIGH, t * L);
      int bit = 1 << t;
      boolean first = t == 0;
      boolean last = t == ROUNDS - 1;
      for (int pair = 0; pair < L / 2; pair++) {
        int i = ((pair >> t) << (t + 1)) | (pair & (bit - 1));
        int j = i | bit;
        // Integer lanes: float selectors would be converted to integers on every selection.
        IntVector a = (first ? FloatVector.fromArray(F, k, src + i * kvStride)
            : FloatVector.fromArray(F, tile, i * L)).reinterpretAsInts();
        IntVector b = (first ? FloatVector.fromArray(F, k, src + j * kvStride)
            : FloatVector.fromArray(F, tile, j * L)).reinterpretAsInts();
        FloatVector x = low.selectFrom(a, b).reinterpretAsFloats();
        FloatVector y = high.selectFrom(a, b).reinterpretAsFloats();
        if (last) {
          x.intoArray(kt, dst + i * KEY_BLOCK);
          y.intoArray(kt, dst + j * KEY_BLOCK);
        } else {
          x.intoArray(tile, i * L);
          y.intoArray(tile, j * L);
        }
      }
    }
  }

  private static void copyTransposed(float[] k, int src, int kvStride, int keys, int dims, float[] kt,
      int dst) {
    for (int j = 0; j < keys; j++) {
      for (int d = 0; d < dims; d++) {
        kt[dst + d * KEY_BLOCK + j] = k[src + j * kvStride + d];
      }
    }
  }

  static final int ROUNDS = Integer.numberOfTrailingZeros(L);
  /**
   * Lane selectors of round t at {@code [t * L, (t + 1) * L)}, for {@code selectFrom(a, b)} (indexes from L
   * pick from b): round t swaps bit t of the row index with bit t of the lane index of a pair of rows.
   */
  static final int[] SELECT_LOW = selectIndexes(false);
  static final int[] SELECT_HIGH = selectIndexes(true);
  private static int[] selectIndexes(boolean high) {
    int[] indexes = new int[ROUNDS * L];
    for (int t = 0; t < ROUNDS; t++) {
      int bit = 1 << t;
      for (int p = 0; p < L; p++) {
        boolean set = (p & bit) != 0;
        indexes[t * L + p] = high ? (set ? L + p : p + bit) : (set ? L + p - bit : p);
      }
    }
    return indexes;
  }

  /**
   * Scores for few rows (decoding), without transposing keys, whose cost only pays off when many rows share
   * it. Rows go four at a time (the last group repeats its last row) through {@link #dotScores4}: per key, a
   * vector accumulator of {@code q ⊙ k} over the head dimension (pure FMAs in the inner loop); the L
   * accumulators of L keys are then folded together in log2(L) rounds of two-vector lane selection and
   * addition, which sums each accumulator's lanes and transposes at once: lane j of the result is key j's
   * score. That is about two selections and one addition per key, against log2(L) shuffles per key for
   * {@code reduceLanes}. Keys from {@code to} on repeat key {@code to-1} (their scores are masked later).
   */
  private static void dotScores(float[] q, int[] qOffset, int rows, int headDim, float[] k, int kOffset,
      int kvStride, int from, int to, float[] s, float[] z) {
    for (int r = 0; r < rows; r += 4) {
      for (int j0 = from; j0 < to; j0 += L) {
        dotScores4(q, qOffset, r, rows, headDim, k, kOffset, kvStride, j0, to, z, s);
      }
    }
  }

  /**
   * Four rows × four keys of {@link #dotScores}: 16 accumulators, 8 loads per 16 FMAs (a single row would
   * need one load per FMA). Each row's four accumulators are folded in the network's first two rounds, leaving one
   * vector per row whose lane {@code p} holds a partial sum for key {@code p & 3}; written to {@code z}.
   */
  private static void dotQuad(float[] q, int q0, int q1, int q2, int q3, int headDim, float[] keys,
      int k0, int k1, int k2, int k3, float[] z, int zAt, int zRowStride) {
    FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
    FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    for (int c = 0; c < headDim; c += L) {
      FloatVector x0 = FloatVector.fromArray(F, q, q0 + c);
      FloatVector x1 = FloatVector.fromArray(F, q, q1 + c);
      FloatVector x2 = FloatVector.fromArray(F, q, q2 + c);
      FloatVector x3 = FloatVector.fromArray(F, q, q3 + c);
      FloatVector y = FloatVector.fromArray(F, keys, k0 + c);
      a00 = y.fma(x0, a00);
      a10 = y.fma(x1, a10);
      a20 = y.fma(x2, a20);
      a30 = y.fma(x3, a30);
      y = FloatVector.fromArray(F, keys, k1 + c);
      a01 = y.fma(x0, a01);
      a11 = y.fma(x1, a11);
      a21 = y.fma(x2, a21);
      a31 = y.fma(x3, a31);
      y = FloatVector.fromArray(F, keys, k2 + c);
      a02 = y.fma(x0, a02);
      a12 = y.fma(x1, a12);
      a22 = y.fma(x2, a22);
      a32 = y.fma(x3, a32);
      y = FloatVector.fromArray(F, keys, k3 + c);
      a03 = y.fma(x0, a03);
      a13 = y.fma(x1, a13);
      a23 = y.fma(x2, a23);
      a33 = y.fma(x3, a33);
    }
    IntVector low0 = IntVector.fromArray(I, SELECT_LOW, 0);
    IntVector high0 = IntVector.fromArray(I, SELECT_HIGH, 0);
    IntVector low1 = IntVector.fromArray(I, SELECT_LOW, L);
    IntVector high1 = IntVector.fromArray(I, SELECT_HIGH, L);
    // Row by row, fold (key 0, key 1) and (key 2, key 3) in round 0, then the two results in round 1.
    // Written out: a helper taking and returning vectors was not inlined here, and boxed every vector.
    IntVector x;
    IntVector y;
    x = a00.reinterpretAsInts();
    y = a01.reinterpretAsInts();
    a00 = low0.selectFrom(x, y).reinterpretAsFloats().add(
        high0.selectFrom(x, y).reinterpretAsFloats());
    x = a02.reinterpretAsInts();
    y = a03.reinterpretAsInts();
    a02 = low0.selectFrom(x, y).reinterpretAsFloats().add(
        high0.selectFrom(x, y).reinterpretAsFloats());
    x = a00.reinterpretAsInts();
    y = a02.reinterpretAsInts();
    a00 = low1.selectFrom(x, y).reinterpretAsFloats().add(
        high1.selectFrom(x, y).reinterpretAsFloats());
    a00.intoArray(z, zAt);
    x = a10.reinterpretAsInts();
    y = a11.reinterpretAsInts();
    a10 = low0.selectFrom(x, y).reinterpretAsFloats().add(
        high0.selectFrom(x, y).reinterpretAsFloats());
    x = a12.reinterpretAsInts();
    y = a13.reinterpretAsInts();
    a12 = low0.selectFrom(x, y).reinterpretAsFloats().add(
        high0.selectFrom(x, y).reinterpretAsFloats());
    x = a10.reinterpretAsInts();
    y = a12.reinterpretAsInts();
    a10 = low1.selectFrom(x, y).reinterpretAsFloats().add(
        high1.selectFrom(x, y).reinterpretAsFloats());
    a10.intoArray(z, zAt + zRowStride);
    x = a20.reinterpretAsInts();
    y = a21.reinterpretAsInts();
    a20 = low0.selectFrom(x, y).reinterpretAsFloats().add(
        high0.selectFrom(x, y).reinterpretAsFloats());
    x = a22.reinterpretAsInts();
    y = a23.reinterpretAsInts();
    a22 = low0.selectFrom(x, y).reinterpretAsFloats().add(
        high0.selectFrom(x, y).reinterpretAsFloats());
    x = a20.reinterpretAsInts();
    y = a22.reinterpretAsInts();
    a20 = low1.selectFrom(x, y).reinterpretAsFloats().add(
        high1.selectFrom(x, y).reinterpretAsFloats());
    a20.intoArray(z, zAt + 2 * zRowStride);
    x = a30.reinterpretAsInts();
    y = a31.reinterpretAsInts();
    a30 = low0.selectFrom(x, y).reinterpretAsFloats().add(
        high0.selectFrom(x, y).reinterpretAsFloats());
    x = a32.reinterpretAsInts();
    y = a33.reinterpretAsInts();
    a32 = low0.selectFrom(x, y).reinterpretAsFloats().add(
        high0.selectFrom(x, y).reinterpretAsFloats());
    x = a30.reinterpretAsInts();
    y = a32.reinterpretAsInts();
    a30 = low1.selectFrom(x, y).reinterpretAsFloats().add(
        high1.selectFrom(x, y).reinterpretAsFloats());
    a30.intoArray(z, zAt + 3 * zRowStride);
  }

  /**
   * Two rows × four keys of {@link #dotQuad}, for machines with 16 vector registers, where the quad's 16
   * accumulators, 4 query vectors and a key spill: 8 accumulators, 6 loads per 8 FMAs, each row's sums and
   * folding exactly the quad's.
   */
  private static void dotPair(float[] q, int q0, int q1, int headDim, float[] keys, int k0, int k1, int k2,
      int k3, float[] z, int zAt, int zRowStride) {
    FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
    FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    for (int c = 0; c < headDim; c += L) {
      FloatVector x0 = FloatVector.fromArray(F, q, q0 + c);
      FloatVector x1 = FloatVector.fromArray(F, q, q1 + c);
      FloatVector y = FloatVector.fromArray(F, keys, k0 + c);
      a00 = y.fma(x0, a00);
      a10 = y.fma(x1, a10);
      y = FloatVector.fromArray(F, keys, k1 + c);
      a01 = y.fma(x0, a01);
      a11 = y.fma(x1, a11);
      y = FloatVector.fromArray(F, keys, k2 + c);
      a02 = y.fma(x0, a02);
      a12 = y.fma(x1, a12);
      y = FloatVector.fromArray(F, keys, k3 + c);
      a03 = y.fma(x0, a03);
      a13 = y.fma(x1, a13);
    }
    IntVector low0 = IntVector.fromArray(I, SELECT_LOW, 0);
    IntVector high0 = IntVector.fromArray(I, SELECT_HIGH, 0);
    IntVector low1 = IntVector.fromArray(I, SELECT_LOW, L);
    IntVector high1 = IntVector.fromArray(I, SELECT_HIGH, L);
    IntVector x;
    IntVector y;
    x = a00.reinterpretAsInts();
    y = a01.reinterpretAsInts();
    a00 = low0.selectFrom(x, y).reinterpretAsFloats().add(
        high0.selectFrom(x, y).reinterpretAsFloats());
    x = a02.reinterpretAsInts();
    y = a03.reinterpretAsInts();
    a02 = low0.selectFrom(x, y).reinterpretAsFloats().add(
        high0.selectFrom(x, y).reinterpretAsFloats());
    x = a00.reinterpretAsInts();
    y = a02.reinterpretAsInts();
    a00 = low1.selectFrom(x, y).reinterpretAsFloats().add(
        high1.selectFrom(x, y).reinterpretAsFloats());
    a00.intoArray(z, zAt);
    x = a10.reinterpretAsInts();
    y = a11.reinterpretAsInts();
    a10 = low0.selectFrom(x, y).reinterpretAsFloats().add(
        high0.selectFrom(x, y).reinterpretAsFloats());
    x = a12.reinterpretAsInts();
    y = a13.reinterpretAsInts();
    a12 = low0.selectFrom(x, y).reinterpretAsFloats().add(
        high0.selectFrom(x, y).reinterpretAsFloats());
    x = a10.reinterpretAsInts();
    y = a12.reinterpretAsInts();
    a10 = low1.selectFrom(x, y).reinterpretAsFloats().add(
        high1.selectFrom(x, y).reinterpretAsFloats());
    a10.intoArray(z, zAt + zRowStride);
  }

  /**
   * Scores of rows r..r+3 (clamped to rows-1) against keys j0..j0+L-1 (clamped to end-1): L/4 quads by
   * {@link #dotQuad}, then the remaining folding rounds per row through the small {@code z} tile.
   */
  private static void dotScores4(float[] q, int[] qOffset, int r, int rows, int headDim, float[] keys,
      int keyOffset, int stride, int j0, int end, float[] z, float[] s) {
    int last = end - 1;
    int lastRow = rows - 1;
    int quads = L / 4;
    int q0 = qOffset[r];
    int q1 = qOffset[Math.min(r + 1, lastRow)];
    int q2 = qOffset[Math.min(r + 2, lastRow)];
    int q3 = qOffset[Math.min(r + 3, lastRow)];
    for (int quad = 0; quad < quads; quad++) {
      int j = j0 + 4 * quad;
      int k0 = keyOffset + Math.min(j, last) * stride;
      int k1 = keyOffset + Math.min(j + 1, last) * stride;
      int k2 = keyOffset + Math.min(j + 2, last) * stride;
      int k3 = keyOffset + Math.min(j + 3, last) * stride;
      if (Registers.FEW) {
        dotPair(q, q0, q1, headDim, keys, k0, k1, k2, k3, z, quad * L, quads * L);
        if (r + 2 <= lastRow) {
          dotPair(q, q2, q3, headDim, keys, k0, k1, k2, k3, z, quad * L + 2 * quads * L, quads * L);
        }
      } else {
        dotQuad(q, q0, q1, q2, q3, headDim, keys, k0, k1, k2, k3, z, quad * L, quads * L);
      }
    }
    for (int row = 0; row < Math.min(4, rows - r); row++) {
      int zr = row * quads * L;
      fold(z, zr, 2);
      FloatVector.fromArray(F, z, zr).intoArray(s, (r + row) * KEY_BLOCK + j0);
    }
  }

  /**
   * The folding network's rounds from {@code first} on, for one row's vectors at {@code z[zr + i·L]}, each
   * already folded over {@code 2^first} keys: leaves the row's L scores at {@code z[zr]}.
   */
  static void fold(float[] z, int zr, int first) {
    for (int t = first, count = L >> first; t < ROUNDS; t++, count /= 2) {
      IntVector low = IntVector.fromArray(I, SELECT_LOW, t * L);
      IntVector high = IntVector.fromArray(I, SELECT_HIGH, t * L);
      for (int i = 0; i < count / 2; i++) {
        FloatVector a = FloatVector.fromArray(F, z, zr + 2 * i * L);
        FloatVector b = FloatVector.fromArray(F, z, zr + (2 * i + 1) * L);
        IntVector x = a.reinterpretAsInts();
        IntVector y = b.reinterpretAsInts();
        low.selectFrom(x, y).reinterpretAsFloats().add(high.selectFrom(x, y).reinterpretAsFloats())
            .intoArray(z, zr + i * L);
      }
    }
  }


  /** With vector moves: rows are short (a head), so a copy call per row costs. */
  @Override
  public void pack(float[] src, int kvStride, int offset, int n, int heads, int headDim, int stride, float[] dst,
      int dstOffset) {
    int full = headDim & -L;
    VectorMask<Float> tail = F.indexInRange(full, headDim);
    for (int j = 0; j < n; j++) {
      for (int h = 0; h < heads; h++) {
        int from = offset + j * kvStride + h * headDim;
        int to = dstOffset + (h * KEY_BLOCK + j) * stride;
        for (int d = 0; d < full; d += L) {
          FloatVector.fromArray(F, src, from + d).intoArray(dst, to + d);
        }
        if (full < headDim) {
          // Masked lanes read as zero, which is the padding up to stride.
          FloatVector.fromArray(F, src, from + full, tail).intoArray(dst, to + full);
        }
      }
    }
  }

  @Override
  public void widen(MemorySegment src, KvType type, long index, long tokenStride, int n, int heads,
      int headDim, float[] scales, int stride, float[] dst, int dstOffset) {
    VectorWiden.rows(src, type, index, tokenStride, n, heads, headDim, scales, stride, dst, dstOffset);
  }

  /**
   * {@link #prefetch} loads one vector per 128 bytes: the core's adjacent-line prefetcher brings the other
   * 64-byte line of each pair (measured here: 18-21 GB/s against 15-18 with a load per line).
   */
  private static final int PREFETCH_STEP = 32;
  /** Where {@link #prefetch} leaves its sum, so the JIT cannot drop the loads. */
  private static float prefetched;

  @Override
  public void prefetch(float[] a, int from, int length) {
    FloatVector sum = FloatVector.zero(F);
    for (int i = from, last = from + length - L; i <= last; i += PREFETCH_STEP) {
      sum = sum.add(FloatVector.fromArray(F, a, i));
    }
    prefetched = sum.lane(0);
  }

  /** Where {@link #prefetch(MemorySegment, long, long)} leaves its sum. */
  private static long prefetchedBytes;

  /**
   * One byte load per 64-byte line: unlike the {@code float[]} pass, every line (measured on
   * decode-32k-gqa-bf16, Intel Xeon, one thread: 41 calls/s against 35 with a load per 128 bytes).
   */
  @Override
  public void prefetch(MemorySegment m, long from, long length) {
    long sum = 0;
    for (long i = from, end = from + length; i < end; i += 64) {
      sum += m.get(ValueLayout.JAVA_BYTE, i);
    }
    prefetchedBytes = sum;
  }

  /** A line of each range in turn (one byte load per line, as the single-range pass). */
  @Override
  public void prefetch(MemorySegment m, long[] from, long[] length, int count) {
    if (count == 1) {
      prefetch(m, from[0], length[0]);
      return;
    }
    long longest = 0;
    for (int i = 0; i < count; i++) {
      longest = Math.max(longest, length[i]);
    }
    long sum = 0;
    for (long at = 0; at < longest; at += 64) {
      for (int i = 0; i < count; i++) {
        if (at < length[i]) {
          sum += m.get(ValueLayout.JAVA_BYTE, from[i] + at);
        }
      }
    }
    prefetchedBytes = sum;
  }

  /** 128 bytes of each range in turn (one vector load, as the single-range pass). */
  @Override
  public void prefetch(float[] a, long[] from, long[] length, int count) {
    if (count == 1) {
      prefetch(a, (int) from[0], (int) length[0]);
      return;
    }
    long longest = 0;
    for (int i = 0; i < count; i++) {
      longest = Math.max(longest, length[i]);
    }
    FloatVector sum = FloatVector.zero(F);
    for (int at = 0; at < longest; at += PREFETCH_STEP) {
      for (int i = 0; i < count; i++) {
        if (at + L <= length[i]) {
          sum = sum.add(FloatVector.fromArray(F, a, (int) from[i] + at));
        }
      }
    }
    prefetched = sum.lane(0);
  }

  /**
   * A head size of whole vectors: {@link #dotScores} and {@link #accumulate} read whole vectors of a key or
   * value row. On 128-bit vectors too, where the fold has two rounds instead of four: reading in place
   * still beats copying (measured forced to 128 bits, Intel Xeon, one thread: decode-4k-gqa 311 calls/s
   * against 134 through the packed path, decode-32k-gqa 22.4 against 14.1, -bf16 32.8 against 16.1).
   */
  @Override
  public boolean readsInPlace(int headDim) {
    return L >= 4 && headDim % L == 0;
  }

  @Override
  public void scoresInPlace(float[] q, int[] qOffset, int rows, int headDim, float[] k, int offset, int stride,
      int from, int to, float[] s, float[] tile) {
    dotScores(q, qOffset, rows, headDim, k, offset, stride, from, to, s, tile);
  }

  /** The same head widths as {@link #readsInPlace}: {@link StoredRows} reads whole vectors of a row. */
  @Override
  public boolean readsStored(int headDim) {
    return readsInPlace(headDim);
  }

  @Override
  public void scoresStored(float[] q, int[] qOffset, int rows, int headDim, MemorySegment k, KvType type,
      long[] rowAt, float[] rowScale, int from, int to, float[] s, float[] tile) {
    StoredRows.scores(q, qOffset, rows, headDim, k, type, rowAt, rowScale, from, to, s, tile);
  }

  @Override
  public void accumulateStoredKeys(float[] p, int rows, int from, int to, MemorySegment v, KvType type,
      long[] rowAt, float[] rowScale, float[] o, int stride, BlockRows seen) {
    StoredRows.accumulate(p, rows, from, to, v, type, rowAt, rowScale, o, stride, seen);
  }

  /**
   * Row quads in 4×4 tiles, each over its {@linkplain BlockRows#spanFrom span} rounded out to whole vectors,
   * with narrower tiles at its ends: a causal diagonal block or a sliding window's first block scores only
   * the keys its rows can see. With 16 registers, groups of 6 rows in 6×2 tiles (then of 4 in 4×2), each
   * over the spans of the quads its rows are in (AMD EPYC Zen 3, against 4×2 throughout, one JVM, builds
   * alternated, medians: prefill-1k 1.08×, prefill-2k-causal 1.04×, window512 1.07×). Each score is the
   * same chain of fused multiply-adds over {@code d} whichever tile computes it.
   */
  @Override
  public void scores(float[] q, int[] qOffset, int rows, int headDim, float[] kt, int ktOffset, int width,
      float[] s, BlockRows seen) {
    int r = 0;
    if (Registers.FEW) {
      // Six rows at a time (then four): rows are not quad-aligned here, so each group covers the spans of the
      // quads its rows are in. Scores outside a row's own quad's span are written but never read.
      for (; r + 6 <= rows; r += 6) {
        int from = seen == null ? 0 : groupStart(seen, r, r + 5);
        int to = seen == null ? width : groupEnd(seen, r, r + 5, width);
        int c = from;
        for (; c + 2 * L <= to; c += 2 * L) {
          scores6x2(q, qOffset, r, headDim, kt, ktOffset + c, s, r * KEY_BLOCK + c);
        }
        if (c < to) {
          scores6x1(q, qOffset, r, headDim, kt, ktOffset + c, s, r * KEY_BLOCK + c);
        }
      }
      for (; r + 4 <= rows; r += 4) {
        int from = seen == null ? 0 : groupStart(seen, r, r + 3);
        int to = seen == null ? width : groupEnd(seen, r, r + 3, width);
        int q0 = qOffset[r];
        int q1 = qOffset[r + 1];
        int q2 = qOffset[r + 2];
        int q3 = qOffset[r + 3];
        int c = from;
        for (; c + 2 * L <= to; c += 2 * L) {
          scores4x2(q, q0, q1, q2, q3, headDim, kt, ktOffset + c, s, r * KEY_BLOCK + c);
        }
        if (c < to) {
          scores4x1(q, q0, q1, q2, q3, headDim, kt, ktOffset + c, s, r * KEY_BLOCK + c);
        }
      }
    } else {
      for (; r < (rows & -4); r += 4) {
        int from = 0;
        int to = width;
        if (seen != null) {
          from = spanStart(seen, r);
          to = spanEnd(seen, r, width);
        }
        int q0 = qOffset[r];
        int q1 = qOffset[r + 1];
        int q2 = qOffset[r + 2];
        int q3 = qOffset[r + 3];
        int c = from;
        for (; c + STRIP <= to; c += STRIP) {
          scores4x4(q, q0, q1, q2, q3, headDim, kt, ktOffset + c, s, r * KEY_BLOCK + c);
        }
        for (; c + 2 * L <= to; c += 2 * L) {
          scores4x2(q, q0, q1, q2, q3, headDim, kt, ktOffset + c, s, r * KEY_BLOCK + c);
        }
        for (; c < to; c += L) {
          scores4x1(q, q0, q1, q2, q3, headDim, kt, ktOffset + c, s, r * KEY_BLOCK + c);
        }
      }
    }
    for (; r < rows; r++) {
      for (int c = 0; c < width; c += STRIP) {
        scores1x4(q, qOffset[r], headDim, kt, ktOffset + c, s, r * KEY_BLOCK + c);
      }
    }
  }

  /** Like {@link #scores4x4} for one vector of keys: the ends of a row quad's span. */
  private static void scores4x1(float[] q, int q0, int q1, int q2, int q3, int headDim, float[] kt, int c,
      float[] s, int dst) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    for (int d = 0; d < headDim; d++) {
      FloatVector k0 = FloatVector.fromArray(F, kt, d * KEY_BLOCK + c);
      a0 = k0.fma(FloatVector.broadcast(F, q[q0 + d]), a0);
      a1 = k0.fma(FloatVector.broadcast(F, q[q1 + d]), a1);
      a2 = k0.fma(FloatVector.broadcast(F, q[q2 + d]), a2);
      a3 = k0.fma(FloatVector.broadcast(F, q[q3 + d]), a3);
    }
    a0.intoArray(s, dst);
    a1.intoArray(s, dst + KEY_BLOCK);
    a2.intoArray(s, dst + 2 * KEY_BLOCK);
    a3.intoArray(s, dst + 3 * KEY_BLOCK);
  }

  private static void scores4x4(float[] q, int q0, int q1, int q2, int q3, int headDim, float[] kt, int c,
      float[] s, int dst) {
    FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
    FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    for (int d = 0; d < headDim; d++) {
      int kd = d * KEY_BLOCK + c;
      FloatVector k0 = FloatVector.fromArray(F, kt, kd);
      FloatVector k1 = FloatVector.fromArray(F, kt, kd + L);
      FloatVector k2 = FloatVector.fromArray(F, kt, kd + 2 * L);
      FloatVector k3 = FloatVector.fromArray(F, kt, kd + 3 * L);
      FloatVector b = FloatVector.broadcast(F, q[q0 + d]);
      a00 = k0.fma(b, a00);
      a01 = k1.fma(b, a01);
      a02 = k2.fma(b, a02);
      a03 = k3.fma(b, a03);
      b = FloatVector.broadcast(F, q[q1 + d]);
      a10 = k0.fma(b, a10);
      a11 = k1.fma(b, a11);
      a12 = k2.fma(b, a12);
      a13 = k3.fma(b, a13);
      b = FloatVector.broadcast(F, q[q2 + d]);
      a20 = k0.fma(b, a20);
      a21 = k1.fma(b, a21);
      a22 = k2.fma(b, a22);
      a23 = k3.fma(b, a23);
      b = FloatVector.broadcast(F, q[q3 + d]);
      a30 = k0.fma(b, a30);
      a31 = k1.fma(b, a31);
      a32 = k2.fma(b, a32);
      a33 = k3.fma(b, a33);
    }
    int d1 = dst + KEY_BLOCK;
    int d2 = d1 + KEY_BLOCK;
    int d3 = d2 + KEY_BLOCK;
    a00.intoArray(s, dst);
    a01.intoArray(s, dst + L);
    a02.intoArray(s, dst + 2 * L);
    a03.intoArray(s, dst + 3 * L);
    a10.intoArray(s, d1);
    a11.intoArray(s, d1 + L);
    a12.intoArray(s, d1 + 2 * L);
    a13.intoArray(s, d1 + 3 * L);
    a20.intoArray(s, d2);
    a21.intoArray(s, d2 + L);
    a22.intoArray(s, d2 + 2 * L);
    a23.intoArray(s, d2 + 3 * L);
    a30.intoArray(s, d3);
    a31.intoArray(s, d3 + L);
    a32.intoArray(s, d3 + 2 * L);
    a33.intoArray(s, d3 + 3 * L);
  }

  /**
   * Like {@link #scores4x4} for 2 vectors of keys: 8 accumulators, for machines with 16 vector registers
   * (see {@link #accumulate4x2}). Each score sums the same products in the same order.
   */
  private static void scores4x2(float[] q, int q0, int q1, int q2, int q3, int headDim, float[] kt, int c,
      float[] s, int dst) {
    FloatVector a00 = FloatVector.zero(F), a01 = a00;
    FloatVector a10 = a00, a11 = a00;
    FloatVector a20 = a00, a21 = a00;
    FloatVector a30 = a00, a31 = a00;
    for (int d = 0; d < headDim; d++) {
      int kd = d * KEY_BLOCK + c;
      FloatVector k0 = FloatVector.fromArray(F, kt, kd);
      FloatVector k1 = FloatVector.fromArray(F, kt, kd + L);
      FloatVector b = FloatVector.broadcast(F, q[q0 + d]);
      a00 = k0.fma(b, a00);
      a01 = k1.fma(b, a01);
      b = FloatVector.broadcast(F, q[q1 + d]);
      a10 = k0.fma(b, a10);
      a11 = k1.fma(b, a11);
      b = FloatVector.broadcast(F, q[q2 + d]);
      a20 = k0.fma(b, a20);
      a21 = k1.fma(b, a21);
      b = FloatVector.broadcast(F, q[q3 + d]);
      a30 = k0.fma(b, a30);
      a31 = k1.fma(b, a31);
    }
    a00.intoArray(s, dst);
    a01.intoArray(s, dst + L);
    a10.intoArray(s, dst + KEY_BLOCK);
    a11.intoArray(s, dst + KEY_BLOCK + L);
    a20.intoArray(s, dst + 2 * KEY_BLOCK);
    a21.intoArray(s, dst + 2 * KEY_BLOCK + L);
    a30.intoArray(s, dst + 3 * KEY_BLOCK);
    a31.intoArray(s, dst + 3 * KEY_BLOCK + L);
  }

  /**
   * Like {@link #scores4x2} for 6 rows: 12 accumulators, 2 key vectors and a broadcast, so that with 16
   * registers each key load feeds 6 FMAs instead of 4 (the loop's integer work is shared by 12 FMAs).
   */
  private static void scores6x2(float[] q, int[] qOffset, int r, int headDim, float[] kt, int c, float[] s,
      int dst) {
    int q0 = qOffset[r];
    int q1 = qOffset[r + 1];
    int q2 = qOffset[r + 2];
    int q3 = qOffset[r + 3];
    int q4 = qOffset[r + 4];
    int q5 = qOffset[r + 5];
    FloatVector a00 = FloatVector.zero(F), a01 = a00;
    FloatVector a10 = a00, a11 = a00;
    FloatVector a20 = a00, a21 = a00;
    FloatVector a30 = a00, a31 = a00;
    FloatVector a40 = a00, a41 = a00;
    FloatVector a50 = a00, a51 = a00;
    for (int d = 0; d < headDim; d++) {
      int kd = d * KEY_BLOCK + c;
      FloatVector k0 = FloatVector.fromArray(F, kt, kd);
      FloatVector k1 = FloatVector.fromArray(F, kt, kd + L);
      FloatVector b = FloatVector.broadcast(F, q[q0 + d]);
      a00 = k0.fma(b, a00);
      a01 = k1.fma(b, a01);
      b = FloatVector.broadcast(F, q[q1 + d]);
      a10 = k0.fma(b, a10);
      a11 = k1.fma(b, a11);
      b = FloatVector.broadcast(F, q[q2 + d]);
      a20 = k0.fma(b, a20);
      a21 = k1.fma(b, a21);
      b = FloatVector.broadcast(F, q[q3 + d]);
      a30 = k0.fma(b, a30);
      a31 = k1.fma(b, a31);
      b = FloatVector.broadcast(F, q[q4 + d]);
      a40 = k0.fma(b, a40);
      a41 = k1.fma(b, a41);
      b = FloatVector.broadcast(F, q[q5 + d]);
      a50 = k0.fma(b, a50);
      a51 = k1.fma(b, a51);
    }
    a00.intoArray(s, dst);
    a01.intoArray(s, dst + L);
    a10.intoArray(s, dst + KEY_BLOCK);
    a11.intoArray(s, dst + KEY_BLOCK + L);
    a20.intoArray(s, dst + 2 * KEY_BLOCK);
    a21.intoArray(s, dst + 2 * KEY_BLOCK + L);
    a30.intoArray(s, dst + 3 * KEY_BLOCK);
    a31.intoArray(s, dst + 3 * KEY_BLOCK + L);
    a40.intoArray(s, dst + 4 * KEY_BLOCK);
    a41.intoArray(s, dst + 4 * KEY_BLOCK + L);
    a50.intoArray(s, dst + 5 * KEY_BLOCK);
    a51.intoArray(s, dst + 5 * KEY_BLOCK + L);
  }

  /** Like {@link #scores6x2} for one vector of keys: the end of a six-row group's span. */
  private static void scores6x1(float[] q, int[] qOffset, int r, int headDim, float[] kt, int c, float[] s,
      int dst) {
    int q0 = qOffset[r];
    int q1 = qOffset[r + 1];
    int q2 = qOffset[r + 2];
    int q3 = qOffset[r + 3];
    int q4 = qOffset[r + 4];
    int q5 = qOffset[r + 5];
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
    for (int d = 0; d < headDim; d++) {
      FloatVector k0 = FloatVector.fromArray(F, kt, d * KEY_BLOCK + c);
      a0 = k0.fma(FloatVector.broadcast(F, q[q0 + d]), a0);
      a1 = k0.fma(FloatVector.broadcast(F, q[q1 + d]), a1);
      a2 = k0.fma(FloatVector.broadcast(F, q[q2 + d]), a2);
      a3 = k0.fma(FloatVector.broadcast(F, q[q3 + d]), a3);
      a4 = k0.fma(FloatVector.broadcast(F, q[q4 + d]), a4);
      a5 = k0.fma(FloatVector.broadcast(F, q[q5 + d]), a5);
    }
    a0.intoArray(s, dst);
    a1.intoArray(s, dst + KEY_BLOCK);
    a2.intoArray(s, dst + 2 * KEY_BLOCK);
    a3.intoArray(s, dst + 3 * KEY_BLOCK);
    a4.intoArray(s, dst + 4 * KEY_BLOCK);
    a5.intoArray(s, dst + 5 * KEY_BLOCK);
  }

  /**
   * The start of the keys rows {@code r0 .. r1} (at most two quads) may see: the earliest span start of their
   * quads that see any key, rounded down to a vector; 0 if none does (then {@link #groupEnd} is 0 too).
   */
  private static int groupStart(BlockRows seen, int r0, int r1) {
    int from = Integer.MAX_VALUE;
    for (int r = r0 & -4; r <= r1; r += 4) {
      if (seen.spanTo(r) > 0) {
        from = Math.min(from, spanStart(seen, r));
      }
    }
    return from == Integer.MAX_VALUE ? 0 : from;
  }

  /** The end of the keys rows {@code r0 .. r1} may see: the latest span end of their quads (see above). */
  private static int groupEnd(BlockRows seen, int r0, int r1, int width) {
    int to = 0;
    for (int r = r0 & -4; r <= r1; r += 4) {
      to = Math.max(to, spanEnd(seen, r, width));
    }
    return to;
  }

  private static void scores1x4(float[] q, int q0, int headDim, float[] kt, int c, float[] s, int dst) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    for (int d = 0; d < headDim; d++) {
      int kd = d * KEY_BLOCK + c;
      FloatVector b = FloatVector.broadcast(F, q[q0 + d]);
      a0 = FloatVector.fromArray(F, kt, kd).fma(b, a0);
      a1 = FloatVector.fromArray(F, kt, kd + L).fma(b, a1);
      a2 = FloatVector.fromArray(F, kt, kd + 2 * L).fma(b, a2);
      a3 = FloatVector.fromArray(F, kt, kd + 3 * L).fma(b, a3);
    }
    a0.intoArray(s, dst);
    a1.intoArray(s, dst + L);
    a2.intoArray(s, dst + 2 * L);
    a3.intoArray(s, dst + 3 * L);
  }

  /**
   * The first pass of the block's softmax step, free of dependencies between rows so that the out-of-order
   * core overlaps one row's horizontal maximum with the next row's loads. Raw blocks are only read.
   */
  @Override
  public void rowMaxima(float[] s, int width, BlockRows rows, float[] blockMax) {
    // Not raw: only the vectors of the row quad's span, which hold every key the row sees.
    int count = rows.count();
    boolean raw = rows.raw();
    float scale = rows.scale();
    float[] mask = rows.mask();
    FloatVector minusInf = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
    for (int r = 0; r < count; r++) {
      int sr = r * KEY_BLOCK;
      FloatVector vmax = minusInf;
      if (raw) {
        for (int c = 0; c < width; c += L) {
          FloatVector x = FloatVector.fromArray(F, s, sr + c);
          vmax = vmax.blend(x, x.compare(VectorOperators.GT, vmax));
        }
      } else {
        int first = rows.first(r);
        int visible = rows.visible(r);
        int mr = rows.maskOffset(r);
        float cap = rows.softcap();
        float inverseCap = rows.inverseCap();
        boolean alibi = rows.alibi();
        float slope = alibi ? rows.slope(r) : 0f;
        int offset = rows.alibiOffset(r);
        for (int c = spanStart(rows, r), end = spanEnd(rows, r, width); c < end; c += L) {
          FloatVector x = FloatVector.fromArray(F, s, sr + c).mul(scale);
          if (cap > 0f) {
            x = VectorTanh.tanh(x.mul(inverseCap)).mul(cap);
          }
          if (c >= first && c + L <= visible) {
            if (mask != null) {
              x = x.add(FloatVector.fromArray(F, mask, mr + c));
            }
            if (alibi) {
              x = x.add(IOTA.add((float) (offset + c)).mul(slope));
            }
          } else {
            VectorMask<Float> seen = F.indexInRange(c, visible).andNot(F.indexInRange(c, first));
            if (mask != null) {
              x = x.add(FloatVector.fromArray(F, mask, mr + c, seen));
            }
            if (alibi) {
              x = x.add(IOTA.add((float) (offset + c)).mul(slope));
            }
            x = minusInf.blend(x, seen);
          }
          x.intoArray(s, sr + c);
          vmax = vmax.blend(x, x.compare(VectorOperators.GT, vmax));
        }
      }
      // MAX is exact whatever the order of its comparisons, unlike ADD.
      blockMax[r] = vmax.reduceLanes(VectorOperators.MAX);
    }
  }

  /** The first key of {@code [from, ...)} inside row {@code r}'s quad's span ({@code from} without one). */
  static int firstKey(BlockRows seen, int r, int from) {
    return seen == null ? from : Math.max(from, seen.spanFrom(r));
  }

  /** The end of {@code [..., to)} inside row {@code r}'s quad's span ({@code to} without one). */
  static int endKey(BlockRows seen, int r, int to) {
    return seen == null ? to : Math.min(to, seen.spanTo(r));
  }

  /** Row {@code r}'s quad's span, from its first key rounded down to a vector. */
  private static int spanStart(BlockRows rows, int r) {
    return rows.spanFrom(r) & -L;
  }

  /** Row {@code r}'s quad's span, to its last key rounded up to a vector, within the block's width. */
  private static int spanEnd(BlockRows rows, int r, int width) {
    return Math.min(width, (rows.spanTo(r) + L - 1) & -L);
  }

  /**
   * The second pass: one fused multiply-add and one {@link VectorExp#exp} per vector of scores; the row's
   * sum stays in lanes, so a block costs no horizontal reduction.
   */
  @Override
  public void exponentiate(float[] s, int rows, int width, float factor, float[] shift, float[] alpha,
      float[] sum, BlockRows seen) {
    FloatVector times = FloatVector.broadcast(F, factor);
    boolean all = seen == null || seen.raw();
    for (int r = 0; r < rows; r++) {
      int sr = r * KEY_BLOCK;
      FloatVector add = FloatVector.broadcast(F, shift[r]);
      FloatVector vsum = FloatVector.zero(F);
      int from = all ? 0 : spanStart(seen, r);
      int to = all ? width : spanEnd(seen, r, width);
      for (int c = from; c < to; c += L) {
        FloatVector p = VectorExp.exp(FloatVector.fromArray(F, s, sr + c).fma(times, add));
        p.intoArray(s, sr + c);
        vsum = vsum.add(p);
      }
      FloatVector.fromArray(F, sum, r * L).mul(alpha[r]).add(vsum).intoArray(sum, r * L);
    }
  }

  /** Each row quad over its keys of {@code [from, to)} inside its {@linkplain BlockRows#spanFrom span}. */
  @Override
  public void accumulateKeys(float[] p, int rows, int from, int to, float[] values, int valueOffset,
      int valueStride, float[] o, int stride, BlockRows seen) {
    int strips = stride / STRIP * STRIP;
    int pairs = stride / (2 * L) * (2 * L);
    int r = 0;
    for (; r < (rows & -4); r += 4) {
      int a = firstKey(seen, r, from);
      int b = endKey(seen, r, to);
      if (a >= b) {
        continue;
      }
      int c = 0;
      if (Registers.FEW) {
        accumulate4x2(p, r, a, b, values, valueOffset, pairs, valueStride, o, r * stride, stride);
        c = pairs;
      } else {
        for (; c < strips; c += STRIP) {
          accumulate4x4(p, r, a, b, values, valueOffset + c, valueStride, o, r * stride + c, stride);
        }
      }
      for (; c < stride; c += L) {
        accumulate4x1(p, r, a, b, values, valueOffset + c, valueStride, o, r * stride + c, stride);
      }
    }
    for (; r < rows; r++) {
      int a = firstKey(seen, r, from);
      int b = endKey(seen, r, to);
      for (int c = 0; a < b && c < stride; c += L) {
        accumulate1x1(p, r, a, b, values, valueOffset + c, valueStride, o, r * stride + c);
      }
    }
  }

  /** Column panels of a prepared head's values: the 4 × 2 value tile's width, with 16 registers. */
  private static final int PANEL = 2 * L;

  @Override
  public int valuePanel() {
    return Registers.FEW ? PANEL : 0;
  }

  @Override
  public void toPanels(float[] src, int n, int stride, float[] dst, int dstOffset) {
    for (int c = 0; c < stride; c += PANEL) {
      int width = Math.min(PANEL, stride - c);
      int base = dstOffset + c * KEY_BLOCK;
      for (int j = 0; j < n; j++) {
        for (int d = 0; d < width; d += L) {
          FloatVector.fromArray(F, src, j * stride + c + d).intoArray(dst, base + j * width + d);
        }
      }
    }
  }

  @Override
  public void accumulatePanels(float[] p, int rows, int n, float[] panels, int offset, float[] alpha,
      float[] o, int stride, BlockRows seen) {
    rescale(rows, alpha, o, stride);
    int pairs = stride / PANEL * PANEL;
    int r = 0;
    for (; r < (rows & -4); r += 4) {
      int a = firstKey(seen, r, 0);
      int b = endKey(seen, r, n);
      if (a >= b) {
        continue;
      }
      accumulate4x2Panels(p, r, a, b, panels, offset, pairs, o, r * stride, stride);
      if (pairs < stride) {
        accumulate4x1(p, r, a, b, panels, offset + pairs * KEY_BLOCK, L, o, r * stride + pairs, stride);
      }
    }
    for (; r < rows; r++) {
      int a = firstKey(seen, r, 0);
      int b = endKey(seen, r, n);
      for (int c = 0; a < b && c < stride; c += L) {
        int panel = c / PANEL * PANEL;
        int width = Math.min(PANEL, stride - panel);
        accumulate1x1(p, r, a, b, panels, offset + panel * KEY_BLOCK + c - panel, width, o, r * stride + c);
      }
    }
  }

  /**
   * {@link #accumulate4x2} over column panels: key {@code j}'s values of the pair at {@code c} are
   * {@code PANEL} floats at {@code offset + c·KEY_BLOCK + j·PANEL}, a constant stride the JIT strength-reduces
   * and range-checks once.
   */
  private static void accumulate4x2Panels(float[] p, int r, int from, int to, float[] panels, int offset,
      int width, float[] o, int o0, int stride) {
    int p0 = r * KEY_BLOCK;
    for (int c = 0; c < width; c += PANEL) {
      int oAt = o0 + c;
      int o1 = oAt + stride;
      int o2 = o1 + stride;
      int o3 = o2 + stride;
      FloatVector o00 = FloatVector.fromArray(F, o, oAt);
      FloatVector o01 = FloatVector.fromArray(F, o, oAt + L);
      FloatVector o10 = FloatVector.fromArray(F, o, o1);
      FloatVector o11 = FloatVector.fromArray(F, o, o1 + L);
      FloatVector o20 = FloatVector.fromArray(F, o, o2);
      FloatVector o21 = FloatVector.fromArray(F, o, o2 + L);
      FloatVector o30 = FloatVector.fromArray(F, o, o3);
      FloatVector o31 = FloatVector.fromArray(F, o, o3 + L);
      int base = offset + c * KEY_BLOCK;
      for (int j = from; j < to; j++) {
        int vj = base + j * PANEL;
        FloatVector v0 = FloatVector.fromArray(F, panels, vj);
        FloatVector v1 = FloatVector.fromArray(F, panels, vj + L);
        FloatVector w = FloatVector.broadcast(F, p[p0 + j]);
        o00 = v0.fma(w, o00);
        o01 = v1.fma(w, o01);
        w = FloatVector.broadcast(F, p[p0 + KEY_BLOCK + j]);
        o10 = v0.fma(w, o10);
        o11 = v1.fma(w, o11);
        w = FloatVector.broadcast(F, p[p0 + 2 * KEY_BLOCK + j]);
        o20 = v0.fma(w, o20);
        o21 = v1.fma(w, o21);
        w = FloatVector.broadcast(F, p[p0 + 3 * KEY_BLOCK + j]);
        o30 = v0.fma(w, o30);
        o31 = v1.fma(w, o31);
      }
      o00.intoArray(o, oAt);
      o01.intoArray(o, oAt + L);
      o10.intoArray(o, o1);
      o11.intoArray(o, o1 + L);
      o20.intoArray(o, o2);
      o21.intoArray(o, o2 + L);
      o30.intoArray(o, o3);
      o31.intoArray(o, o3 + L);
    }
  }

  /** {@code o[r][d] *= alpha[r]}: the accumulators' rescaling before a block's values are added. */
  @Override
  public void rescale(int rows, float[] alpha, float[] o, int stride) {
    for (int r = 0; r < rows; r++) {
      float a = alpha[r];
      if (a != 1f) {
        for (int c = r * stride, end = c + stride; c < end; c += L) {
          FloatVector.fromArray(F, o, c).mul(a).intoArray(o, c);
        }
      }
    }
  }

  /**
   * Rows r..r+3 × 4 vectors of the head dimension from column {@code c}: 16 accumulators over keys
   * {@code [from, to)}.
   */
  private static void accumulate4x4(float[] p, int r, int from, int to, float[] vt, int c, int vStride,
      float[] o, int oAt, int stride) {
    int o1 = oAt + stride;
    int o2 = o1 + stride;
    int o3 = o2 + stride;
    FloatVector o00 = FloatVector.fromArray(F, o, oAt);
    FloatVector o01 = FloatVector.fromArray(F, o, oAt + L);
    FloatVector o02 = FloatVector.fromArray(F, o, oAt + 2 * L);
    FloatVector o03 = FloatVector.fromArray(F, o, oAt + 3 * L);
    FloatVector o10 = FloatVector.fromArray(F, o, o1);
    FloatVector o11 = FloatVector.fromArray(F, o, o1 + L);
    FloatVector o12 = FloatVector.fromArray(F, o, o1 + 2 * L);
    FloatVector o13 = FloatVector.fromArray(F, o, o1 + 3 * L);
    FloatVector o20 = FloatVector.fromArray(F, o, o2);
    FloatVector o21 = FloatVector.fromArray(F, o, o2 + L);
    FloatVector o22 = FloatVector.fromArray(F, o, o2 + 2 * L);
    FloatVector o23 = FloatVector.fromArray(F, o, o2 + 3 * L);
    FloatVector o30 = FloatVector.fromArray(F, o, o3);
    FloatVector o31 = FloatVector.fromArray(F, o, o3 + L);
    FloatVector o32 = FloatVector.fromArray(F, o, o3 + 2 * L);
    FloatVector o33 = FloatVector.fromArray(F, o, o3 + 3 * L);
    int p0 = r * KEY_BLOCK;
    for (int j = from; j < to; j++) {
      int vj = j * vStride + c;
      FloatVector v0 = FloatVector.fromArray(F, vt, vj);
      FloatVector v1 = FloatVector.fromArray(F, vt, vj + L);
      FloatVector v2 = FloatVector.fromArray(F, vt, vj + 2 * L);
      FloatVector v3 = FloatVector.fromArray(F, vt, vj + 3 * L);
      FloatVector w = FloatVector.broadcast(F, p[p0 + j]);
      o00 = v0.fma(w, o00);
      o01 = v1.fma(w, o01);
      o02 = v2.fma(w, o02);
      o03 = v3.fma(w, o03);
      w = FloatVector.broadcast(F, p[p0 + KEY_BLOCK + j]);
      o10 = v0.fma(w, o10);
      o11 = v1.fma(w, o11);
      o12 = v2.fma(w, o12);
      o13 = v3.fma(w, o13);
      w = FloatVector.broadcast(F, p[p0 + 2 * KEY_BLOCK + j]);
      o20 = v0.fma(w, o20);
      o21 = v1.fma(w, o21);
      o22 = v2.fma(w, o22);
      o23 = v3.fma(w, o23);
      w = FloatVector.broadcast(F, p[p0 + 3 * KEY_BLOCK + j]);
      o30 = v0.fma(w, o30);
      o31 = v1.fma(w, o31);
      o32 = v2.fma(w, o32);
      o33 = v3.fma(w, o33);
    }
    o00.intoArray(o, oAt);
    o01.intoArray(o, oAt + L);
    o02.intoArray(o, oAt + 2 * L);
    o03.intoArray(o, oAt + 3 * L);
    o10.intoArray(o, o1);
    o11.intoArray(o, o1 + L);
    o12.intoArray(o, o1 + 2 * L);
    o13.intoArray(o, o1 + 3 * L);
    o20.intoArray(o, o2);
    o21.intoArray(o, o2 + L);
    o22.intoArray(o, o2 + 2 * L);
    o23.intoArray(o, o2 + 3 * L);
    o30.intoArray(o, o3);
    o31.intoArray(o, o3 + L);
    o32.intoArray(o, o3 + 2 * L);
    o33.intoArray(o, o3 + 3 * L);
  }

  /**
   * Like {@link #accumulate4x4} for 2 vectors of the head dimension at a time, all the pairs of columns of
   * {@code [0, width)} in one call: 8 accumulators, for machines with 16 vector registers, where the 4×4
   * tile's 16 accumulators, 4 value vectors and a weight spill. One call per row quad, not per pair: a tile
   * this size is not inlined, and each call costs (AMD EPYC Zen 3, one JVM, builds alternated call by call,
   * median [first quartile] ms: prefill-1k 57.8 [48.5] → 53.7 [43.9], prefill-2k-causal 235 [204] → 218
   * [184], decode-4k-gqa 5.01 [4.29] → 4.68 [4.19]). The same for the score tiles was slower (0.93–0.96×).
   */
  private static void accumulate4x2(float[] p, int r, int from, int to, float[] vt, int c0, int width,
      int vStride, float[] o, int o0, int stride) {
    int p0 = r * KEY_BLOCK;
    for (int c = 0; c < width; c += 2 * L) {
      int oAt = o0 + c;
      int o1 = oAt + stride;
      int o2 = o1 + stride;
      int o3 = o2 + stride;
      FloatVector o00 = FloatVector.fromArray(F, o, oAt);
      FloatVector o01 = FloatVector.fromArray(F, o, oAt + L);
      FloatVector o10 = FloatVector.fromArray(F, o, o1);
      FloatVector o11 = FloatVector.fromArray(F, o, o1 + L);
      FloatVector o20 = FloatVector.fromArray(F, o, o2);
      FloatVector o21 = FloatVector.fromArray(F, o, o2 + L);
      FloatVector o30 = FloatVector.fromArray(F, o, o3);
      FloatVector o31 = FloatVector.fromArray(F, o, o3 + L);
      int cv = c0 + c;
      for (int j = from; j < to; j++) {
        int vj = j * vStride + cv;
        FloatVector v0 = FloatVector.fromArray(F, vt, vj);
        FloatVector v1 = FloatVector.fromArray(F, vt, vj + L);
        FloatVector w = FloatVector.broadcast(F, p[p0 + j]);
        o00 = v0.fma(w, o00);
        o01 = v1.fma(w, o01);
        w = FloatVector.broadcast(F, p[p0 + KEY_BLOCK + j]);
        o10 = v0.fma(w, o10);
        o11 = v1.fma(w, o11);
        w = FloatVector.broadcast(F, p[p0 + 2 * KEY_BLOCK + j]);
        o20 = v0.fma(w, o20);
        o21 = v1.fma(w, o21);
        w = FloatVector.broadcast(F, p[p0 + 3 * KEY_BLOCK + j]);
        o30 = v0.fma(w, o30);
        o31 = v1.fma(w, o31);
      }
      o00.intoArray(o, oAt);
      o01.intoArray(o, oAt + L);
      o10.intoArray(o, o1);
      o11.intoArray(o, o1 + L);
      o20.intoArray(o, o2);
      o21.intoArray(o, o2 + L);
      o30.intoArray(o, o3);
      o31.intoArray(o, o3 + L);
    }
  }

  /** Like {@link #accumulate4x4} for a single vector of the head dimension. */
  private static void accumulate4x1(float[] p, int r, int from, int to, float[] vt, int c, int vStride,
      float[] o, int oAt, int stride) {
    int o1 = oAt + stride;
    int o2 = o1 + stride;
    int o3 = o2 + stride;
    FloatVector x0 = FloatVector.fromArray(F, o, oAt);
    FloatVector x1 = FloatVector.fromArray(F, o, o1);
    FloatVector x2 = FloatVector.fromArray(F, o, o2);
    FloatVector x3 = FloatVector.fromArray(F, o, o3);
    int p0 = r * KEY_BLOCK;
    for (int j = from; j < to; j++) {
      FloatVector vj = FloatVector.fromArray(F, vt, j * vStride + c);
      x0 = vj.fma(FloatVector.broadcast(F, p[p0 + j]), x0);
      x1 = vj.fma(FloatVector.broadcast(F, p[p0 + KEY_BLOCK + j]), x1);
      x2 = vj.fma(FloatVector.broadcast(F, p[p0 + 2 * KEY_BLOCK + j]), x2);
      x3 = vj.fma(FloatVector.broadcast(F, p[p0 + 3 * KEY_BLOCK + j]), x3);
    }
    x0.intoArray(o, oAt);
    x1.intoArray(o, o1);
    x2.intoArray(o, o2);
    x3.intoArray(o, o3);
  }

  private static void accumulate1x1(float[] p, int r, int from, int to, float[] vt, int c, int vStride, float[] o,
      int oAt) {
    FloatVector x = FloatVector.fromArray(F, o, oAt);
    int p0 = r * KEY_BLOCK;
    for (int j = from; j < to; j++) {
      x = FloatVector.fromArray(F, vt, j * vStride + c).fma(FloatVector.broadcast(F, p[p0 + j]), x);
    }
    x.intoArray(o, oAt);
  }

  @Override
  public void addScaled(float[] src, int from, float weight, int length, float[] acc) {
    FloatVector w = FloatVector.broadcast(F, weight);
    for (int d = 0; d < length; d += L) {
      FloatVector.fromArray(F, src, from + d).fma(w, FloatVector.fromArray(F, acc, d)).intoArray(acc, d);
    }
  }

  @Override
  public void divide(float[] src, int from, float divisor, int headDim, float[] out, int dst) {
    int d = 0;
    for (; d + L <= headDim; d += L) {
      FloatVector.fromArray(F, src, from + d).div(divisor).intoArray(out, dst + d);
    }
    if (d < headDim) {
      VectorMask<Float> tail = F.indexInRange(d, headDim);
      FloatVector.fromArray(F, src, from + d).div(divisor).intoArray(out, dst + d, tail);
    }
  }
}
