package io.github.attention.internal.vector;

import static io.github.attention.internal.vector.Species.B;
import static io.github.attention.internal.vector.Species.F;
import static io.github.attention.internal.vector.Species.I;
import static io.github.attention.internal.vector.Species.L;
import static io.github.attention.internal.vector.Species.S;
import static io.github.attention.kernel.Blocking.KEY_BLOCK;

import io.github.attention.internal.core.BlockRows;
import io.github.attention.kernel.KvType;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;

/**
 * Decoding straight from K/V storage of any {@link KvType}: each element is loaded as stored (2 or 1 bytes
 * for bf16, f16 and int8) and widened to fp32 in a register by {@link VectorWiden}'s exact conversions, then
 * used as the {@code float[]} path uses its values, so the results are that path's on the widened values, bit
 * for bit. A row is addressed by its element index ({@code rowAt[j]}, from the caller's layout and block
 * table), so token-major, head-major, padded and paged storage all take the same loops.
 *
 * <p>One small register tile per element type, not one tile with a switch per load: a generic tile grew too
 * large for C2 to inline the conversions into ({@code NodeCountInliningCutoff} with f16 in the same
 * process), and then every vector was boxed (200 MB allocated per decode-32k-gqa-f16 call, Intel Xeon).
 *
 * <p>Scores: per 4 rows × 4 keys, 16 accumulators of {@code q ⊙ k} over the head dimension (4 query loads
 * and 4 converted key loads per 16 FMAs), stored raw to the small tile {@code z}; each row's L accumulators
 * of L keys are then folded by {@link VectorBlockOps}'s selection network (the same additions in the same
 * order as its in-register version). Values: per 4 rows × 2 vectors of the head dimension, 8 accumulators,
 * each converted value vector shared by the 4 rows. Rows past the last repeat the last row (and columns past
 * the last, the last vector): the copies compute and store the same values, so tails need no masks.
 */
final class StoredRows {

  private static final ByteOrder ORDER = ByteOrder.nativeOrder();
  /** Quads of 4 keys, and pairs of keys, per L keys. */
  private static final int QUADS = L / 4;
  private static final int PAIRS = L / 2;

  private StoredRows() {}

  /**
   * Raw scores {@code s[r·KEY_BLOCK + j] = Σ_d q[qOffset[r] + d] · k_j[d]} for {@code r < rows},
   * {@code from <= j < to}, {@code from} a multiple of L (columns up to the next multiple of L receive copies
   * of key {@code to-1}'s).
   */
  static void scores(float[] q, int[] qOffset, int rows, int headDim, MemorySegment k, KvType type,
      long[] rowAt, float[] rowScale, int from, int to, float[] s, float[] z) {
    int last = to - 1;
    int lastRow = rows - 1;
    for (int r = 0; r < rows; r += 4) {
      int q0 = qOffset[r];
      int q1 = qOffset[Math.min(r + 1, lastRow)];
      int q2 = qOffset[Math.min(r + 2, lastRow)];
      int q3 = qOffset[Math.min(r + 3, lastRow)];
      for (int j0 = from; j0 < to; j0 += L) {
        if (type == KvType.F16) {
          for (int j = j0; j < j0 + L; j += 2) {
            keysF16(q, q0, q1, q2, q3, headDim, k, rowAt[Math.min(j, last)], rowAt[Math.min(j + 1, last)], z,
                (j - j0) / 2 * L, PAIRS * L);
          }
        } else {
          for (int j = j0; j < j0 + L; j += 4) {
            long k0 = rowAt[Math.min(j, last)];
            long k1 = rowAt[Math.min(j + 1, last)];
            long k2 = rowAt[Math.min(j + 2, last)];
            long k3 = rowAt[Math.min(j + 3, last)];
            int at = (j - j0) / 4 * L;
            switch (type) {
              case BF16 -> keysBf16(q, q0, q1, q2, q3, headDim, k, k0, k1, k2, k3, z, at, QUADS * L);
              case INT8 -> keysInt8(q, q0, q1, q2, q3, headDim, k, k0, k1, k2, k3, rowScale[Math.min(j, last)],
                  rowScale[Math.min(j + 1, last)], rowScale[Math.min(j + 2, last)],
                  rowScale[Math.min(j + 3, last)], z, at, QUADS * L);
              default -> keysF32(q, q0, q1, q2, q3, headDim, k, k0, k1, k2, k3, z, at, QUADS * L);
            }
          }
        }
        // The network's remaining rounds, from the pairs or quads the tiles left.
        int first = type == KvType.F16 ? 1 : 2;
        int rowStride = type == KvType.F16 ? PAIRS * L : QUADS * L;
        for (int row = 0; row < Math.min(4, rows - r); row++) {
          VectorBlockOps.fold(z, row * rowStride, first);
          FloatVector.fromArray(F, z, row * rowStride).intoArray(s, (r + row) * KEY_BLOCK + j0);
        }
      }
    }
  }

