package io.github.attention.internal.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.attention.internal.core.BlockOps;
import io.github.attention.kernel.Blocking;
import io.github.attention.kernel.KvType;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The widening of stored K/V elements to fp32, on this run's species: every bf16 and f16 bit pattern, and
 * int8 rows with their scales, against {@link KvType#widen} (bf16: the shifted bits; f16:
 * {@link Float#float16ToFloat}), bit for bit; and the zero padding of odd head widths.
 */
class VectorWidenTest {

  private static final BlockOps OPS = VectorBlockOps.INSTANCE;

  /** Widens all 65,536 patterns as 1,024 rows of 64 (and as rows of 63, so tails are covered too). */
  private static void everyPattern(KvType type) {
    everyPattern(type, 1);
  }

  private static void everyPattern(KvType type, int repetitions) {
    for (int i = 0; i < repetitions; i++) {
      everyPatternOnce(type);
    }
  }

  private static void everyPatternOnce(KvType type) {
    short[] all = new short[1 << 16];
    for (int i = 0; i < all.length; i++) {
      all[i] = (short) i;
    }
    MemorySegment src = MemorySegment.ofArray(all);
    for (int width : new int[] {64, 63}) {
      // One more vector of padding than the width needs: the padding loop runs too.
      int stride = (width + Species.L - 1) / Species.L * Species.L + Species.L;
      int rows = all.length / width;
      float[] dst = new float[Blocking.KEY_BLOCK * stride];
      java.util.Arrays.fill(dst, Float.NaN);
      for (int r0 = 0; r0 < rows; r0 += Blocking.KEY_BLOCK) {
        int n = Math.min(Blocking.KEY_BLOCK, rows - r0);
        OPS.widen(src, type, (long) r0 * width, width, n, 1, width, null, stride, dst, 0);
        for (int j = 0; j < n; j++) {
          for (int d = 0; d < width; d++) {
            int bits = all[(r0 + j) * width + d];
            float expected = type == KvType.BF16
                ? Float.intBitsToFloat(bits << 16)
                : Float.float16ToFloat((short) bits);
            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(dst[j * stride + d]),
                () -> type + " pattern 0x" + Integer.toHexString(bits & 0xFFFF));
          }
          for (int d = width; d < stride; d++) {
            assertEquals(0f, dst[j * stride + d], "padding");
          }
        }
      }
    }
  }

  @Test
  void everyBf16PatternWidensToItsShiftedBits() {
    everyPattern(KvType.BF16);
  }

  @Test
  void everyF16PatternWidensAsFloat16ToFloat() {
    everyPattern(KvType.F16);
  }

  /**
   * The same, repeated until C2 has compiled the widening (a few hundred passes; each is checked): the f16
   * conversion patches infinities and NaN on a branch taken only by vectors holding one, and the compiled
   * branch must agree with the interpreted one.
   */
  @Test
  void everyF16PatternWidensAsFloat16ToFloatOnceCompiled() {
    everyPattern(KvType.F16, 300);
  }

  @Test
  void int8RowsAreTheirValuesTimesTheirScales() {
    Random random = new Random(7);
    for (int width : new int[] {1, 7, 16, 64, 72, 128}) {
      int n = 37;
      int heads = 2;
      int tokenStride = heads * width + 5;
      byte[] q = new byte[n * tokenStride + 3];
      random.nextBytes(q);
      float[] scales = new float[heads * Blocking.KEY_BLOCK];
      for (int i = 0; i < scales.length; i++) {
        scales[i] = i == 3 ? Float.POSITIVE_INFINITY : i == 4 ? Float.NaN : random.nextFloat() / 127f;
      }
      int stride = (width + Species.L - 1) / Species.L * Species.L + Species.L;
      float[] dst = new float[heads * Blocking.KEY_BLOCK * stride];
      java.util.Arrays.fill(dst, Float.NaN);
      OPS.widen(MemorySegment.ofArray(q), KvType.INT8, 3, tokenStride, n, heads, width, scales, stride, dst,
          0);
      for (int h = 0; h < heads; h++) {
        for (int j = 0; j < n; j++) {
          int row = (h * Blocking.KEY_BLOCK + j) * stride;
          for (int d = 0; d < width; d++) {
            float expected = KvType.INT8.widen(q[3 + j * tokenStride + h * width + d],
                scales[h * Blocking.KEY_BLOCK + j]);
            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(dst[row + d]),
                "head " + h + " row " + j + " element " + d);
          }
          for (int d = width; d < stride; d++) {
            assertEquals(0f, dst[row + d], "padding stays zero even for a non-finite scale");
          }
        }
      }
    }
  }

  @Test
  void f32SegmentRowsAreCopied() {
    Random random = new Random(8);
    for (int width : new int[] {3, 16, 100}) {
      float[] src = new float[10 * (width + 1)];
      for (int i = 0; i < src.length; i++) {
        src[i] = random.nextFloat();
      }
      int stride = (width + Species.L - 1) / Species.L * Species.L;
      float[] dst = new float[9 * stride];
      OPS.widen(MemorySegment.ofArray(src), KvType.F32, 1, width + 1, 9, 1, width, null, stride, dst, 0);
      for (int j = 0; j < 9; j++) {
        for (int d = 0; d < width; d++) {
          assertEquals(src[1 + j * (width + 1) + d], dst[j * stride + d]);
        }
      }
    }
  }
}
