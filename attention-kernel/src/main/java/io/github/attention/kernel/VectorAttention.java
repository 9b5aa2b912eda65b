package io.github.attention.kernel;

import java.lang.System.Logger.Level;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API backend of {@link TiledAttention}. Only {@link KernelLookup} creates it, after checking
 * that {@code jdk.incubator.vector} is readable: this is the only class that links the Vector API.
 *
 * <p>Scores use a 4 × 4 register tile (4 rows × 4 vectors of keys, 16 accumulators): per head dimension,
 * 4 broadcasts of query values and 4 loads of transposed keys feed 16 FMAs. The P·V product uses the same
 * tile shape over (rows × vectors of the head dimension), reading the packed value block, or the caller's
 * array when decoding. Decoding-sized tasks score by {@link #dotScores} instead of transposing keys.
 */
final class VectorAttention extends TiledAttention {

  /** System property forcing a narrower species (128, 256 or 512 bits), so tests can cover each width. */
  static final String BITS_PROPERTY = "attention.vector.bits";

  /** The species of every Vector API class here (also {@link VectorProjection}). */
  static final VectorSpecies<Float> F = chooseSpecies();
  private static final VectorSpecies<Integer> I = F.withLanes(int.class);
  private static final int L = F.length();
  private static final int STRIP = 4 * L;

  VectorAttention() {}

  /** @return the width in bits of the species this backend uses */
  static int vectorBits() {
    return F.vectorBitSize();
  }

  private static VectorSpecies<Float> chooseSpecies() {
    VectorSpecies<Float> preferred = FloatVector.SPECIES_PREFERRED;
    // A key block must hold whole 4-vector strips: wider species than 512 bits are capped.
    if (preferred.vectorBitSize() > 512) {
      preferred = FloatVector.SPECIES_512;
    }
    String forced = System.getProperty(BITS_PROPERTY);
    if (forced == null) {
      return preferred;
    }
    VectorSpecies<Float> species = switch (forced.trim()) {
      case "128" -> FloatVector.SPECIES_128;
      case "256" -> FloatVector.SPECIES_256;
      case "512" -> FloatVector.SPECIES_512;
      default -> null;
    };
    if (species == null || species.vectorBitSize() > preferred.vectorBitSize()) {
      System.getLogger("io.github.attention.kernel").log(Level.WARNING,
          "ignoring -D" + BITS_PROPERTY + "=" + forced + ": expected 128, 256 or 512, at most the preferred "
              + preferred.vectorBitSize() + " bits");
      return preferred;
    }
    return species;
  }

  @Override
  public String name() {
    return "vector-" + F.vectorBitSize();
  }

  @Override
  Projection projection(float[] weights, float[] bias, int out, int in) {
    return new VectorProjection(weights, bias, out, in);
  }

  @Override
  int sumLanes() {
    return L;
  }

  @Override
  float rowSum(float[] sum, int r) {
    float total = 0f;
    for (int i = r * L, end = i + L; i < end; i++) {
      total += sum[i];
    }
    return total;
  }

  @Override
  int keyStep() {
    return STRIP;
  }

  @Override
  int dimStep() {
    return L;
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
  void transposeKeys(float[] k, int offset, int kvStride, int n, int headDim, float[] kt, int ktOffset) {
    float[] tile = tile();
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

  private static final int ROUNDS = Integer.numberOfTrailingZeros(L);
  /**
   * Lane selectors of round t at {@code [t * L, (t + 1) * L)}, for {@code selectFrom(a, b)} (indexes from L
   * pick from b): round t swaps bit t of the row index with bit t of the lane index of a pair of rows.
   */
  private static final int[] SELECT_LOW = selectIndexes(false);
  private static final int[] SELECT_HIGH = selectIndexes(true);
  /** A per-thread L × L tile: the transposition's middle rounds, or the score folding's last rounds. */
  private static final ThreadLocal<float[]> TILE = ThreadLocal.withInitial(() -> new float[L * L]);

  private static float[] tile() {
    return TILE.get();
  }

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
   * {@code reduceLanes}. Keys past {@code n} repeat key {@code n-1} (their scores are masked later).
   */
  private static void dotScores(float[] q, int[] qOffset, int rows, int headDim, float[] k, int kOffset,
      int kvStride, int n, float[] s) {
    float[] z = tile();
    for (int r = 0; r < rows; r += 4) {
      for (int j0 = 0; j0 < n; j0 += L) {
        dotScores4(q, qOffset, r, rows, headDim, k, kOffset, kvStride, j0, n, z, s);
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
   * Scores of rows r..r+3 (clamped to rows-1) against keys j0..j0+L-1 (clamped to n-1): L/4 quads by
   * {@link #dotQuad}, then the remaining folding rounds per row through the small {@code z} tile.
   */
  private static void dotScores4(float[] q, int[] qOffset, int r, int rows, int headDim, float[] keys,
      int keyOffset, int stride, int j0, int n, float[] z, float[] s) {
    int last = n - 1;
    int lastRow = rows - 1;
    int quads = L / 4;
    for (int quad = 0; quad < quads; quad++) {
      int j = j0 + 4 * quad;
      dotQuad(q, qOffset[r], qOffset[Math.min(r + 1, lastRow)], qOffset[Math.min(r + 2, lastRow)],
          qOffset[Math.min(r + 3, lastRow)], headDim, keys,
          keyOffset + Math.min(j, last) * stride, keyOffset + Math.min(j + 1, last) * stride,
          keyOffset + Math.min(j + 2, last) * stride, keyOffset + Math.min(j + 3, last) * stride,
          z, quad * L, quads * L);
    }
    for (int row = 0; row < Math.min(4, rows - r); row++) {
      int zr = row * quads * L;
      for (int t = 2, count = quads; t < ROUNDS; t++, count /= 2) {
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
      FloatVector.fromArray(F, z, zr).intoArray(s, (r + row) * KEY_BLOCK + j0);
    }
  }

  /** {@link TiledAttention#pack} with vector moves: rows are short (a head), so a copy call per row costs. */
  @Override
  void pack(float[] src, int kvStride, int offset, int n, int heads, int headDim, int stride, float[] dst,
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

  /**
   * {@link #prefetch} loads one vector per 128 bytes: the core's adjacent-line prefetcher brings the other
   * 64-byte line of each pair (measured here: 18-21 GB/s against 15-18 with a load per line).
   */
  private static final int PREFETCH_STEP = 32;
  /** Where {@link #prefetch} leaves its sum, so the JIT cannot drop the loads. */
  private static float prefetched;

  @Override
  void prefetch(float[] a, int from, int length) {
    FloatVector sum = FloatVector.zero(F);
    for (int i = from, last = from + length - L; i <= last; i += PREFETCH_STEP) {
      sum = sum.add(FloatVector.fromArray(F, a, i));
    }
    prefetched = sum.lane(0);
  }

  /** Rows below this take {@link #dotScores}; from it on, transposing the keys pays for itself. */
  static final int FEW_ROWS = 16;

  /**
   * Few rows with a head size of whole vectors (decoding) read K and V where they are: the data is used only
   * a few times, so a packing copy would cost as much as the work (it would be a second pass over memory).
   */
  @Override
  boolean readsInPlace(int rows, int headDim) {
    return rows < FEW_ROWS && L >= 8 && headDim % L == 0;
  }

  @Override
  void scoresInPlace(float[] q, int[] qOffset, int rows, int headDim, float[] k, int offset, int stride,
      int n, float[] s) {
    dotScores(q, qOffset, rows, headDim, k, offset, stride, n, s);
  }

  @Override
  void scores(float[] q, int[] qOffset, int rows, int headDim, float[] kt, int ktOffset, int width,
      float[] s) {
    int r = 0;
    for (; r < (rows & -4); r += 4) {
      for (int c = 0; c < width; c += STRIP) {
        scores4x4(q, qOffset[r], qOffset[r + 1], qOffset[r + 2], qOffset[r + 3], headDim, kt, ktOffset + c,
            s, r * KEY_BLOCK + c);
      }
    }
    for (; r < rows; r++) {
      for (int c = 0; c < width; c += STRIP) {
        scores1x4(q, qOffset[r], headDim, kt, ktOffset + c, s, r * KEY_BLOCK + c);
      }
    }
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
   * Two passes over the rows, each free of dependencies between rows so that the out-of-order core overlaps
   * one row's horizontal reduction with the next row's loads: first scale, mask and take the maximum, then
   * exponentiate and sum. {@code exp(oldMax - newMax)} is only computed when the maximum grew. A block with
   * no mask and every key visible to every row (all but the causal diagonal) keeps its raw scores: the
   * maximum of {@code s·scale} is {@code scale·max(s)} (scale is positive), and the second pass applies the
   * scale inside one fused multiply-add, which saves a store and a multiply per score.
   */
  @Override
  void softmax(float[] s, int rows, int width, int[] limit, float scale, float[] mask, int[] maskOffset,
      float[] max, float[] sum, float[] alpha) {
    boolean raw = mask == null && allSee(limit, rows, width);
    FloatVector minusInf = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
    for (int r = 0; r < rows; r++) {
      int sr = r * KEY_BLOCK;
      FloatVector vmax = minusInf;
      if (raw) {
        for (int c = 0; c < width; c += L) {
          FloatVector x = FloatVector.fromArray(F, s, sr + c);
          vmax = vmax.blend(x, x.compare(VectorOperators.GT, vmax));
        }
      } else {
        int visible = limit[r];
        int mr = maskOffset[r];
        for (int c = 0; c < width; c += L) {
          FloatVector x = FloatVector.fromArray(F, s, sr + c).mul(scale);
          if (c + L <= visible) {
            if (mr >= 0) {
              x = x.add(FloatVector.fromArray(F, mask, mr + c));
            }
          } else {
            VectorMask<Float> seen = F.indexInRange(c, visible);
            if (mr >= 0) {
              x = x.add(FloatVector.fromArray(F, mask, mr + c, seen));
            }
            x = minusInf.blend(x, seen);
          }
          x.intoArray(s, sr + c);
          vmax = vmax.blend(x, x.compare(VectorOperators.GT, vmax));
        }
      }
      float oldMax = max[r];
      float blockMax = vmax.reduceLanes(VectorOperators.MAX);
      if (raw) {
        blockMax *= scale;
      }
      if (blockMax > oldMax) {
        // exp(-inf) = 0: a row's first visible block rescales its (zero) accumulator by 0.
        alpha[r] = (float) Math.exp(oldMax - blockMax);
        max[r] = blockMax;
      } else {
        alpha[r] = 1f;
      }
    }
    FloatVector factor = FloatVector.broadcast(F, raw ? scale : 1f);
    for (int r = 0; r < rows; r++) {
      int sr = r * KEY_BLOCK;
      float m = max[r];
      // While nothing is visible the maximum is -inf; shifting by 0 then gives exp(-inf) = 0 weights.
      FloatVector shift = FloatVector.broadcast(F, m == Float.NEGATIVE_INFINITY ? 0f : -m);
      FloatVector vsum = FloatVector.zero(F);
      for (int c = 0; c < width; c += L) {
        FloatVector p = exp(FloatVector.fromArray(F, s, sr + c).fma(factor, shift));
        p.intoArray(s, sr + c);
        vsum = vsum.add(p);
      }
      // Kept per lane until rowSum: no horizontal reduction per block, and no reduceLanes(ADD), whose order
      // of additions may differ before and after the JIT compiles it.
      FloatVector.fromArray(F, sum, r * L).mul(alpha[r]).add(vsum).intoArray(sum, r * L);
    }
  }

  private static boolean allSee(int[] limit, int rows, int width) {
    for (int r = 0; r < rows; r++) {
      if (limit[r] != width) {
        return false;
      }
    }
    return true;
  }

  private static final float LOG2_E = 1.44269504088896341f;
  /** 1.5·2^23: adding it rounds to an integer, which then sits in the low mantissa bits. */
  private static final float ROUNDER = 12582912f;
  /** ln 2 split so that {@code n·LN2_HIGH} is exact for |n| < 2^12 (Cody and Waite). */
  private static final float LN2_HIGH = 0.693145751953125f;
  private static final float LN2_LOW = 1.428606765330187045e-06f;
  /** Below this, e^x is flushed to 0 (e^-86 ≈ 4.5e-38): 2^n then stays a normal number. */
  private static final float EXP_FLOOR = -86f;

  /**
   * e^x for x ≤ 0, as softmax needs it: {@code -∞} and everything below {@link #EXP_FLOOR} give 0, NaN stays
   * NaN. x = n·ln2 + r with |r| ≤ ln2/2 (Cody–Waite), e^r by its Taylor polynomial of degree 7 (truncation
   * below 6e-9 relative), scaled by 2^n through the exponent bits. Checked on every float in [-86, 0]:
   * at most 0.94 ulp from the correctly rounded value (VectorExpTest checks every 16th). About 10% more
   * attention throughput here than {@code lanewise(EXP)}, and the same bits before and after the JIT.
   */
  static FloatVector exp(FloatVector x) {
    FloatVector rounded = x.fma(FloatVector.broadcast(F, LOG2_E), FloatVector.broadcast(F, ROUNDER));
    FloatVector n = rounded.sub(ROUNDER);
    FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HIGH), x);
    r = n.fma(FloatVector.broadcast(F, -LN2_LOW), r);
    FloatVector p = r.fma(FloatVector.broadcast(F, 1f / 5040), FloatVector.broadcast(F, 1f / 720));
    p = p.fma(r, FloatVector.broadcast(F, 1f / 120));
    p = p.fma(r, FloatVector.broadcast(F, 1f / 24));
    p = p.fma(r, FloatVector.broadcast(F, 1f / 6));
    p = p.fma(r, FloatVector.broadcast(F, 0.5f));
    p = p.fma(r, FloatVector.broadcast(F, 1f));
    p = p.fma(r, FloatVector.broadcast(F, 1f));
    // rounded's bits are 0x4B400000 + n; shifted left by 23 that leaves n in the exponent field.
    FloatVector e = p.reinterpretAsInts()
        .add(rounded.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23))
        .reinterpretAsFloats();
    // NaN must stay NaN: the exponent arithmetic above can turn some NaN payloads into numbers.
    return e.blend(0f, x.compare(VectorOperators.LT, EXP_FLOOR)).blend(x, x.test(VectorOperators.IS_NAN));
  }

  @Override
  void accumulate(float[] p, int rows, int n, float[] values, int valueOffset, int valueStride,
      float[] alpha, float[] o, int stride) {
    for (int r = 0; r < rows; r++) {
      float a = alpha[r];
      if (a != 1f) {
        for (int c = r * stride, end = c + stride; c < end; c += L) {
          FloatVector.fromArray(F, o, c).mul(a).intoArray(o, c);
        }
      }
    }
    int strips = stride / STRIP * STRIP;
    int r = 0;
    for (; r < (rows & -4); r += 4) {
      int c = 0;
      for (; c < strips; c += STRIP) {
        accumulate4x4(p, r, n, values, valueOffset + c, valueStride, o, r * stride + c, stride);
      }
      for (; c < stride; c += L) {
        accumulate4x1(p, r, n, values, valueOffset + c, valueStride, o, r * stride + c, stride);
      }
    }
    for (; r < rows; r++) {
      for (int c = 0; c < stride; c += L) {
        accumulate1x1(p, r, n, values, valueOffset + c, valueStride, o, r * stride + c);
      }
    }
  }

  /** Rows r..r+3 × 4 vectors of the head dimension from column {@code c}: 16 accumulators over n keys. */
  private static void accumulate4x4(float[] p, int r, int n, float[] vt, int c, int vStride, float[] o,
      int oAt, int stride) {
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
    for (int j = 0; j < n; j++) {
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

  /** Like {@link #accumulate4x4} for a single vector of the head dimension. */
  private static void accumulate4x1(float[] p, int r, int n, float[] vt, int c, int vStride, float[] o,
      int oAt, int stride) {
    int o1 = oAt + stride;
    int o2 = o1 + stride;
    int o3 = o2 + stride;
    FloatVector x0 = FloatVector.fromArray(F, o, oAt);
    FloatVector x1 = FloatVector.fromArray(F, o, o1);
    FloatVector x2 = FloatVector.fromArray(F, o, o2);
    FloatVector x3 = FloatVector.fromArray(F, o, o3);
    int p0 = r * KEY_BLOCK;
    for (int j = 0; j < n; j++) {
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

  private static void accumulate1x1(float[] p, int r, int n, float[] vt, int c, int vStride, float[] o,
      int oAt) {
    FloatVector x = FloatVector.fromArray(F, o, oAt);
    int p0 = r * KEY_BLOCK;
    for (int j = 0; j < n; j++) {
      x = FloatVector.fromArray(F, vt, j * vStride + c).fma(FloatVector.broadcast(F, p[p0 + j]), x);
    }
    x.intoArray(o, oAt);
  }

  @Override
  void addScaled(float[] src, int from, float weight, int paddedDim, float[] acc) {
    FloatVector w = FloatVector.broadcast(F, weight);
    for (int d = 0; d < paddedDim; d += L) {
      FloatVector.fromArray(F, src, from + d).fma(w, FloatVector.fromArray(F, acc, d)).intoArray(acc, d);
    }
  }

  @Override
  void divide(float[] src, int from, float divisor, int headDim, float[] out, int dst) {
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
