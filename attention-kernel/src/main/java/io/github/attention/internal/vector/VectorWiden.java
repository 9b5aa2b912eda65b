package io.github.attention.internal.vector;

import static io.github.attention.internal.vector.Species.B;
import static io.github.attention.internal.vector.Species.F;
import static io.github.attention.internal.vector.Species.I;
import static io.github.attention.internal.vector.Species.L;
import static io.github.attention.internal.vector.Species.S;
import static io.github.attention.kernel.Blocking.KEY_BLOCK;

import io.github.attention.kernel.KvType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Rows of 16- and 8-bit (and segment fp32) K/V elements widened to fp32 vectors, L elements per load, with
 * integer lane operations only: the JDK 25 Vector API has no half-float conversion. Each conversion is exact
 * (the value {@link KvType#widen} gives, bit for bit); {@code VectorWidenTest} checks all 65,536 patterns.
 *
 * <ul>
 *   <li>bf16: sign-extend the 16 bits to int lanes and shift left 16 (the bits shifted out are the sign
 *       extension's).
 *   <li>f16: with {@code em} the 15 bits below the sign, the fp32 whose bits are {@code em << 13} is the
 *       f16 magnitude times 2^-112 (an f16 subnormal becomes an fp32 subnormal), so one exact multiply by
 *       2^112 rebiases every finite value, subnormals and zero included; infinity ({@code em == 0x7C00})
 *       is {@code 0x7F800000}; a NaN keeps its significand under an all-ones exponent, made quiet if
 *       {@link Float#float16ToFloat} makes it quiet on this JVM. The sign rides along: the sign-extended
 *       bits shifted by 13 and masked put it in bit 31 beside {@code em << 13}, and the multiply keeps it.
 *       Infinities and NaN are patched only when a vector holds one (one test of a compare per vector), so
 *       the common case takes 6 lane operations where an always-patching version took 12 (AMD EPYC Zen 3,
 *       decode-32k-gqa-f16: see the README). (An integer-only version, with an int conversion for
 *       subnormals, took 17, and grew the decoding tiles past what C2 inlines.)
 *   <li>int8: {@code B2F} conversion, times the row's scale.
 * </ul>
 */
final class VectorWiden {

  private static final ByteOrder ORDER = ByteOrder.nativeOrder();
  /** The first L byte lanes, when the byte species has more (128-bit floats). */
  private static final boolean BYTE_LANES_MATCH = B.length() == L;
  private static final ValueLayout.OfInt INT_LE =
      ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  /** Lane i's left shift that puts byte i of a little-endian int at the top: 24 − 8i. */
  private static final IntVector BYTE_TO_TOP = IntVector.broadcast(I, 24).sub(
      IntVector.broadcast(I, 8).mul((IntVector) I.iotaShuffle(0, 1, false).toVector()));
  /**
   * The quiet bit of an f16 NaN widened as {@link Float#float16ToFloat} widens it on this JVM:
   * its Java code keeps a signaling NaN signaling, its x86 intrinsic ({@code vcvtph2ps}, also used by the
   * interpreter) makes it quiet. Matching it keeps the conversion exact everywhere.
   */
  private static final int QUIET_BIT = Float.floatToRawIntBits(Float.float16ToFloat((short) 0x7C01)) & 0x00400000;

  private VectorWiden() {}

  static void rows(MemorySegment src, KvType type, long index, long tokenStride, int n, int heads,
      int headDim, float[] scales, int stride, float[] dst, int dstOffset) {
    int full = headDim & -L;
    for (int j = 0; j < n; j++) {
      for (int h = 0; h < heads; h++) {
        long from = index + j * tokenStride + (long) h * headDim;
        int to = dstOffset + (h * KEY_BLOCK + j) * stride;
        switch (type) {
          case F32 -> f32Row(src, from, full, headDim, dst, to);
          case BF16 -> bf16Row(src, from, full, headDim, dst, to);
          case F16 -> f16Row(src, from, full, headDim, dst, to);
          case INT8 -> int8Row(src, from, full, headDim, scales[h * KEY_BLOCK + j], dst, to);
        }
        pad(headDim, stride, dst, to);
      }
    }
  }

  /** Zeros from the next multiple of L on (a row's tail already wrote zeros up to it). */
  private static void pad(int headDim, int stride, float[] dst, int to) {
    for (int d = (headDim + L - 1) & -L; d < stride; d += L) {
      FloatVector.zero(F).intoArray(dst, to + d);
    }
  }

  private static void f32Row(MemorySegment src, long from, int full, int headDim, float[] dst, int to) {
    long at = from * Float.BYTES;
    for (int d = 0; d < full; d += L) {
      FloatVector.fromMemorySegment(F, src, at + (long) d * Float.BYTES, ORDER).intoArray(dst, to + d);
    }
    if (full < headDim) {
      VectorMask<Float> tail = F.indexInRange(0, headDim - full);
      FloatVector.fromMemorySegment(F, src, at + (long) full * Float.BYTES, ORDER, tail)
          .intoArray(dst, to + full);
    }
  }

  private static void bf16Row(MemorySegment src, long from, int full, int headDim, float[] dst, int to) {
    long at = from * Short.BYTES;
    for (int d = 0; d < full; d += L) {
      bf16(ShortVector.fromMemorySegment(S, src, at + (long) d * Short.BYTES, ORDER)).intoArray(dst, to + d);
    }
    if (full < headDim) {
      VectorMask<Short> tail = S.indexInRange(0, headDim - full);
      bf16(ShortVector.fromMemorySegment(S, src, at + (long) full * Short.BYTES, ORDER, tail))
          .intoArray(dst, to + full);
    }
  }

  private static void f16Row(MemorySegment src, long from, int full, int headDim, float[] dst, int to) {
    long at = from * Short.BYTES;
    for (int d = 0; d < full; d += L) {
      f16(ShortVector.fromMemorySegment(S, src, at + (long) d * Short.BYTES, ORDER)).intoArray(dst, to + d);
    }
    if (full < headDim) {
      VectorMask<Short> tail = S.indexInRange(0, headDim - full);
      f16(ShortVector.fromMemorySegment(S, src, at + (long) full * Short.BYTES, ORDER, tail))
          .intoArray(dst, to + full);
    }
  }

  /**
   * The L int8 values from byte {@code at}, times {@code scale}: the byte vector's lanes converted where it
   * has L lanes. With 128-bit floats (L = 4, byte vectors of at least 8 lanes) the 4 bytes are read as one
   * little-endian int instead and each lane shifts its byte to the top and back, sign-extending it: the
   * same values. The JDK 25 Vector API does not compile loads of 8-byte vectors into machine code on AVX2,
   * masked or not: its fallback allocated 15.7 MB per call and ran int8 decoding at 571-916 ns per token
   * and KV head (decode 1 × 1024 tokens, 32/8 heads × 128, AMD EPYC Zen 3; bf16 146-223), this form at
   * 242-360 ns, allocating nothing.
   */
  static FloatVector int8(MemorySegment m, long at, float scale) {
    if (BYTE_LANES_MATCH) {
      return int8(ByteVector.fromMemorySegment(B, m, at, ORDER), scale);
    }
    int bytes = m.get(INT_LE, at);
    IntVector lanes = IntVector.broadcast(I, bytes).lanewise(VectorOperators.LSHL, BYTE_TO_TOP)
        .lanewise(VectorOperators.ASHR, 24);
    return ((FloatVector) lanes.convert(VectorOperators.I2F, 0)).mul(scale);
  }

  private static void int8Row(MemorySegment src, long from, int full, int headDim, float scale, float[] dst,
      int to) {
    for (int d = 0; d < full; d += L) {
      int8(src, from + d, scale).intoArray(dst, to + d);
    }
    if (full < headDim) {
      int rest = headDim - full;
      ByteVector q = ByteVector.fromMemorySegment(B, src, from + full, ORDER, B.indexInRange(0, rest));
      // Lanes past the row read as zero, but 0 · scale is NaN for an infinite or NaN scale: keep them zero.
      int8(q, scale).blend(0f, F.indexInRange(0, rest).not()).intoArray(dst, to + full);
    }
  }

  /** bf16 lanes to fp32: the bits, shifted into the upper half. */
  static FloatVector bf16(ShortVector bits) {
    IntVector wide = (IntVector) bits.convertShape(VectorOperators.S2I, I, 0);
    return wide.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
  }

  /** f16 lanes to fp32, exactly (see the class comment). */
  static FloatVector f16(ShortVector bits) {
    IntVector h = (IntVector) bits.convertShape(VectorOperators.S2I, I, 0);
    // The sign-extended bits shifted by 13: the sign lands in bit 31 (its copies above bit 31 shift out, those
    // in bits 28-30 are masked off) and em in bits 27..13.
    IntVector signEm = h.lanewise(VectorOperators.LSHL, 13).and(0x8FFFE000);
    FloatVector finite = signEm.reinterpretAsFloats().mul(0x1p112f);
    VectorMask<Integer> special = h.and(0x7C00).compare(VectorOperators.EQ, 0x7C00);
    if (!special.anyTrue()) {
      return finite;
    }
    // Infinity or NaN in some lane (rare: not on the hot path's critical chain). There the product is
    // ±2^16·(1 + m/1024), exponent field 143: adding 112 to it gives the all-ones exponent, m and sign kept.
    IntVector widened = finite.reinterpretAsInts().add(0x38000000);
    if (QUIET_BIT != 0) {
      widened = widened.blend(widened.or(QUIET_BIT), h.and(0x3FF).compare(VectorOperators.NE, 0));
    }
    return finite.reinterpretAsInts().blend(widened, special).reinterpretAsFloats();
  }

  /** int8 lanes (the first L) to fp32, times {@code scale}. */
  static FloatVector int8(ByteVector q, float scale) {
    return ((FloatVector) q.convertShape(VectorOperators.B2F, F, 0)).mul(scale);
  }
}
