package io.github.attention.verify;

import io.github.attention.kernel.KvTensor;
import io.github.attention.kernel.KvType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

/**
 * K or V values written into one storage kind by the test's own code (quantizer, layout arithmetic, block
 * table), and read back, by the same code, as the token-major fp32 values the kernel should see. Nothing
 * here calls the kernel's conversions: {@link #dequantized} is what the reference computes with.
 */
final class Storage {

  /** How (t, h) rows are laid out. */
  enum Layout {
    TOKEN_MAJOR, HEAD_MAJOR, PADDED, PAGED
  }

  /** Where the elements live. */
  enum Memory {
    ARRAY, HEAP_SEGMENT, NATIVE_SEGMENT
  }

  /** Everything needed to rebuild a storage bit for bit. */
  record Recipe(KvType type, Layout layout, Memory memory, int blockTokens, long seed) {
    @Override
    public String toString() {
      return type + " " + layout + (layout == Layout.PAGED ? "(" + blockTokens + ")" : "") + " " + memory;
    }
  }

  final KvTensor tensor;
  /** {@code [kvLen][kvHeads][headDim]}: the values of the tensor's first kvLen tokens, widened. */
  final float[] dequantized;

  private Storage(KvTensor tensor, float[] dequantized) {
    this.tensor = tensor;
    this.dequantized = dequantized;
  }

  /**
   * Stores {@code values} ({@code [kvLen][kvHeads][headDim]}) as {@code recipe} says. Native memory comes
   * from {@code arena}.
   */
  static Storage of(Recipe recipe, float[] values, int kvLen, int kvHeads, int headDim, Arena arena) {
    SplittableRandom random = new SplittableRandom(recipe.seed());
    int bt = recipe.blockTokens();
    boolean paged = recipe.layout() == Layout.PAGED;
    int logicalBlocks = paged ? (kvLen + bt - 1) / bt : 0;
    // Pool tokens: the sequence's blocks plus a few unused ones; otherwise a few tokens of spare capacity.
    int tokens = paged ? (logicalBlocks + random.nextInt(4)) * bt : kvLen + random.nextInt(4);
    int[] table = null;
    if (paged) {
      int poolBlocks = tokens / bt;
      table = new int[logicalBlocks + random.nextInt(3)];
      int[] order = shuffled(poolBlocks, random);
      for (int b = 0; b < table.length; b++) {
        // Mostly a shuffled order; sometimes a block shared with an earlier one (a common prefix).
        table[b] = b > 0 && random.nextInt(5) == 0 ? table[random.nextInt(b)] : order[b % poolBlocks];
      }
    }
    // Layout of the (pool's) tokens: element index of (p, h, 0).
    long offset = 0;
    long tokenStride = (long) kvHeads * headDim;
    long headStride = headDim;
    Layout shape = recipe.layout() == Layout.PAGED
        ? (random.nextBoolean() ? Layout.TOKEN_MAJOR : Layout.HEAD_MAJOR)
        : recipe.layout();
    switch (shape) {
      case HEAD_MAJOR -> {
        tokenStride = headDim;
        headStride = (long) tokens * headDim;
      }
      case PADDED -> {
        offset = random.nextInt(8);
        long inner = headDim + random.nextInt(5);
        if (random.nextBoolean()) {
          headStride = inner;
          tokenStride = inner * (kvHeads - 1) + headDim + random.nextInt(9);
        } else {
          tokenStride = inner;
          headStride = inner * (tokens - 1) + headDim + random.nextInt(9);
        }
      }
      default -> { }
    }
    long size = offset + (tokens - 1) * tokenStride + (kvHeads - 1) * headStride + headDim
        + random.nextInt(3);
    size = Math.max(size, (long) tokens * kvHeads * headDim);
    KvType type = recipe.type();
    Object array = switch (type) {
      case F32 -> new float[(int) size];
      case BF16, F16 -> new short[(int) size];
      case INT8 -> new byte[(int) size];
    };
    float[] scales = type == KvType.INT8 ? new float[tokens * kvHeads] : null;
    // Fill every stored element, used or not, with noise first: unused ones must never be read.
    fillNoise(array, random);
    // Write the logical values through the table (a shared block takes the later token's values).
    for (int t = 0; t < kvLen; t++) {
      long p = paged ? (long) table[t / bt] * bt + t % bt : t;
      for (int h = 0; h < kvHeads; h++) {
        long row = offset + p * tokenStride + h * headStride;
        int from = (t * kvHeads + h) * headDim;
        int scaleAt = scaleIndex(shape, (int) p, h, tokens, kvHeads);
        store(type, array, (int) row, values, from, headDim, scales, scaleAt);
      }
    }
    // Read back through the same arithmetic: what the kernel should see.
    float[] seen = new float[kvLen * kvHeads * headDim];
    for (int t = 0; t < kvLen; t++) {
      long p = paged ? (long) table[t / bt] * bt + t % bt : t;
      for (int h = 0; h < kvHeads; h++) {
        int row = (int) (offset + p * tokenStride + h * headStride);
        float scale = scales == null ? 0f : scales[scaleIndex(shape, (int) p, h, tokens, kvHeads)];
        for (int d = 0; d < headDim; d++) {
          seen[(t * kvHeads + h) * headDim + d] = load(type, array, row + d, scale);
        }
      }
    }
    KvTensor tensor = view(recipe.memory(), type, array, scales, tokens, kvHeads, headDim, arena);
    switch (shape) {
      case HEAD_MAJOR -> tensor = tensor.headMajor();
      case PADDED -> tensor = tensor.withLayout(offset, tokenStride, headStride);
      default -> { }
    }
    if (paged) {
      tensor = KvTensor.paged(tensor, bt, table);
    }
    return new Storage(tensor, seen);
  }