  /**
   * {@code o[r][d] += Σ_{from<=j<to} p[r·KEY_BLOCK + j] · v_j[d]} for {@code r < rows}, {@code d < stride}
   * (the head width, a multiple of L); rescaling is the caller's. With {@code seen}, each row quad only over
   * its {@linkplain BlockRows#spanFrom span} (the weights outside are 0).
   */
  static void accumulate(float[] p, int rows, int from, int to, MemorySegment v, KvType type, long[] rowAt,
      float[] rowScale, float[] o, int stride, BlockRows seen) {
    int lastRow = rows - 1;
    for (int r = 0; r < rows; r += 4) {
      int a = VectorBlockOps.firstKey(seen, r, from);
      int b = VectorBlockOps.endKey(seen, r, to);
      if (a >= b) {
        continue;
      }
      int r1 = Math.min(r + 1, lastRow);
      int r2 = Math.min(r + 2, lastRow);
      int r3 = Math.min(r + 3, lastRow);
      for (int c = 0; c < stride; c += 2 * L) {
        int c1 = Math.min(c + L, stride - L);
        int p0 = r * KEY_BLOCK;
        int p1 = r1 * KEY_BLOCK;
        int p2 = r2 * KEY_BLOCK;
        int p3 = r3 * KEY_BLOCK;
        int o0 = r * stride;
        int o1 = r1 * stride;
        int o2 = r2 * stride;
        int o3 = r3 * stride;
        switch (type) {
          case F32 -> valuesF32(p, p0, p1, p2, p3, a, b, v, rowAt, c, c1, o, o0, o1, o2, o3);
          case BF16 -> valuesBf16(p, p0, p1, p2, p3, a, b, v, rowAt, c, c1, o, o0, o1, o2, o3);
          case F16 -> valuesF16(p, p0, p1, p2, p3, a, b, v, rowAt, c, c1, o, o0, o1, o2, o3);
          case INT8 -> valuesInt8(p, p0, p1, p2, p3, a, b, v, rowAt, rowScale, c, c1, o, o0, o1, o2, o3);
        }
      }
    }
  }

  // The per-type tiles. Each differs from the others only in how a vector of a row is loaded and widened.

  private static FloatVector f32(MemorySegment m, long element) {
    return FloatVector.fromMemorySegment(F, m, element * Float.BYTES, ORDER);
  }

  private static FloatVector bf16(MemorySegment m, long element) {
    return VectorWiden.bf16(ShortVector.fromMemorySegment(S, m, element * Short.BYTES, ORDER));
  }

  private static FloatVector f16(MemorySegment m, long element) {
    return VectorWiden.f16(ShortVector.fromMemorySegment(S, m, element * Short.BYTES, ORDER));
  }

  private static FloatVector int8(MemorySegment m, long element, float scale) {
    return VectorWiden.int8(m, element, scale);
  }

