package io.github.attention.internal.scalar;

import static io.github.attention.kernel.Blocking.KEY_BLOCK;

import io.github.attention.internal.core.BlockOps;
import io.github.attention.internal.core.BlockRows;
import io.github.attention.kernel.KvType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The scalar {@link BlockOps}: plain Java loops in the same blocks and the same order of operations as the
 * vector backend, so that the two differ in SIMD and in rounding details only: here the exponential is
 * {@link Math#exp} in double, rounded to float, and every product and sum is rounded on its own, where the
 * vector backend fuses multiply-adds (a fused multiply-add would be a software fallback on machines without
 * FMA, thousands of times slower). A row's running sum is one float.
 */
final class ScalarBlockOps implements BlockOps {

  static final ScalarBlockOps INSTANCE = new ScalarBlockOps();

  private ScalarBlockOps() {}

  @Override
  public int keyStep() {
    return 1;
  }

  @Override
  public int dimStep() {
    return 1;
  }

  @Override
  public int sumLanes() {
    return 1;
  }

  @Override
  public int tileFloats() {
    return 0;
  }

  /** Any head width: the plain loops read keys and values at any stride. */
  @Override
  public boolean readsInPlace(int headDim) {
    return true;
  }

  /** The scalar backend widens stored rows into packed blocks instead ({@link #widen}). */
  @Override
  public boolean readsStored(int headDim) {
    return false;
  }

  @Override
  public void scoresStored(float[] q, int[] qOffset, int rows, int headDim, MemorySegment k, KvType type,
      long[] rowAt, float[] rowScale, int from, int to, float[] s, float[] tile) {
    throw new UnsupportedOperationException("readsStored is false");
  }

  @Override
  public void accumulateStoredKeys(float[] p, int rows, int from, int to, MemorySegment v, KvType type,
      long[] rowAt, float[] rowScale, float[] o, int stride, BlockRows seen) {
    throw new UnsupportedOperationException("readsStored is false");
  }

  @Override
  public void prefetch(MemorySegment m, long from, long length) {
    // Nothing: the scalar arithmetic is slow enough for the hardware prefetcher to keep up.
  }

  @Override
  public void pack(float[] src, int kvStride, int offset, int n, int heads, int headDim, int stride,
      float[] dst, int dstOffset) {
    for (int j = 0; j < n; j++) {
      for (int h = 0; h < heads; h++) {
        int to = dstOffset + (h * KEY_BLOCK + j) * stride;
        System.arraycopy(src, offset + j * kvStride + h * headDim, dst, to, headDim);
        for (int d = headDim; d < stride; d++) {
          dst[to + d] = 0f;
        }
      }
    }
  }

  @Override
  public void widen(MemorySegment src, KvType type, long index, long tokenStride, int n, int heads,
      int headDim, float[] scales, int stride, float[] dst, int dstOffset) {
    for (int j = 0; j < n; j++) {
      for (int h = 0; h < heads; h++) {
        long from = index + j * tokenStride + (long) h * headDim;
        int to = dstOffset + (h * KEY_BLOCK + j) * stride;
        switch (type) {
          case F32 -> {
            for (int d = 0; d < headDim; d++) {
              dst[to + d] = src.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, from + d);
            }
          }
          case BF16 -> {
            for (int d = 0; d < headDim; d++) {
              dst[to + d] = Float.intBitsToFloat(src.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, from + d) << 16);
            }
          }
          case F16 -> {
            for (int d = 0; d < headDim; d++) {
              dst[to + d] = Float.float16ToFloat(src.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, from + d));
            }
          }
          case INT8 -> {
            float scale = scales[h * KEY_BLOCK + j];
            for (int d = 0; d < headDim; d++) {
              dst[to + d] = (float) src.get(ValueLayout.JAVA_BYTE, from + d) * scale;
            }
          }
        }
        for (int d = headDim; d < stride; d++) {
          dst[to + d] = 0f;
        }
      }
    }
  }

  @Override
  public void transposeKeys(float[] keys, int offset, int stride, int n, int headDim, float[] kt,
      int ktOffset, float[] tile) {
    for (int j = 0; j < n; j++) {
      int src = offset + j * stride;
      for (int d = 0; d < headDim; d++) {
        kt[ktOffset + d * KEY_BLOCK + j] = keys[src + d];
      }
    }
  }

  /**
   * Four keys at a time, each summed over d from 0 in its own register (the order of {@link #scoresInPlace},
   * so the two paths give the same bits). Written so that the JIT does not auto-vectorize it: a vectorized
   * loop of one key block's 64 floats ran at a speed that depended on where the heap happened to put the
   * scores array (a misaligned store stream cost up to 20% here), and this backend must be a steady
   * baseline.
   */
  @Override
  public void scores(float[] q, int[] qOffset, int rows, int headDim, float[] kt, int ktOffset, int width,
      float[] s, BlockRows seen) {
    int quads = width & -4;
    for (int r = 0; r < rows; r++) {
      int qr = qOffset[r];
      int sr = r * KEY_BLOCK;
      int j = 0;
      for (; j < quads; j += 4) {
        float s0 = 0f;
        float s1 = 0f;
        float s2 = 0f;
        float s3 = 0f;
        for (int d = 0, kd = ktOffset + j; d < headDim; d++, kd += KEY_BLOCK) {
          float qd = q[qr + d];
          s0 += qd * kt[kd];
          s1 += qd * kt[kd + 1];
          s2 += qd * kt[kd + 2];
          s3 += qd * kt[kd + 3];
        }
        s[sr + j] = s0;
        s[sr + j + 1] = s1;
        s[sr + j + 2] = s2;
        s[sr + j + 3] = s3;
      }
      for (; j < width; j++) {
        float dot = 0f;
        for (int d = 0, kd = ktOffset + j; d < headDim; d++, kd += KEY_BLOCK) {
          dot += q[qr + d] * kt[kd];
        }
        s[sr + j] = dot;
      }
    }
  }

  /** The same sums as {@link #scores}, in the same order (over d, from 0), four keys at a time. */
  @Override
  public void scoresInPlace(float[] q, int[] qOffset, int rows, int headDim, float[] k, int offset,
      int stride, int from, int to, float[] s, float[] tile) {
    int quads = from + ((to - from) & -4);
    for (int r = 0; r < rows; r++) {
      int qr = qOffset[r];
      int sr = r * KEY_BLOCK;
      int j = from;
      for (; j < quads; j += 4) {
        int k0 = offset + j * stride;
        int k1 = k0 + stride;
        int k2 = k1 + stride;
        int k3 = k2 + stride;
        float s0 = 0f;
        float s1 = 0f;
        float s2 = 0f;
        float s3 = 0f;
        for (int d = 0; d < headDim; d++) {
          float qd = q[qr + d];
          s0 += qd * k[k0 + d];
          s1 += qd * k[k1 + d];
          s2 += qd * k[k2 + d];
          s3 += qd * k[k3 + d];
        }
        s[sr + j] = s0;
        s[sr + j + 1] = s1;
        s[sr + j + 2] = s2;
        s[sr + j + 3] = s3;
      }
      for (; j < to; j++) {
        int kj = offset + j * stride;
        float dot = 0f;
        for (int d = 0; d < headDim; d++) {
          dot += q[qr + d] * k[kj + d];
        }
        s[sr + j] = dot;
      }
    }
  }

  @Override
  public void rowMaxima(float[] s, int width, BlockRows rows, float[] blockMax) {
    int count = rows.count();
    boolean raw = rows.raw();
    float scale = rows.scale();
    float[] mask = rows.mask();
    for (int r = 0; r < count; r++) {
      int sr = r * KEY_BLOCK;
      float max = Float.NEGATIVE_INFINITY;
      if (raw) {
        for (int j = 0; j < width; j++) {
          float x = s[sr + j];
          max = x > max ? x : max;
        }
      } else {
        int first = rows.first(r);
        int visible = rows.visible(r);
        int mr = rows.maskOffset(r);
        float cap = rows.softcap();
        float inverseCap = rows.inverseCap();
        boolean alibi = rows.alibi();
        float slope = alibi ? rows.slope(r) : 0f;
        int offset = rows.alibiOffset(r);
        for (int j = 0; j < width; j++) {
          float x = Float.NEGATIVE_INFINITY;
          if (j >= first && j < visible) {
            x = s[sr + j] * scale;
            if (cap > 0f) {
              // StrictMath: the same bits in the interpreter and in compiled code, on every thread.
              x = cap * (float) StrictMath.tanh(x * inverseCap);
            }
            if (mask != null) {
              x += mask[mr + j];
            }
            if (alibi) {
              x += slope * (float) (offset + j);
            }
          }
          s[sr + j] = x;
          max = x > max ? x : max;
        }
      }
      blockMax[r] = max;
    }
  }

  @Override
  public void exponentiate(float[] s, int rows, int width, float factor, float[] shift, float[] alpha,
      float[] sum, BlockRows seen) {
    for (int r = 0; r < rows; r++) {
      int sr = r * KEY_BLOCK;
      float add = shift[r];
      float blockSum = 0f;
      for (int j = 0; j < width; j++) {
        float p = (float) Math.exp(s[sr + j] * factor + add);
        s[sr + j] = p;
        blockSum += p;
      }
      sum[r] = sum[r] * alpha[r] + blockSum;
    }
  }

  /**
   * Four output columns at a time, each rescaled and then summed over the keys in order in its own register
   * (not auto-vectorized, for the reason given at {@link #scores}).
   */
  @Override
  public void accumulate(float[] p, int rows, int n, float[] values, int valueOffset, int valueStride,
      float[] alpha, float[] o, int stride, BlockRows seen) {
    int quads = stride & -4;
    for (int r = 0; r < rows; r++) {
      int or = r * stride;
      int pr = r * KEY_BLOCK;
      float a = alpha[r];
      int d = 0;
      for (; d < quads; d += 4) {
        float o0 = o[or + d] * a;
        float o1 = o[or + d + 1] * a;
        float o2 = o[or + d + 2] * a;
        float o3 = o[or + d + 3] * a;
        for (int j = 0, vj = valueOffset + d; j < n; j++, vj += valueStride) {
          float w = p[pr + j];
          o0 += w * values[vj];
          o1 += w * values[vj + 1];
          o2 += w * values[vj + 2];
          o3 += w * values[vj + 3];
        }
        o[or + d] = o0;
        o[or + d + 1] = o1;
        o[or + d + 2] = o2;
        o[or + d + 3] = o3;
      }
      for (; d < stride; d++) {
        float x = o[or + d] * a;
        for (int j = 0, vj = valueOffset + d; j < n; j++, vj += valueStride) {
          x += p[pr + j] * values[vj];
        }
        o[or + d] = x;
      }
    }
  }

  @Override
  public void rescale(int rows, float[] alpha, float[] o, int stride) {
    for (int r = 0; r < rows; r++) {
      float a = alpha[r];
      for (int d = r * stride, end = d + stride; d < end; d++) {
        o[d] *= a;
      }
    }
  }

  /**
   * As {@link #accumulate} without the rescaling, over keys {@code [from, to)}: the same sums, in order.
   * Every key, whatever {@code seen} says: the baseline stays the plain loop.
   */
  @Override
  public void accumulateKeys(float[] p, int rows, int from, int to, float[] values, int valueOffset,
      int valueStride, float[] o, int stride, BlockRows seen) {
    for (int r = 0; r < rows; r++) {
      int or = r * stride;
      int pr = r * KEY_BLOCK;
      for (int d = 0; d < stride; d++) {
        float x = o[or + d];
        for (int j = from, vj = valueOffset + from * valueStride + d; j < to; j++, vj += valueStride) {
          x += p[pr + j] * values[vj];
        }
        o[or + d] = x;
      }
    }
  }

  @Override
  public float rowSum(float[] sum, int r) {
    return sum[r];
  }

  @Override
  public void addScaled(float[] src, int from, float weight, int length, float[] acc) {
    for (int d = 0; d < length; d++) {
      acc[d] += src[from + d] * weight;
    }
  }

  @Override
  public void divide(float[] src, int from, float divisor, int headDim, float[] out, int dst) {
    for (int d = 0; d < headDim; d++) {
      out[dst + d] = src[from + d] / divisor;
    }
  }

  /** Nothing to do: scalar code is far slower than memory. */
  @Override
  public void prefetch(float[] a, int from, int length) {}
}