  /** INT8 scales: {@code [tokens][kvHeads]}, or {@code [kvHeads][tokens]} for head-major tensors. */
  private static int scaleIndex(Layout shape, int p, int h, int tokens, int kvHeads) {
    return shape == Layout.HEAD_MAJOR ? h * tokens + p : p * kvHeads + h;
  }

  private static KvTensor view(Memory memory, KvType type, Object array, float[] scales, int tokens,
      int kvHeads, int headDim, Arena arena) {
    if (memory == Memory.ARRAY) {
      return switch (type) {
        case F32 -> KvTensor.of((float[]) array, tokens, kvHeads, headDim);
        case BF16 -> KvTensor.bf16((short[]) array, tokens, kvHeads, headDim);
        case F16 -> KvTensor.f16((short[]) array, tokens, kvHeads, headDim);
        case INT8 -> KvTensor.int8((byte[]) array, scales, tokens, kvHeads, headDim);
      };
    }
    MemorySegment data = segment(memory, array, arena);
    if (type == KvType.INT8) {
      return KvTensor.int8(data, segment(memory, scales, arena), tokens, kvHeads, headDim);
    }
    return KvTensor.of(data, type, tokens, kvHeads, headDim);
  }

  private static MemorySegment segment(Memory memory, Object array, Arena arena) {
    MemorySegment heap = switch (array) {
      case float[] a -> MemorySegment.ofArray(a);
      case short[] a -> MemorySegment.ofArray(a);
      case byte[] a -> MemorySegment.ofArray(a);
      default -> throw new IllegalArgumentException();
    };
    if (memory == Memory.HEAP_SEGMENT) {
      return heap;
    }
    // Native, and deliberately misaligned by one byte for 2- and 4-byte elements.
    MemorySegment slab = arena.allocate(heap.byteSize() + 1, 8).asSlice(1);
    slab.copyFrom(heap);
    return slab;
  }

  private static void fillNoise(Object array, SplittableRandom random) {
    switch (array) {
      case float[] a -> {
        for (int i = 0; i < a.length; i++) {
          a[i] = Float.NaN;
        }
      }
      case short[] a -> {
        for (int i = 0; i < a.length; i++) {
          a[i] = (short) 0x7FC0; // NaN in bf16 and in f16
        }
      }
      case byte[] a -> {
        for (int i = 0; i < a.length; i++) {
          a[i] = (byte) random.nextInt();
        }
      }
      default -> throw new IllegalArgumentException();
    }
  }

  private static void store(KvType type, Object array, int row, float[] values, int from, int headDim,
      float[] scales, int scaleAt) {
    switch (type) {
      case F32 -> System.arraycopy(values, from, (float[]) array, row, headDim);
      case BF16 -> {
        for (int d = 0; d < headDim; d++) {
          ((short[]) array)[row + d] = bf16(values[from + d]);
        }
      }
      case F16 -> {
        for (int d = 0; d < headDim; d++) {
          ((short[]) array)[row + d] = Float.floatToFloat16(values[from + d]);
        }
      }
      case INT8 -> {
        float max = 0f;
        for (int d = 0; d < headDim; d++) {
          max = Math.max(max, Math.abs(values[from + d]));
        }
        float scale = max / 127f;
        scales[scaleAt] = scale;
        for (int d = 0; d < headDim; d++) {
          int q = scale == 0f ? 0 : Math.round(values[from + d] / scale);
          ((byte[]) array)[row + d] = (byte) Math.max(-127, Math.min(127, q));
        }
      }
    }
  }

  /** Round to nearest even, the upper 16 bits (finite inputs). */
  static short bf16(float x) {
    int bits = Float.floatToRawIntBits(x);
    return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
  }

  private static float load(KvType type, Object array, int at, float scale) {
    return switch (type) {
      case F32 -> ((float[]) array)[at];
      case BF16 -> Float.intBitsToFloat(((short[]) array)[at] << 16);
      case F16 -> Float.float16ToFloat(((short[]) array)[at]);
      case INT8 -> ((byte[]) array)[at] * scale;
    };
  }

  private static int[] shuffled(int n, SplittableRandom random) {
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int swap = order[i];
      order[i] = order[j];
      order[j] = swap;
    }
    return order;
  }

  /** Whether every value is finite (f16 overflows above 65504). */
  static boolean finite(float[] values) {
    for (float x : values) {
      if (!Float.isFinite(x)) {
        return false;
      }
    }
    return true;
  }
}