  private static void keysF32(float[] q, int q0, int q1, int q2, int q3, int headDim, MemorySegment m,
      long k0, long k1, long k2, long k3, float[] z, int at, int rowStride) {
    FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
    FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    for (int c = 0; c < headDim; c += L) {
      FloatVector x0 = FloatVector.fromArray(F, q, q0 + c);
      FloatVector x1 = FloatVector.fromArray(F, q, q1 + c);
      FloatVector x2 = FloatVector.fromArray(F, q, q2 + c);
      FloatVector x3 = FloatVector.fromArray(F, q, q3 + c);
      FloatVector y = f32(m, k0 + c);
      a00 = y.fma(x0, a00); a10 = y.fma(x1, a10); a20 = y.fma(x2, a20); a30 = y.fma(x3, a30);
      y = f32(m, k1 + c);
      a01 = y.fma(x0, a01); a11 = y.fma(x1, a11); a21 = y.fma(x2, a21); a31 = y.fma(x3, a31);
      y = f32(m, k2 + c);
      a02 = y.fma(x0, a02); a12 = y.fma(x1, a12); a22 = y.fma(x2, a22); a32 = y.fma(x3, a32);
      y = f32(m, k3 + c);
      a03 = y.fma(x0, a03); a13 = y.fma(x1, a13); a23 = y.fma(x2, a23); a33 = y.fma(x3, a33);
    }
    // Rounds 0 and 1 of the folding network, written out: a helper taking vectors is not always inlined
    // here, and then every vector is boxed.
    IntVector low0 = IntVector.fromArray(I, VectorBlockOps.SELECT_LOW, 0);
    IntVector high0 = IntVector.fromArray(I, VectorBlockOps.SELECT_HIGH, 0);
    IntVector low1 = IntVector.fromArray(I, VectorBlockOps.SELECT_LOW, L);
    IntVector high1 = IntVector.fromArray(I, VectorBlockOps.SELECT_HIGH, L);
    IntVector x;
    IntVector y;
    x = a00.reinterpretAsInts();
    y = a01.reinterpretAsInts();
    FloatVector e0 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = a02.reinterpretAsInts();
    y = a03.reinterpretAsInts();
    FloatVector f0 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = e0.reinterpretAsInts();
    y = f0.reinterpretAsInts();
    low1.selectFrom(x, y).reinterpretAsFloats().add(high1.selectFrom(x, y).reinterpretAsFloats())
        .intoArray(z, at);
    x = a10.reinterpretAsInts();
    y = a11.reinterpretAsInts();
    FloatVector e1 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = a12.reinterpretAsInts();
    y = a13.reinterpretAsInts();
    FloatVector f1 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = e1.reinterpretAsInts();
    y = f1.reinterpretAsInts();
    low1.selectFrom(x, y).reinterpretAsFloats().add(high1.selectFrom(x, y).reinterpretAsFloats())
        .intoArray(z, at + rowStride);
    x = a20.reinterpretAsInts();
    y = a21.reinterpretAsInts();
    FloatVector e2 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = a22.reinterpretAsInts();
    y = a23.reinterpretAsInts();
    FloatVector f2 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = e2.reinterpretAsInts();
    y = f2.reinterpretAsInts();
    low1.selectFrom(x, y).reinterpretAsFloats().add(high1.selectFrom(x, y).reinterpretAsFloats())
        .intoArray(z, at + 2 * rowStride);
    x = a30.reinterpretAsInts();
    y = a31.reinterpretAsInts();
    FloatVector e3 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = a32.reinterpretAsInts();
    y = a33.reinterpretAsInts();
    FloatVector f3 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = e3.reinterpretAsInts();
    y = f3.reinterpretAsInts();
    low1.selectFrom(x, y).reinterpretAsFloats().add(high1.selectFrom(x, y).reinterpretAsFloats())
        .intoArray(z, at + 3 * rowStride);
  }

