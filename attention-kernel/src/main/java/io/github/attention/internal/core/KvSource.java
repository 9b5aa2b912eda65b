package io.github.attention.internal.core;

import io.github.attention.kernel.Blocking;
import io.github.attention.kernel.KvType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * Where the kernel reads one K or V tensor {@code [tokens][kvHeads][headDim]}: the storage, its element
 * type, the element offset of each (token, head) row, and for paged tensors the block table that maps a
 * token to a block of the pool. Element {@code (t, h, d)} is at element index
 * {@code offset + p(t)·tokenStride + h·headStride + d} of the storage, where {@code p(t) = t} for a plain
 * tensor and {@code p(t) = table[t / blockTokens]·blockTokens + t % blockTokens} for a paged one. An
 * {@code INT8} row's scale is at float index {@code scaleOffset + p(t)·scaleTokenStride + h·scaleHeadStride}
 * of the scales.
 *
 * <p>Instances made by {@link #checked} (behind a public {@code KvTensor}) are validated and never change.
 * A {@link Call} also keeps two of its own, which {@link #tokenMajor} points at the caller's {@code float[]}
 * for each call, so that the array overloads allocate nothing.
 */
public final class KvSource {

  private static final ValueLayout.OfFloat SCALE = ValueLayout.JAVA_FLOAT_UNALIGNED;

  KvType type;
  /** The storage when it is a {@code float[]} of {@link KvType#F32}: read in place by the decoding path. */
  float[] floats;
  /** The storage as a segment (heap or native); null for a call's own token-major sources. */
  MemorySegment data;
  /** The heap array behind the storage, if any (for the check that {@code out} is not an input). */
  Object heapArray;
  /**
   * The bytes the layout can read, {@code [firstByte, endByte)}: absolute addresses for native storage,
   * offsets into {@link #heapArray} for heap storage (a paged view's: its whole pool).
   */
  long firstByte;
  long endByte;
  long offset;
  long tokenStride;
  long headStride;
  int tokens;
  int kvHeads;
  int headDim;
  MemorySegment scales;
  /** The heap array behind the scales, if any. */
  Object scalesArray;
  /** Whether the storage or the scales are a heap segment that hides its array (a read-only view). */
  boolean hidden;
  long scaleOffset;
  long scaleTokenStride;
  long scaleHeadStride;
  /** Tokens per block of a paged tensor; 0 if it is not paged. */
  int blockTokens;
  int[] table;
  /** Blocks in the pool of a paged tensor. */
  int poolBlocks;

  KvSource() {}

  /**
   * A validated source over {@code data}.
   *
   * @param name the tensor's name in messages
   * @param floats the storage if it is a {@code float[]} of F32 (then {@code data} is its heap segment)
   * @param scales INT8 scales, or null for other types
   * @throws IllegalArgumentException if the storage is too small, a stride is negative, or two distinct
   *     (token, head) rows overlap; the message names the argument
   */
  public static KvSource checked(String name, KvType type, float[] floats, MemorySegment data, long offset,
      long tokenStride, long headStride, int tokens, int kvHeads, int headDim, MemorySegment scales,
      long scaleOffset, long scaleTokenStride, long scaleHeadStride) {
    Objects.requireNonNull(type, "type must not be null");
    Objects.requireNonNull(data, "data must not be null");
    positive("tokens", tokens);
    positive("kvHeads", kvHeads);
    positive("headDim", headDim);
    if (offset < 0 || tokenStride < 0 || headStride < 0) {
      throw new IllegalArgumentException(name + ": offset and strides must not be negative, got offset="
          + offset + ", tokenStride=" + tokenStride + ", headStride=" + headStride);
    }
    if (!rowsAreDistinct(tokenStride, tokens, headStride, kvHeads, headDim)) {
      throw new IllegalArgumentException(name + ": tokenStride=" + tokenStride + " and headStride="
          + headStride + " make rows of distinct (token, head) overlap: with the strides in increasing "
          + "order, each must be at least the extent of the rows within it (headDim=" + headDim + ", tokens="
          + tokens + ", kvHeads=" + kvHeads + ")");
    }
    long capacity = data.byteSize() / type.bytes();
    long highest = highest(name, offset, tokens, tokenStride, kvHeads, headStride, headDim);
    if (highest >= capacity) {
      throw new IllegalArgumentException(name + " storage is too small: the layout reads element " + highest
          + " (offset " + offset + ", tokenStride " + tokenStride + ", headStride " + headStride + ", tokens "
          + tokens + ", kvHeads " + kvHeads + ", headDim " + headDim + "), the storage holds " + capacity + " "
          + type + " elements");
    }
    if (type == KvType.INT8) {
      Objects.requireNonNull(scales, name + ": INT8 needs scales");
      if (scaleOffset < 0 || scaleTokenStride < 0 || scaleHeadStride < 0) {
        throw new IllegalArgumentException(name + ": scale offset and strides must not be negative");
      }
      long scaleHighest = highest(name + " scales", scaleOffset, tokens, scaleTokenStride, kvHeads,
          scaleHeadStride, 1);
      long scaleCapacity = scales.byteSize() / Float.BYTES;
      if (scaleHighest >= scaleCapacity) {
        throw new IllegalArgumentException(name + " scales are too short: the layout reads scale "
            + scaleHighest + ", the scales hold " + scaleCapacity);
      }
    } else if (scales != null) {
      throw new IllegalArgumentException(name + ": scales are for INT8 only, the type is " + type);
    }
    KvSource s = new KvSource();
    s.type = type;
    s.floats = floats;
    s.data = data;
    s.heapArray = floats != null ? floats : data.heapBase().orElse(null);
    s.firstByte = data.address() + offset * type.bytes();
    s.endByte = data.address() + (highest + 1) * type.bytes();
    s.offset = offset;
    s.tokenStride = tokenStride;
    s.headStride = headStride;
    s.tokens = tokens;
    s.kvHeads = kvHeads;
    s.headDim = headDim;
    s.scales = scales;
    s.scalesArray = scales == null ? null : scales.heapBase().orElse(null);
    s.hidden = !data.isNative() && s.heapArray == null
        || scales != null && !scales.isNative() && s.scalesArray == null;
    s.scaleOffset = scaleOffset;
    s.scaleTokenStride = scaleTokenStride;
    s.scaleHeadStride = scaleHeadStride;
    return s;
  }

  /**
   * A paged source: logical token {@code t} is token {@code t % blockTokens} of block
   * {@code table[t / blockTokens]} of {@code pool}. The table is read at each call (an engine grows it in
   * place); its entries are checked then, for the tokens the call reads.
   *
   * @throws IllegalArgumentException if {@code blockTokens} does not divide the pool's tokens, or the pool is
   *     itself paged
   */
  public static KvSource paged(String name, KvSource pool, int blockTokens, int[] table) {
    Objects.requireNonNull(table, name + ": block table must not be null");
    positive("blockTokens", blockTokens);
    if (pool.blockTokens != 0) {
      throw new IllegalArgumentException(name + ": the pool must not itself be paged");
    }
    if (pool.tokens % blockTokens != 0) {
      throw new IllegalArgumentException(name + ": the pool's " + pool.tokens
          + " tokens are not a whole number of blocks of " + blockTokens);
    }
    if ((long) table.length * blockTokens > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(name + ": " + table.length + " blocks of " + blockTokens
          + " tokens exceed " + Integer.MAX_VALUE + " tokens");
    }
    KvSource s = pool.copy();
    s.blockTokens = blockTokens;
    s.table = table;
    s.poolBlocks = pool.tokens / blockTokens;
    s.tokens = table.length * blockTokens;
    return s;
  }

  private KvSource copy() {
    return checked("pool", type, floats, data, offset, tokenStride, headStride, tokens, kvHeads, headDim,
        scales, scaleOffset, scaleTokenStride, scaleHeadStride);
  }

  /** Points this (call-owned) source at a caller's token-major {@code float[] [kvLen][kvHeads][headDim]}. */
  void tokenMajor(float[] array, int kvLen, int kvHeads, int headDim) {
    type = KvType.F32;
    floats = array;
    data = null;
    heapArray = array;
    scalesArray = null;
    hidden = false;
    offset = 0;
    tokenStride = (long) kvHeads * headDim;
    headStride = headDim;
    tokens = kvLen;
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    scales = null;
    blockTokens = 0;
    table = null;
  }

  /** Drops the caller's storage (a call-owned source, at the end of the call). */
  void release() {
    floats = null;
    data = null;
    heapArray = null;
    scalesArray = null;
    scales = null;
    table = null;
  }

  /** @return the element type */
  public KvType type() {
    return type;
  }

  /** @return logical tokens (the capacity a call's {@code kvLen} may not exceed) */
  public int tokens() {
    return tokens;
  }

  /** @return KV heads */
  public int kvHeads() {
    return kvHeads;
  }

  /** @return the head width */
  public int headDim() {
    return headDim;
  }

  /** @return element offset of token 0, head 0 */
  public long offset() {
    return offset;
  }

  /** @return elements from one token to the next (within a block, for a paged tensor) */
  public long tokenStride() {
    return tokenStride;
  }

  /** @return elements from one head to the next */
  public long headStride() {
    return headStride;
  }

  /** @return tokens per block, or 0 if not paged */
  public int blockTokens() {
    return blockTokens;
  }

  /** @return the storage as a segment */
  public MemorySegment data() {
    return data;
  }

  /** @return the storage if it is a whole {@code float[]} of F32, else null */
  public float[] floats() {
    return floats;
  }

  /** @return INT8 scales, null for other types */
  public MemorySegment scales() {
    return scales;
  }

  /** @return float index of the scale of token 0, head 0 */
  public long scaleOffset() {
    return scaleOffset;
  }

  /** @return floats from one token's scales to the next */
  public long scaleTokenStride() {
    return scaleTokenStride;
  }

  /** @return floats from one head's scales to the next */
  public long scaleHeadStride() {
    return scaleHeadStride;
  }

  /**
   * Whether the heap array {@code array} holds any of this source's storage or scales (for the check that
   * {@code out} is not an input). A heap segment that hides its array (a read-only view) is compared by
   * overlap, which allocates; only such sources pay for it.
   */
  public boolean storedIn(float[] array) {
    if (array == null) {
      return false;
    }
    if (floats == array || heapArray == array || scalesArray == array) {
      return true;
    }
    return hidden && (!data.isNative() && heapArray == null && overlapsArray(data, array)
        || scales != null && !scales.isNative() && scalesArray == null && overlapsArray(scales, array));
  }

  private static boolean overlapsArray(MemorySegment segment, float[] array) {
    return segment.asOverlappingSlice(MemorySegment.ofArray(array)).isPresent();
  }

  /**
   * Whether the bytes this source can read overlap those {@code other} can (both on the heap in one array,
   * or both native): a conservative test of two views, by their byte ranges.
   */
  public boolean overlaps(KvSource other) {
    boolean sameMemory = heapArray != null ? heapArray == other.heapArray
        : other.heapArray == null && data != null && other.data != null;
    return sameMemory && firstByte < other.endByte && other.firstByte < endByte;
  }

  /** @return the pool's token holding logical token {@code t} */
  long physical(int t) {
    if (blockTokens == 0) {
      return t;
    }
    return (long) table[t / blockTokens] * blockTokens + t % blockTokens;
  }

  /** @return the element index of row (t, h): where its {@code headDim} elements start */
  long row(int t, int h) {
    return offset + physical(t) * tokenStride + h * headStride;
  }

  /** @return how many tokens from {@code t} on lie in one block (contiguous strides): the rest of its page */
  int run(int t) {
    return blockTokens == 0 ? Integer.MAX_VALUE : blockTokens - t % blockTokens;
  }

  /** @return INT8 row (t, h)'s scale */
  float scale(int t, int h) {
    long at = scaleOffset + physical(t) * scaleTokenStride + h * scaleHeadStride;
    return scales.getAtIndex(SCALE, at);
  }

  /**
   * The fp32 value of element (t, h, d), as the kernel computes with it.
   *
   * @throws IndexOutOfBoundsException if an index is out of range or a block table entry is outside the pool
   */
  public float get(int t, int h, int d) {
    Objects.checkIndex(t, tokens);
    Objects.checkIndex(h, kvHeads);
    Objects.checkIndex(d, headDim);
    if (blockTokens != 0) {
      Objects.checkIndex(table[t / blockTokens], poolBlocks);
    }
    long at = row(t, h) + d;
    if (floats != null) {
      return floats[Math.toIntExact(at)];
    }
    return switch (type) {
      case F32 -> data.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, at);
      case BF16, F16 -> type.widen(data.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, at), 0f);
      case INT8 -> type.widen(data.get(ValueLayout.JAVA_BYTE, at), scale(t, h));
    };
  }

  /** Whether the decoding path can read this source in place: a {@code float[]} whose key blocks are contiguous. */
  boolean readsInPlace() {
    return floats != null && (blockTokens == 0 || blockTokens % Blocking.KEY_BLOCK == 0);
  }

  /** Whether the heads of one token are adjacent, {@code headDim} apart: then a block of several is one pack. */
  boolean headsAdjacent() {
    return headStride == headDim;
  }

  private static long highest(String name, long offset, int tokens, long tokenStride, int kvHeads,
      long headStride, int headDim) {
    try {
      return Math.addExact(Math.addExact(offset, Math.multiplyExact(tokens - 1L, tokenStride)),
          Math.addExact(Math.multiplyExact(kvHeads - 1L, headStride), headDim - 1L));
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException(name + ": the layout's highest element overflows a long");
    }
  }

  /**
   * Whether rows {@code [row(t, h), row(t, h) + headDim)} are disjoint for distinct (t, h), by the nesting
   * rule: dimensions of more than one entry, in increasing stride order, each stride at least the extent
   * of everything inside it. (Interleavings that would also be disjoint are refused: no engine lays its
   * cache out that way.)
   */
  static boolean rowsAreDistinct(long tokenStride, int tokens, long headStride, int kvHeads, int headDim) {
    boolean tokensVary = tokens > 1;
    boolean headsVary = kvHeads > 1;
    if (!tokensVary && !headsVary) {
      return true;
    }
    if (!tokensVary || !headsVary) {
      return (tokensVary ? tokenStride : headStride) >= headDim;
    }
    long small = Math.min(tokenStride, headStride);
    long large = Math.max(tokenStride, headStride);
    int smallCount = tokenStride <= headStride ? tokens : kvHeads;
    if (tokenStride == headStride) {
      return false;
    }
    if (small < headDim) {
      return false;
    }
    // The inner dimension spans (count - 1)·small + headDim elements.
    long extent;
    try {
      extent = Math.addExact(Math.multiplyExact(smallCount - 1L, small), headDim);
    } catch (ArithmeticException e) {
      return false;
    }
    return large >= extent;
  }

  private static void positive(String name, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + " must be positive, got " + value);
    }
  }
}
