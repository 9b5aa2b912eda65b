package io.github.attention.kernel;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Queries or outputs {@code [tokens][heads][headDim]} of fp32 in a {@link MemorySegment} (heap or native,
 * native byte order), for
 * {@link AttentionKernel#attend(AttentionSpec, int, int, HeadRows, KvTensor, KvTensor, float[], HeadRows,
 * Parallelism)}: activations that live off the heap. Element {@code (t, h, d)} is at float index
 * {@code offset + t·tokenStride + h·headStride + d}; {@link #of} makes the token-major layout,
 * {@link #withLayout} any other. Checked when made as {@link KvTensor} views are (storage too small, negative
 * or overlapping strides). Immutable; make one per buffer, not per call.
 */
public final class HeadRows {

  private final KvTensor rows;

  private HeadRows(KvTensor rows) {
    this.rows = rows;
  }

  /**
   * Token-major rows in a segment.
   *
   * @param data the storage, at least {@code 4·tokens·heads·headDim} bytes
   * @param tokens tokens the view covers (a call uses its first {@code qLen})
   * @param heads heads per token: the spec's query heads
   * @param headDim head width
   * @return the view
   * @throws NullPointerException if {@code data} is null
   * @throws IllegalArgumentException if a size is not positive or {@code data} is too small
   */
  public static HeadRows of(MemorySegment data, int tokens, int heads, int headDim) {
    Objects.requireNonNull(data, "data must not be null");
    return new HeadRows(KvTensor.of(data, KvType.F32, tokens, heads, headDim));
  }

  /**
   * The same storage with another layout (see {@link KvTensor#withLayout}).
   *
   * @param offset float index of token 0, head 0
   * @param tokenStride floats from one token to the next
   * @param headStride floats from one head to the next
   * @return the view
   * @throws IllegalArgumentException if a value is negative, rows overlap, or the storage is too small
   */
  public HeadRows withLayout(long offset, long tokenStride, long headStride) {
    return new HeadRows(rows.withLayout(offset, tokenStride, headStride));
  }

  /** {@return the same rows as an F32 tensor view ({@code kvHeads()} is this view's {@link #heads()})} */
  public KvTensor asTensor() {
    return rows;
  }

  /** {@return tokens the view covers} */
  public int tokens() {
    return rows.tokens();
  }

  /** {@return heads per token} */
  public int heads() {
    return rows.kvHeads();
  }

  /** {@return the head width} */
  public int headDim() {
    return rows.headDim();
  }

  /** {@return the storage} */
  public MemorySegment data() {
    return rows.data();
  }

  @Override
  public String toString() {
    return "HeadRows[" + tokens() + "×" + heads() + "×" + headDim() + ", offset " + rows.offset()
        + ", tokenStride " + rows.tokenStride() + ", headStride " + rows.headStride() + "]";
  }
}