  private static void keysBf16(float[] q, int q0, int q1, int q2, int q3, int headDim, MemorySegment m,
      long k0, long k1, long k2, long k3, float[] z, int at, int rowStride) {
    FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
    FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    for (int c = 0; c < headDim; c += L) {
      FloatVector x0 = FloatVector.fromArray(F, q, q0 + c);
      FloatVector x1 = FloatVector.fromArray(F, q, q1 + c);
      FloatVector x2 = FloatVector.fromArray(F, q, q2 + c);
      FloatVector x3 = FloatVector.fromArray(F, q, q3 + c);
      FloatVector y = bf16(m, k0 + c);
      a00 = y.fma(x0, a00); a10 = y.fma(x1, a10); a20 = y.fma(x2, a20); a30 = y.fma(x3, a30);
      y = bf16(m, k1 + c);
      a01 = y.fma(x0, a01); a11 = y.fma(x1, a11); a21 = y.fma(x2, a21); a31 = y.fma(x3, a31);
      y = bf16(m, k2 + c);
      a02 = y.fma(x0, a02); a12 = y.fma(x1, a12); a22 = y.fma(x2, a22); a32 = y.fma(x3, a32);
      y = bf16(m, k3 + c);
      a03 = y.fma(x0, a03); a13 = y.fma(x1, a13); a23 = y.fma(x2, a23); a33 = y.fma(x3, a33);
    }
    // Rounds 0 and 1 of the folding network, written out: a helper taking vectors is not always inlined
    // here, and then every vector is boxed.
    IntVector low0 = IntVector.fromArray(I, VectorBlockOps.SELECT_LOW, 0);
    IntVector high0 = IntVector.fromArray(I, VectorBlockOps.SELECT_HIGH, 0);
    IntVector low1 = IntVector.fromArray(I, VectorBlockOps.SELECT_LOW, L);
    IntVector high1 = IntVector.fromArray(I, VectorBlockOps.SELECT_HIGH, L);
    IntVector x;
    IntVector y;
    x = a00.reinterpretAsInts();
    y = a01.reinterpretAsInts();
    FloatVector e0 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = a02.reinterpretAsInts();
    y = a03.reinterpretAsInts();
    FloatVector f0 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = e0.reinterpretAsInts();
    y = f0.reinterpretAsInts();
    low1.selectFrom(x, y).reinterpretAsFloats().add(high1.selectFrom(x, y).reinterpretAsFloats())
        .intoArray(z, at);
    x = a10.reinterpretAsInts();
    y = a11.reinterpretAsInts();
    FloatVector e1 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = a12.reinterpretAsInts();
    y = a13.reinterpretAsInts();
    FloatVector f1 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = e1.reinterpretAsInts();
    y = f1.reinterpretAsInts();
    low1.selectFrom(x, y).reinterpretAsFloats().add(high1.selectFrom(x, y).reinterpretAsFloats())
        .intoArray(z, at + rowStride);
    x = a20.reinterpretAsInts();
    y = a21.reinterpretAsInts();
    FloatVector e2 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = a22.reinterpretAsInts();
    y = a23.reinterpretAsInts();
    FloatVector f2 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = e2.reinterpretAsInts();
    y = f2.reinterpretAsInts();
    low1.selectFrom(x, y).reinterpretAsFloats().add(high1.selectFrom(x, y).reinterpretAsFloats())
        .intoArray(z, at + 2 * rowStride);
    x = a30.reinterpretAsInts();
    y = a31.reinterpretAsInts();
    FloatVector e3 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = a32.reinterpretAsInts();
    y = a33.reinterpretAsInts();
    FloatVector f3 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = e3.reinterpretAsInts();
    y = f3.reinterpretAsInts();
    low1.selectFrom(x, y).reinterpretAsFloats().add(high1.selectFrom(x, y).reinterpretAsFloats())
        .intoArray(z, at + 3 * rowStride);
  }

  /**
   * f16 keys two at a time (8 accumulators, round 0 of the network in registers): its conversion is long
   * enough that four of them in one tile grew it past what C2 inlines (the fourth key's vectors were boxed).
   */
  private static void keysF16(float[] q, int q0, int q1, int q2, int q3, int headDim, MemorySegment m,
      long k0, long k1, float[] z, int at, int rowStride) {
    FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
    FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    for (int c = 0; c < headDim; c += L) {
      FloatVector u = f16(m, k0 + c);
      FloatVector v = f16(m, k1 + c);
      FloatVector w = FloatVector.fromArray(F, q, q0 + c);
      a0 = u.fma(w, a0); b0 = v.fma(w, b0);
      w = FloatVector.fromArray(F, q, q1 + c);
      a1 = u.fma(w, a1); b1 = v.fma(w, b1);
      w = FloatVector.fromArray(F, q, q2 + c);
      a2 = u.fma(w, a2); b2 = v.fma(w, b2);
      w = FloatVector.fromArray(F, q, q3 + c);
      a3 = u.fma(w, a3); b3 = v.fma(w, b3);
    }
    IntVector low = IntVector.fromArray(I, VectorBlockOps.SELECT_LOW, 0);
    IntVector high = IntVector.fromArray(I, VectorBlockOps.SELECT_HIGH, 0);
    IntVector x = a0.reinterpretAsInts();
    IntVector y = b0.reinterpretAsInts();
    low.selectFrom(x, y).reinterpretAsFloats().add(high.selectFrom(x, y).reinterpretAsFloats()).intoArray(z, at);
    x = a1.reinterpretAsInts();
    y = b1.reinterpretAsInts();
    low.selectFrom(x, y).reinterpretAsFloats().add(high.selectFrom(x, y).reinterpretAsFloats())
        .intoArray(z, at + rowStride);
    x = a2.reinterpretAsInts();
    y = b2.reinterpretAsInts();
    low.selectFrom(x, y).reinterpretAsFloats().add(high.selectFrom(x, y).reinterpretAsFloats())
        .intoArray(z, at + 2 * rowStride);
    x = a3.reinterpretAsInts();
    y = b3.reinterpretAsInts();
    low.selectFrom(x, y).reinterpretAsFloats().add(high.selectFrom(x, y).reinterpretAsFloats())
        .intoArray(z, at + 3 * rowStride);
  }

