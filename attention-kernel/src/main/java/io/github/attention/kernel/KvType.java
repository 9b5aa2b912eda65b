package io.github.attention.kernel;

/**
 * How one cached key or value element is stored. The kernel widens every type to fp32 in registers and
 * accumulates in fp32; the value it computes with is exactly the one {@link #widen} describes.
 */
public enum KvType {
  /** IEEE 754 binary32, 4 bytes. */
  F32(4),
  /**
   * bfloat16, 2 bytes: the upper 16 bits of a binary32. Widened exactly: {@code intBitsToFloat(bits << 16)}.
   */
  BF16(2),
  /**
   * IEEE 754 binary16, 2 bytes. Widened exactly, subnormals, infinities and NaN included, as
   * {@link Float#float16ToFloat(short)}.
   */
  F16(2),
  /**
   * Signed 8-bit integers {@code -128..127}, 1 byte, with one fp32 scale per (token, head) row, symmetric:
   * the value is {@code scale · q}, computed as the fp32 product {@code (float) q * scale}.
   */
  INT8(1);

  private final int bytes;

  KvType(int bytes) {
    this.bytes = bytes;
  }

  /** {@return bytes per element: 4, 2, 2 or 1} */
  public int bytes() {
    return bytes;
  }

  /**
   * The fp32 value the kernel computes with for one stored element.
   *
   * @param bits the stored element: a binary32's bits for {@link #F32}, the 16 bits (in the low half) for
   *     {@link #BF16} and {@link #F16}, the signed byte for {@link #INT8}
   * @param scale the row's scale ({@link #INT8} only; ignored otherwise)
   * @return the widened value
   */
  public float widen(int bits, float scale) {
    return switch (this) {
      case F32 -> Float.intBitsToFloat(bits);
      case BF16 -> Float.intBitsToFloat(bits << 16);
      case F16 -> Float.float16ToFloat((short) bits);
      case INT8 -> (float) (byte) bits * scale;
    };
  }
}
