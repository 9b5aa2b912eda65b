package io.github.attention.kernel;

import io.github.attention.internal.core.KvSource;
import io.github.attention.internal.core.KvSources;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A view of a key or value tensor {@code [tokens][kvHeads][headDim]} where an engine keeps it, for
 * {@link AttentionKernel#attend(AttentionSpec, int, int, float[], KvTensor, KvTensor, float[], float[])}: the
 * kernel reads it there, widening 16- and 8-bit elements to fp32 with SIMD conversions one key block at a
 * time into per-thread scratch (fp32 arrays whose key blocks are contiguous are read in place), so nothing
 * is copied per call beyond that block scratch.
 *
 * <h2>Storage and element type</h2>
 * A {@code float[]} ({@link KvType#F32}), a {@code short[]} ({@link KvType#BF16} or {@link KvType#F16}), a
 * {@code byte[]} ({@link KvType#INT8}, with one fp32 scale per (token, head) row), or a
 * {@link MemorySegment} of any of these types, on the heap or off it, of any size (offsets are {@code long},
 * so more than 2³¹ bytes is fine). Segment elements are in native byte order (little-endian on x86 and
 * ARM), unaligned access allowed. See {@link KvType} for how each type becomes fp32.
 *
 * <h2>Layout</h2>
 * Element {@code (t, h, d)} is at element index {@code offset + t·tokenStride + h·headStride + d}: {@code d}
 * is contiguous, the strides are in elements. The factories make the token-major layout
 * ({@code tokenStride = kvHeads·headDim}, {@code headStride = headDim}); {@link #headMajor()} makes
 * {@code [kvHeads][tokens][headDim]} (ONNX Runtime's past K/V, "BNSH"); {@link #withLayout} any other, e.g.
 * a cache allocated for a maximal length or with padded rows. An INT8 tensor's scale of row {@code (t, h)} is
 * at float index {@code scaleOffset + t·scaleTokenStride + h·scaleHeadStride} of its scales
 * ({@code [tokens][kvHeads]} by default, {@code [kvHeads][tokens]} after {@link #headMajor()}).
 *
 * <h2>Paged tensors</h2>
 * {@link #paged(KvTensor, int, int[])} describes a vLLM-style cache: a pool of fixed blocks of
 * {@code blockTokens} tokens and a block table; token {@code t} of the sequence is token
 * {@code t % blockTokens} of block {@code table[t / blockTokens]} of the pool. Tables may be in any order
 * and may share blocks (a common prefix). The table is read when a call runs, so an engine may grow it in
 * place; its entries for the tokens a call reads are checked then.
 *
 * <h2>Validation</h2>
 * Every factory and {@code with} method checks its result, with messages that name the argument: storage too
 * small for the layout (giving the highest element the layout reads), negative strides, strides that make
 * two distinct (token, head) rows overlap (the strides, in increasing order, must each be at least the
 * extent of the rows inside them), INT8 scales missing or too short. A call additionally checks what can
 * change between calls (see {@link AttentionKernel}). A view is immutable and cheap to keep: make one per
 * cache and layer, not one per call; the storage it views is the caller's and may change between calls.
 */
public final class KvTensor {

  static {
    // The kernel's internals read a tensor's source; this is their only way to it.
    KvSources.install(tensor -> tensor.source);
  }

  private final KvSource source;
  private final int poolTokens;

  private KvTensor(KvSource source) {
    this.source = source;
    this.poolTokens = source.tokens();
  }

  /**
   * A token-major fp32 tensor in a {@code float[]}.
   *
   * @param data the storage, at least {@code tokens·kvHeads·headDim} long
   * @param tokens tokens the view covers (its capacity: a call reads its first {@code kvLen})
   * @param kvHeads key/value heads
   * @param headDim head width
   * @return the view
   * @throws NullPointerException if {@code data} is null
   * @throws IllegalArgumentException if a size is not positive or {@code data} is too short
   */
  public static KvTensor of(float[] data, int tokens, int kvHeads, int headDim) {
    Objects.requireNonNull(data, "data must not be null");
    return tokenMajor(KvType.F32, data, MemorySegment.ofArray(data), null, tokens, kvHeads, headDim);
  }

  /**
   * A token-major bfloat16 tensor in a {@code short[]} (each element the upper half of a binary32).
   *
   * @param data the storage, at least {@code tokens·kvHeads·headDim} long
   * @param tokens tokens the view covers
   * @param kvHeads key/value heads
   * @param headDim head width
   * @return the view
   * @throws NullPointerException if {@code data} is null
   * @throws IllegalArgumentException if a size is not positive or {@code data} is too short
   */
  public static KvTensor bf16(short[] data, int tokens, int kvHeads, int headDim) {
    Objects.requireNonNull(data, "data must not be null");
    return tokenMajor(KvType.BF16, null, MemorySegment.ofArray(data), null, tokens, kvHeads, headDim);
  }

  /**
   * A token-major IEEE binary16 tensor in a {@code short[]} (as {@link Float#floatToFloat16(float)} makes).
   *
   * @param data the storage, at least {@code tokens·kvHeads·headDim} long
   * @param tokens tokens the view covers
   * @param kvHeads key/value heads
   * @param headDim head width
   * @return the view
   * @throws NullPointerException if {@code data} is null
   * @throws IllegalArgumentException if a size is not positive or {@code data} is too short
   */
  public static KvTensor f16(short[] data, int tokens, int kvHeads, int headDim) {
    Objects.requireNonNull(data, "data must not be null");
    return tokenMajor(KvType.F16, null, MemorySegment.ofArray(data), null, tokens, kvHeads, headDim);
  }

  /**
   * A token-major int8 tensor in a {@code byte[]}, with one fp32 scale per (token, head) row: element
   * {@code (t, h, d)} is {@code (float) data[..] * scales[t·kvHeads + h]}.
   *
   * @param data the quantized values, at least {@code tokens·kvHeads·headDim} long
   * @param scales the row scales, {@code [tokens][kvHeads]}, at least {@code tokens·kvHeads} long
   * @param tokens tokens the view covers
   * @param kvHeads key/value heads
   * @param headDim head width
   * @return the view
   * @throws NullPointerException if {@code data} or {@code scales} is null
   * @throws IllegalArgumentException if a size is not positive or an array is too short
   */
  public static KvTensor int8(byte[] data, float[] scales, int tokens, int kvHeads, int headDim) {
    Objects.requireNonNull(data, "data must not be null");
    Objects.requireNonNull(scales, "scales must not be null");
    return tokenMajor(KvType.INT8, null, MemorySegment.ofArray(data), MemorySegment.ofArray(scales), tokens,
        kvHeads, headDim);
  }

  /**
   * A token-major tensor of {@code type} in a segment (heap or native), for every type but INT8.
   *
   * @param data the storage, at least {@code tokens·kvHeads·headDim·type.bytes()} bytes
   * @param type F32, BF16 or F16
   * @param tokens tokens the view covers
   * @param kvHeads key/value heads
   * @param headDim head width
   * @return the view
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code type} is INT8 (use {@link #int8(MemorySegment, MemorySegment,
   *     int, int, int)}), a size is not positive or {@code data} is too small
   */
  public static KvTensor of(MemorySegment data, KvType type, int tokens, int kvHeads, int headDim) {
    Objects.requireNonNull(data, "data must not be null");
    Objects.requireNonNull(type, "type must not be null");
    if (type == KvType.INT8) {
      throw new IllegalArgumentException("INT8 needs row scales: use KvTensor.int8(data, scales, ...)");
    }
    // A whole float[] is read as the array (the decoding path reads arrays in place); a slice as a segment.
    float[] floats = null;
    if (type == KvType.F32 && data.heapBase().orElse(null) instanceof float[] array && data.address() == 0
        && data.byteSize() == (long) array.length * Float.BYTES) {
      floats = array;
    }
    return tokenMajor(type, floats, data, null, tokens, kvHeads, headDim);
  }

  /**
   * A token-major int8 tensor in segments: values {@code [tokens][kvHeads][headDim]} bytes, scales
   * {@code [tokens][kvHeads]} native-order floats.
   *
   * @param data the quantized values, at least {@code tokens·kvHeads·headDim} bytes
   * @param scales the row scales, at least {@code 4·tokens·kvHeads} bytes
   * @param tokens tokens the view covers
   * @param kvHeads key/value heads
   * @param headDim head width
   * @return the view
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if a size is not positive or a segment is too small
   */
  public static KvTensor int8(MemorySegment data, MemorySegment scales, int tokens, int kvHeads, int headDim) {
    Objects.requireNonNull(data, "data must not be null");
    Objects.requireNonNull(scales, "scales must not be null");
    return tokenMajor(KvType.INT8, null, data, scales, tokens, kvHeads, headDim);
  }

  private static KvTensor tokenMajor(KvType type, float[] floats, MemorySegment data, MemorySegment scales,
      int tokens, int kvHeads, int headDim) {
    long tokenStride = (long) kvHeads * headDim;
    return new KvTensor(KvSource.checked("data", type, floats, data, 0, tokenStride, headDim, tokens, kvHeads,
        headDim, scales, 0, kvHeads, 1));
  }

  /**
   * The same storage as {@code [kvHeads][tokens][headDim]}: {@code tokenStride = headDim},
   * {@code headStride = tokens·headDim}, offset 0; INT8 scales as {@code [kvHeads][tokens]}.
   *
   * @return the head-major view
   * @throws IllegalStateException if this view is paged
   */
  public KvTensor headMajor() {
    requireNotPaged("headMajor");
    long headStride = (long) poolTokens * source.headDim();
    return relayout(0, source.headDim(), headStride, 0, 1, poolTokens);
  }

  /**
   * The same storage with another layout: element {@code (t, h, d)} at
   * {@code offset + t·tokenStride + h·headStride + d}. INT8 scales keep their layout (see
   * {@link #withScaleLayout}).
   *
   * @param offset element index of token 0, head 0, at least 0
   * @param tokenStride elements from one token to the next, at least 0
   * @param headStride elements from one head to the next, at least 0
   * @return the view
   * @throws IllegalArgumentException if a stride or the offset is negative, rows overlap, or the storage is
   *     too small for the layout
   * @throws IllegalStateException if this view is paged (lay out the pool instead)
   */
  public KvTensor withLayout(long offset, long tokenStride, long headStride) {
    requireNotPaged("withLayout");
    return relayout(offset, tokenStride, headStride, source.scaleOffset(), source.scaleTokenStride(),
        source.scaleHeadStride());
  }

  /**
   * An INT8 view whose scale of row {@code (t, h)} is at float index
   * {@code offset + t·tokenStride + h·headStride} of the scales.
   *
   * @param offset float index of the scale of token 0, head 0
   * @param tokenStride floats from one token's scales to the next
   * @param headStride floats from one head's scales to the next
   * @return the view
   * @throws IllegalArgumentException if this view is not INT8, a value is negative or the scales are too
   *     short
   * @throws IllegalStateException if this view is paged
   */
  public KvTensor withScaleLayout(long offset, long tokenStride, long headStride) {
    requireNotPaged("withScaleLayout");
    if (source.type() != KvType.INT8) {
      throw new IllegalArgumentException("scales are for INT8 tensors, this one is " + source.type());
    }
    return relayout(source.offset(), source.tokenStride(), source.headStride(), offset, tokenStride,
        headStride);
  }

  /**
   * A paged view: a pool of blocks of {@code blockTokens} tokens, and a table of which pool block holds
   * each {@code blockTokens} tokens of the sequence. The view covers {@code blockTable.length·blockTokens}
   * tokens; a call reads the blocks its {@code kvLen} needs, and checks those entries then (each must be in
   * {@code 0 ..} {@code pool.tokens() / blockTokens - 1}).
   *
   * @param pool the pool, {@code [blocks·blockTokens][kvHeads][headDim]} in any layout (block {@code b} is
   *     its tokens {@code b·blockTokens ..})
   * @param blockTokens tokens per block
   * @param blockTable pool block of each block of the sequence; read at each call, not copied
   * @return the view
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code blockTokens} is not positive or does not divide the pool's
   *     tokens, or the pool is paged
   */
  public static KvTensor paged(KvTensor pool, int blockTokens, int[] blockTable) {
    Objects.requireNonNull(pool, "pool must not be null");
    return new KvTensor(KvSource.paged("pool", pool.source, blockTokens, blockTable), pool.poolTokens);
  }

  private KvTensor(KvSource source, int poolTokens) {
    this.source = source;
    this.poolTokens = poolTokens;
  }

  private KvTensor relayout(long offset, long tokenStride, long headStride, long scaleOffset,
      long scaleTokenStride, long scaleHeadStride) {
    KvSource s = source;
    boolean int8 = s.type() == KvType.INT8;
    return new KvTensor(KvSource.checked("data", s.type(), s.floats(), s.data(), offset, tokenStride,
        headStride, s.tokens(), s.kvHeads(), s.headDim(), int8 ? s.scales() : null, scaleOffset,
        scaleTokenStride, scaleHeadStride));
  }

  private void requireNotPaged(String method) {
    if (source.blockTokens() != 0) {
      throw new IllegalStateException(method + " of a paged view: lay out its pool instead");
    }
  }

  /** {@return the element type} */
  public KvType type() {
    return source.type();
  }

  /** {@return tokens the view covers: a call's {@code kvLen} may not exceed it} */
  public int tokens() {
    return source.tokens();
  }

  /** {@return key/value heads} */
  public int kvHeads() {
    return source.kvHeads();
  }

  /** {@return the head width} */
  public int headDim() {
    return source.headDim();
  }

  /** {@return element index of token 0, head 0 (of the pool, for a paged view)} */
  public long offset() {
    return source.offset();
  }

  /** {@return elements from one token to the next (within a block, for a paged view)} */
  public long tokenStride() {
    return source.tokenStride();
  }

  /** {@return elements from one head to the next} */
  public long headStride() {
    return source.headStride();
  }

  /** {@return tokens per block of a paged view, 0 if the view is not paged} */
  public int blockTokens() {
    return source.blockTokens();
  }

  /** {@return the storage, as a segment (a heap segment for arrays)} */
  public MemorySegment data() {
    return source.data();
  }

  /**
   * The fp32 value of element {@code (t, h, d)}, as the kernel computes with it (see {@link KvType#widen}).
   * Not for hot loops: for inspection and tests.
   *
   * @param t token
   * @param h head
   * @param d index within the head
   * @return the value
   * @throws IndexOutOfBoundsException if an index is out of range, or a paged view's table entry for
   *     {@code t} is outside its pool
   */
  public float get(int t, int h, int d) {
    return source.get(t, h, d);
  }

  @Override
  public String toString() {
    return "KvTensor[" + type() + " " + tokens() + "×" + kvHeads() + "×" + headDim() + ", offset " + offset()
        + ", tokenStride " + tokenStride() + ", headStride " + headStride()
        + (blockTokens() == 0 ? "" : ", paged in blocks of " + blockTokens()) + "]";
  }
}