  private static void keysInt8(float[] q, int q0, int q1, int q2, int q3, int headDim, MemorySegment m,
      long k0, long k1, long k2, long k3, float s0, float s1, float s2,
      float s3, float[] z, int at, int rowStride) {
    FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
    FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    for (int c = 0; c < headDim; c += L) {
      FloatVector x0 = FloatVector.fromArray(F, q, q0 + c);
      FloatVector x1 = FloatVector.fromArray(F, q, q1 + c);
      FloatVector x2 = FloatVector.fromArray(F, q, q2 + c);
      FloatVector x3 = FloatVector.fromArray(F, q, q3 + c);
      FloatVector y = int8(m, k0 + c, s0);
      a00 = y.fma(x0, a00); a10 = y.fma(x1, a10); a20 = y.fma(x2, a20); a30 = y.fma(x3, a30);
      y = int8(m, k1 + c, s1);
      a01 = y.fma(x0, a01); a11 = y.fma(x1, a11); a21 = y.fma(x2, a21); a31 = y.fma(x3, a31);
      y = int8(m, k2 + c, s2);
      a02 = y.fma(x0, a02); a12 = y.fma(x1, a12); a22 = y.fma(x2, a22); a32 = y.fma(x3, a32);
      y = int8(m, k3 + c, s3);
      a03 = y.fma(x0, a03); a13 = y.fma(x1, a13); a23 = y.fma(x2, a23); a33 = y.fma(x3, a33);
    }
    // Rounds 0 and 1 of the folding network, written out: a helper taking vectors is not always inlined
    // here, and then every vector is boxed.
    IntVector low0 = IntVector.fromArray(I, VectorBlockOps.SELECT_LOW, 0);
    IntVector high0 = IntVector.fromArray(I, VectorBlockOps.SELECT_HIGH, 0);
    IntVector low1 = IntVector.fromArray(I, VectorBlockOps.SELECT_LOW, L);
    IntVector high1 = IntVector.fromArray(I, VectorBlockOps.SELECT_HIGH, L);
    IntVector x;
    IntVector y;
    x = a00.reinterpretAsInts();
    y = a01.reinterpretAsInts();
    FloatVector e0 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = a02.reinterpretAsInts();
    y = a03.reinterpretAsInts();
    FloatVector f0 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = e0.reinterpretAsInts();
    y = f0.reinterpretAsInts();
    low1.selectFrom(x, y).reinterpretAsFloats().add(high1.selectFrom(x, y).reinterpretAsFloats())
        .intoArray(z, at);
    x = a10.reinterpretAsInts();
    y = a11.reinterpretAsInts();
    FloatVector e1 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = a12.reinterpretAsInts();
    y = a13.reinterpretAsInts();
    FloatVector f1 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = e1.reinterpretAsInts();
    y = f1.reinterpretAsInts();
    low1.selectFrom(x, y).reinterpretAsFloats().add(high1.selectFrom(x, y).reinterpretAsFloats())
        .intoArray(z, at + rowStride);
    x = a20.reinterpretAsInts();
    y = a21.reinterpretAsInts();
    FloatVector e2 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = a22.reinterpretAsInts();
    y = a23.reinterpretAsInts();
    FloatVector f2 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = e2.reinterpretAsInts();
    y = f2.reinterpretAsInts();
    low1.selectFrom(x, y).reinterpretAsFloats().add(high1.selectFrom(x, y).reinterpretAsFloats())
        .intoArray(z, at + 2 * rowStride);
    x = a30.reinterpretAsInts();
    y = a31.reinterpretAsInts();
    FloatVector e3 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = a32.reinterpretAsInts();
    y = a33.reinterpretAsInts();
    FloatVector f3 = low0.selectFrom(x, y).reinterpretAsFloats().add(high0.selectFrom(x, y).reinterpretAsFloats());
    x = e3.reinterpretAsInts();
    y = f3.reinterpretAsInts();
    low1.selectFrom(x, y).reinterpretAsFloats().add(high1.selectFrom(x, y).reinterpretAsFloats())
        .intoArray(z, at + 3 * rowStride);
  }

