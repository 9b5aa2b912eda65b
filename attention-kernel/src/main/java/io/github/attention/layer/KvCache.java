package io.github.attention.layer;

import io.github.attention.kernel.KvTensor;
import io.github.attention.kernel.KvType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * The keys and values of the tokens a {@link MultiHeadAttention} layer has seen so far in one sequence, so
 * that each new token costs one projection and one pass over the cache instead of recomputing the prefix.
 * Made by {@link MultiHeadAttention#newCache(int)} (fp32 {@code float[]}s) or
 * {@link MultiHeadAttention#newCache(int, KvType, Arena)} (any {@link KvType}, on the heap or in an arena's
 * memory) for a fixed capacity; filled by {@link MultiHeadAttention#forward(float[], int, KvCache, float[])}.
 *
 * <h2>Storage</h2>
 * Holds {@code [capacity][kvHeads][headDim]} keys and as many values, allocated up front, token-major.
 * Keys and values are stored as they are appended (by {@code forward} or {@link #load}): fp32 as they are;
 * bf16 and f16 rounded to nearest, ties to even ({@link Float#floatToFloat16} for f16); int8 with one scale
 * per (token, head) row, {@code scale = max|x| / 127} and {@code q = round(x / scale)} (a row of zeros has
 * scale 0; a row with a non-finite value gives NaN). Attention then reads what is stored, widened exactly
 * ({@link KvType}). Bytes per cached token, keys and values together: {@code 2·kvHeads·headDim} times 4
 * (F32), 2 (BF16, F16) or 1 (INT8, plus {@code 2·kvHeads·4} bytes of scales): see {@link #bytesPerToken()}.
 *
 * <p>Not thread-safe: one sequence, one thread at a time.
 */
public final class KvCache {

  private final MultiHeadAttention layer;
  private final int capacity;
  private final KvType type;
  private final int width;
  /** fp32 on-heap storage (the layer's array path); null for other caches. */
  private final float[] keys;
  private final float[] values;
  /** Other storage, as segments (heap or the arena's), and the views attention reads. */
  private final MemorySegment keyData;
  private final MemorySegment valueData;
  private final MemorySegment keyScales;
  private final MemorySegment valueScales;
  private final KvTensor keyView;
  private final KvTensor valueView;
  private int length;

  /** An fp32 cache in two {@code float[]}s of {@code size} elements. */
  KvCache(MultiHeadAttention layer, int capacity, int size) {
    this.layer = layer;
    this.capacity = capacity;
    this.type = KvType.F32;
    this.width = layer.kvHeads() * layer.headDim();
    this.keys = new float[size];
    this.values = new float[size];
    this.keyData = null;
    this.valueData = null;
    this.keyScales = null;
    this.valueScales = null;
    this.keyView = KvTensor.of(keys, capacity, layer.kvHeads(), layer.headDim());
    this.valueView = KvTensor.of(values, capacity, layer.kvHeads(), layer.headDim());
  }

  /** A cache of {@code type} in segments from {@code arena}, or on the heap if it is null. */
  KvCache(MultiHeadAttention layer, int capacity, KvType type, Arena arena) {
    this.layer = layer;
    this.capacity = capacity;
    this.type = type;
    this.width = layer.kvHeads() * layer.headDim();
    this.keys = null;
    this.values = null;
    long elements = (long) capacity * width;
    long rows = (long) capacity * layer.kvHeads();
    this.keyData = allocate(arena, type, elements);
    this.valueData = allocate(arena, type, elements);
    this.keyScales = type == KvType.INT8 ? allocate(arena, KvType.F32, rows) : null;
    this.valueScales = type == KvType.INT8 ? allocate(arena, KvType.F32, rows) : null;
    this.keyView = view(keyData, keyScales);
    this.valueView = view(valueData, valueScales);
  }

  private static MemorySegment allocate(Arena arena, KvType type, long elements) {
    if (arena != null) {
      return arena.allocate(elements * type.bytes(), 64);
    }
    if (elements > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("a cache of " + elements + " " + type
          + " elements is more than a Java array can hold; give an Arena for off-heap memory");
    }
    return switch (type) {
      case F32 -> MemorySegment.ofArray(new float[(int) elements]);
      case BF16, F16 -> MemorySegment.ofArray(new short[(int) elements]);
      case INT8 -> MemorySegment.ofArray(new byte[(int) elements]);
    };
  }

  private KvTensor view(MemorySegment data, MemorySegment scales) {
    int heads = layer.kvHeads();
    int dim = layer.headDim();
    return type == KvType.INT8
        ? KvTensor.int8(data, scales, capacity, heads, dim)
        : KvTensor.of(data, type, capacity, heads, dim);
  }

  /** {@return the most tokens this cache can hold} */
  public int capacity() {
    return capacity;
  }

  /** {@return how keys and values are stored} */
  public KvType type() {
    return type;
  }

  /**
   * {@return bytes of storage per cached token, keys and values together: {@code 2·kvHeads·headDim·bytes},
   *     plus {@code 2·kvHeads·4} for INT8 scales}
   */
  public long bytesPerToken() {
    long scales = type == KvType.INT8 ? 2L * layer.kvHeads() * Float.BYTES : 0;
    return 2L * width * type.bytes() + scales;
  }

  /**
   * The cached keys as a view of the whole capacity (its first {@link #length()} tokens are the sequence's),
   * for inspection or for calling a kernel directly. It stays valid as the cache fills.
   *
   * @return the keys
   */
  public KvTensor keys() {
    return keyView;
  }

  /** {@return the cached values, as {@link #keys()}} */
  public KvTensor values() {
    return valueView;
  }

  /** {@return the number of tokens cached so far, the position of the next token} */
  public int length() {
    return length;
  }

  /** {@return how many more tokens fit} */
  public int remaining() {
    return capacity - length;
  }

  /** Empties the cache, to start a new sequence. Keeps the memory. */
  public void reset() {
    length = 0;
  }

  /**
   * Forgets the tokens from position {@code length} on, keeping the first {@code length}: rolls the sequence
   * back (rejected speculative tokens, another branch of a search, a benchmark repeating one step).
   *
   * @param length the number of tokens to keep, {@code 0 <= length <= length()}
   * @throws IllegalArgumentException if {@code length} is negative or more than {@link #length()}
   */
  public void truncate(int length) {
    if (length < 0 || length > this.length) {
      throw new IllegalArgumentException("length must be between 0 and the cached " + this.length
          + " tokens, got " + length);
    }
    this.length = length;
  }

  /**
   * Appends keys and values computed elsewhere (for example a prompt's keys and values saved from an earlier
   * run of the same weights), as if {@code tokens} tokens had gone through the layer; they are stored as
   * the cache's type says (see "Storage").
   *
   * @param keys {@code [tokens][kvHeads][headDim]}, at least {@code tokens·kvHeads·headDim} long
   * @param values {@code [tokens][kvHeads][headDim]}, at least {@code tokens·kvHeads·headDim} long
   * @param tokens the number of tokens, at least 1
   * @throws NullPointerException if {@code keys} or {@code values} is null
   * @throws IllegalArgumentException if {@code tokens < 1} or an array is too short
   * @throws IllegalStateException if the tokens do not fit ({@link #remaining()} is less); nothing changes
   */
  public void load(float[] keys, float[] values, int tokens) {
    Objects.requireNonNull(keys, "keys must not be null");
    Objects.requireNonNull(values, "values must not be null");
    if (tokens < 1) {
      throw new IllegalArgumentException("tokens must be at least 1, got " + tokens);
    }
    long size = (long) tokens * width;
    if (tokens > remaining()) {
      throw new IllegalStateException("KV cache overflow: " + length + " tokens cached + " + tokens
          + " loaded > capacity " + capacity);
    }
    if (keys.length < size) {
      throw new IllegalArgumentException("keys is too short for shape [tokens=" + tokens + "][kvHeads="
          + layer.kvHeads() + "][headDim=" + layer.headDim() + "]: expected at least " + size
          + " elements, got " + keys.length);
    }
    if (values.length < size) {
      throw new IllegalArgumentException("values is too short for shape [tokens=" + tokens + "][kvHeads="
          + layer.kvHeads() + "][headDim=" + layer.headDim() + "]: expected at least " + size
          + " elements, got " + values.length);
    }
    store(keys, values, tokens);
    length += tokens;
  }

  /**
   * Appends keys and values read from views of another cache or an engine's storage (any type, layout or
   * paging), as {@link #load(float[], float[], int)} does with their fp32 values ({@link KvTensor#get}):
   * exact between the same 16-bit types; int8 rows are quantized again.
   *
   * @param keys keys, at least {@code tokens} tokens, with this cache's heads and width
   * @param values values, likewise
   * @param tokens the number of tokens, at least 1
   * @throws NullPointerException if {@code keys} or {@code values} is null
   * @throws IllegalArgumentException if {@code tokens < 1}, a view has other heads or width or fewer tokens,
   *     or the tokens' values would not fit in a Java array
   * @throws IllegalStateException if the tokens do not fit; nothing changes
   * @throws IndexOutOfBoundsException if a paged view's block table entry is outside its pool
   */
  public void load(KvTensor keys, KvTensor values, int tokens) {
    Objects.requireNonNull(keys, "keys must not be null");
    Objects.requireNonNull(values, "values must not be null");
    if (tokens < 1) {
      throw new IllegalArgumentException("tokens must be at least 1, got " + tokens);
    }
    for (KvTensor t : new KvTensor[] {keys, values}) {
      if (t.kvHeads() != layer.kvHeads() || t.headDim() != layer.headDim() || t.tokens() < tokens) {
        throw new IllegalArgumentException((t == keys ? "keys" : "values") + " (" + t + ") does not have "
            + tokens + " tokens of " + layer.kvHeads() + " heads of width " + layer.headDim());
      }
    }
    if (tokens > remaining()) {
      throw new IllegalStateException("KV cache overflow: " + length + " tokens cached + " + tokens
          + " loaded > capacity " + capacity);
    }
    if ((long) tokens * width > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(tokens + " tokens of " + width + " values do not fit in an array");
    }
    float[] k = new float[tokens * width];
    float[] v = new float[k.length];
    for (int t = 0, i = 0; t < tokens; t++) {
      for (int h = 0; h < layer.kvHeads(); h++) {
        for (int d = 0; d < layer.headDim(); d++, i++) {
          k[i] = keys.get(t, h, d);
          v[i] = values.get(t, h, d);
        }
      }
    }
    store(k, v, tokens);
    length += tokens;
  }

  @Override
  public String toString() {
    return "KvCache[" + length + "/" + capacity + " tokens, " + type + "]";
  }

  MultiHeadAttention layer() {
    return layer;
  }

  /** {@return the fp32 arrays of an F32 on-heap cache, which the layer's projections write into; else null} */
  float[] keyArray() {
    return keys;
  }

  float[] valueArray() {
    return values;
  }

  /**
   * Stores {@code tokens} rows of keys and values ({@code [tokens][kvHeads][headDim]} fp32) at the cache's
   * length, as its type says; the length does not change.
   */
  void store(float[] k, float[] v, int tokens) {
    long at = (long) length * width;
    int rows = tokens * layer.kvHeads();
    if (this.keys != null) {
      System.arraycopy(k, 0, this.keys, (int) at, tokens * width);
      System.arraycopy(v, 0, this.values, (int) at, tokens * width);
      return;
    }
    storeRows(k, keyData, keyScales, at, (long) length * layer.kvHeads(), rows);
    storeRows(v, valueData, valueScales, at, (long) length * layer.kvHeads(), rows);
  }

  private void storeRows(float[] src, MemorySegment data, MemorySegment scales, long at, long firstRow,
      int rows) {
    int dim = layer.headDim();
    switch (type) {
      case F32 -> MemorySegment.copy(src, 0, data, ValueLayout.JAVA_FLOAT_UNALIGNED, at * Float.BYTES,
          rows * dim);
      case BF16 -> {
        for (int i = 0; i < rows * dim; i++) {
          data.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, at + i, bf16(src[i]));
        }
      }
      case F16 -> {
        for (int i = 0; i < rows * dim; i++) {
          data.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, at + i, Float.floatToFloat16(src[i]));
        }
      }
      case INT8 -> {
        for (int r = 0; r < rows; r++) {
          float max = 0f;
          for (int d = 0; d < dim; d++) {
            max = Math.max(max, Math.abs(src[r * dim + d]));
          }
          // NaN compares false: a row holding NaN keeps max from the others; make the scale NaN then.
          float scale = max / 127f;
          for (int d = 0; d < dim; d++) {
            if (!Float.isFinite(src[r * dim + d])) {
              scale = Float.NaN;
            }
          }
          scales.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, firstRow + r, scale);
          for (int d = 0; d < dim; d++) {
            int q = scale == 0f || Float.isNaN(scale) ? 0 : Math.round(src[r * dim + d] / scale);
            data.set(ValueLayout.JAVA_BYTE, at + (long) r * dim + d, (byte) Math.max(-127, Math.min(127, q)));
          }
        }
      }
    }
  }

  /**
   * One cached element as the kernel computes with it (widened by {@link KvType#widen}); for the trace.
   *
   * @param value false for the keys, true for the values
   */
  float stored(boolean value, int token, int head, int d) {
    long row = (long) token * layer.kvHeads() + head;
    long at = row * layer.headDim() + d;
    if (keys != null) {
      return (value ? values : keys)[(int) at];
    }
    return widened(value ? valueData : keyData, value ? valueScales : keyScales, at, row);
  }

  /** Element {@code at} of {@code data} (row {@code row}'s scale for INT8), widened as the kernel reads it. */
  private float widened(MemorySegment data, MemorySegment scales, long at, long row) {
    return switch (type) {
      case F32 -> data.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, at);
      case BF16, F16 -> type.widen(data.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, at), 1f);
      case INT8 -> type.widen(data.get(ValueLayout.JAVA_BYTE, at),
          scales.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, row));
    };
  }

  /**
   * {@code rows} rows of {@code [rows][headDim]} fp32 as this cache would store them, widened back: what
   * the kernel reads after {@link #store}; for the trace.
   */
  float[] asStored(float[] src, int rows) {
    int dim = layer.headDim();
    if (type == KvType.F32) {
      return java.util.Arrays.copyOf(src, rows * dim);
    }
    MemorySegment data = allocate(null, type, (long) rows * dim);
    MemorySegment scales = type == KvType.INT8 ? allocate(null, KvType.F32, rows) : null;
    storeRows(src, data, scales, 0, 0, rows);
    float[] seen = new float[rows * dim];
    for (int r = 0; r < rows; r++) {
      for (int d = 0; d < dim; d++) {
        seen[r * dim + d] = widened(data, scales, (long) r * dim + d, r);
      }
    }
    return seen;
  }

  /** bf16 of {@code x}: round to nearest, ties to even; NaN stays a (quiet) NaN. */
  static short bf16(float x) {
    int bits = Float.floatToRawIntBits(x);
    if (Float.isNaN(x)) {
      return (short) ((bits >>> 16) | 0x0040);
    }
    return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
  }

  void append(int tokens) {
    length += tokens;
  }
}