  private static void valuesF32(float[] p, int p0, int p1, int p2, int p3, int from, int to, MemorySegment m,
      long[] rowAt, int c, int c1, float[] o, int o0, int o1, int o2, int o3) {
    FloatVector x0 = FloatVector.fromArray(F, o, o0 + c), y0 = FloatVector.fromArray(F, o, o0 + c1);
    FloatVector x1 = FloatVector.fromArray(F, o, o1 + c), y1 = FloatVector.fromArray(F, o, o1 + c1);
    FloatVector x2 = FloatVector.fromArray(F, o, o2 + c), y2 = FloatVector.fromArray(F, o, o2 + c1);
    FloatVector x3 = FloatVector.fromArray(F, o, o3 + c), y3 = FloatVector.fromArray(F, o, o3 + c1);
    for (int j = from; j < to; j++) {
      FloatVector u = f32(m, rowAt[j] + c);
      FloatVector w = f32(m, rowAt[j] + c1);
      FloatVector b = FloatVector.broadcast(F, p[p0 + j]);
      x0 = u.fma(b, x0); y0 = w.fma(b, y0);
      b = FloatVector.broadcast(F, p[p1 + j]);
      x1 = u.fma(b, x1); y1 = w.fma(b, y1);
      b = FloatVector.broadcast(F, p[p2 + j]);
      x2 = u.fma(b, x2); y2 = w.fma(b, y2);
      b = FloatVector.broadcast(F, p[p3 + j]);
      x3 = u.fma(b, x3); y3 = w.fma(b, y3);
    }
    x0.intoArray(o, o0 + c); y0.intoArray(o, o0 + c1);
    x1.intoArray(o, o1 + c); y1.intoArray(o, o1 + c1);
    x2.intoArray(o, o2 + c); y2.intoArray(o, o2 + c1);
    x3.intoArray(o, o3 + c); y3.intoArray(o, o3 + c1);
  }

  private static void valuesBf16(float[] p, int p0, int p1, int p2, int p3, int from, int to, MemorySegment m,
      long[] rowAt, int c, int c1, float[] o, int o0, int o1, int o2, int o3) {
    FloatVector x0 = FloatVector.fromArray(F, o, o0 + c), y0 = FloatVector.fromArray(F, o, o0 + c1);
    FloatVector x1 = FloatVector.fromArray(F, o, o1 + c), y1 = FloatVector.fromArray(F, o, o1 + c1);
    FloatVector x2 = FloatVector.fromArray(F, o, o2 + c), y2 = FloatVector.fromArray(F, o, o2 + c1);
    FloatVector x3 = FloatVector.fromArray(F, o, o3 + c), y3 = FloatVector.fromArray(F, o, o3 + c1);
    for (int j = from; j < to; j++) {
      FloatVector u = bf16(m, rowAt[j] + c);
      FloatVector w = bf16(m, rowAt[j] + c1);
      FloatVector b = FloatVector.broadcast(F, p[p0 + j]);
      x0 = u.fma(b, x0); y0 = w.fma(b, y0);
      b = FloatVector.broadcast(F, p[p1 + j]);
      x1 = u.fma(b, x1); y1 = w.fma(b, y1);
      b = FloatVector.broadcast(F, p[p2 + j]);
      x2 = u.fma(b, x2); y2 = w.fma(b, y2);
      b = FloatVector.broadcast(F, p[p3 + j]);
      x3 = u.fma(b, x3); y3 = w.fma(b, y3);
    }
    x0.intoArray(o, o0 + c); y0.intoArray(o, o0 + c1);
    x1.intoArray(o, o1 + c); y1.intoArray(o, o1 + c1);
    x2.intoArray(o, o2 + c); y2.intoArray(o, o2 + c1);
    x3.intoArray(o, o3 + c); y3.intoArray(o, o3 + c1);
  }

  private static void valuesF16(float[] p, int p0, int p1, int p2, int p3, int from, int to, MemorySegment m,
      long[] rowAt, int c, int c1, float[] o, int o0, int o1, int o2, int o3) {
    FloatVector x0 = FloatVector.fromArray(F, o, o0 + c), y0 = FloatVector.fromArray(F, o, o0 + c1);
    FloatVector x1 = FloatVector.fromArray(F, o, o1 + c), y1 = FloatVector.fromArray(F, o, o1 + c1);
    FloatVector x2 = FloatVector.fromArray(F, o, o2 + c), y2 = FloatVector.fromArray(F, o, o2 + c1);
    FloatVector x3 = FloatVector.fromArray(F, o, o3 + c), y3 = FloatVector.fromArray(F, o, o3 + c1);
    for (int j = from; j < to; j++) {
      FloatVector u = f16(m, rowAt[j] + c);
      FloatVector w = f16(m, rowAt[j] + c1);
      FloatVector b = FloatVector.broadcast(F, p[p0 + j]);
      x0 = u.fma(b, x0); y0 = w.fma(b, y0);
      b = FloatVector.broadcast(F, p[p1 + j]);
      x1 = u.fma(b, x1); y1 = w.fma(b, y1);
      b = FloatVector.broadcast(F, p[p2 + j]);
      x2 = u.fma(b, x2); y2 = w.fma(b, y2);
      b = FloatVector.broadcast(F, p[p3 + j]);
      x3 = u.fma(b, x3); y3 = w.fma(b, y3);
    }
    x0.intoArray(o, o0 + c); y0.intoArray(o, o0 + c1);
    x1.intoArray(o, o1 + c); y1.intoArray(o, o1 + c1);
    x2.intoArray(o, o2 + c); y2.intoArray(o, o2 + c1);
    x3.intoArray(o, o3 + c); y3.intoArray(o, o3 + c1);
  }

  private static void valuesInt8(float[] p, int p0, int p1, int p2, int p3, int from, int to, MemorySegment m,
      long[] rowAt, float[] rowScale, int c, int c1, float[] o, int o0, int o1, int o2, int o3) {
    FloatVector x0 = FloatVector.fromArray(F, o, o0 + c), y0 = FloatVector.fromArray(F, o, o0 + c1);
    FloatVector x1 = FloatVector.fromArray(F, o, o1 + c), y1 = FloatVector.fromArray(F, o, o1 + c1);
    FloatVector x2 = FloatVector.fromArray(F, o, o2 + c), y2 = FloatVector.fromArray(F, o, o2 + c1);
    FloatVector x3 = FloatVector.fromArray(F, o, o3 + c), y3 = FloatVector.fromArray(F, o, o3 + c1);
    for (int j = from; j < to; j++) {
      float scale = rowScale[j];
      FloatVector u = int8(m, rowAt[j] + c, scale);
      FloatVector w = int8(m, rowAt[j] + c1, scale);
      FloatVector b = FloatVector.broadcast(F, p[p0 + j]);
      x0 = u.fma(b, x0); y0 = w.fma(b, y0);
      b = FloatVector.broadcast(F, p[p1 + j]);
      x1 = u.fma(b, x1); y1 = w.fma(b, y1);
      b = FloatVector.broadcast(F, p[p2 + j]);
      x2 = u.fma(b, x2); y2 = w.fma(b, y2);
      b = FloatVector.broadcast(F, p[p3 + j]);
      x3 = u.fma(b, x3); y3 = w.fma(b, y3);
    }
    x0.intoArray(o, o0 + c); y0.intoArray(o, o0 + c1);
    x1.intoArray(o, o1 + c); y1.intoArray(o, o1 + c1);
    x2.intoArray(o, o2 + c); y2.intoArray(o, o2 + c1);
    x3.intoArray(o, o3 + c); y3.intoArray(o, o3 + c1);
  }
}
