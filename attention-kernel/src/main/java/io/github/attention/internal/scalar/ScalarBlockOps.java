package io.github.attention.internal.scalar;

import static io.github.attention.kernel.Blocking.KEY_BLOCK;

import io.github.attention.internal.core.BlockOps;
import io.github.attention.internal.core.BlockRows;

/**
 * The scalar {@link BlockOps}: plain Java loops, one element at a time, in the same blocks and the same
 * order of operations as the vector backend, so that the two differ only in SIMD (and in the exponential:
 * here {@link Math#exp} in double, rounded to float). A row's running sum is one float.
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
  public void transposeKeys(float[] keys, int offset, int stride, int n, int headDim, float[] kt,
      int ktOffset, float[] tile) {
    for (int j = 0; j < n; j++) {
      int src = offset + j * stride;
      for (int d = 0; d < headDim; d++) {
        kt[ktOffset + d * KEY_BLOCK + j] = keys[src + d];
      }
    }
  }

  @Override
  public void scores(float[] q, int[] qOffset, int rows, int headDim, float[] kt, int ktOffset, int width,
      float[] s) {
    for (int r = 0; r < rows; r++) {
      int qr = qOffset[r];
      int sr = r * KEY_BLOCK;
      for (int j = 0; j < width; j++) {
        s[sr + j] = 0f;
      }
      for (int d = 0; d < headDim; d++) {
        float qd = q[qr + d];
        int kd = ktOffset + d * KEY_BLOCK;
        for (int j = 0; j < width; j++) {
          s[sr + j] += qd * kt[kd + j];
        }
      }
    }
  }

  /** The same sums as {@link #scores}, in the same order (over d, from 0), one key at a time. */
  @Override
  public void scoresInPlace(float[] q, int[] qOffset, int rows, int headDim, float[] k, int offset,
      int stride, int n, float[] s, float[] tile) {
    for (int r = 0; r < rows; r++) {
      int qr = qOffset[r];
      for (int j = 0; j < n; j++) {
        int kj = offset + j * stride;
        float dot = 0f;
        for (int d = 0; d < headDim; d++) {
          dot += q[qr + d] * k[kj + d];
        }
        s[r * KEY_BLOCK + j] = dot;
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
        int visible = rows.visible(r);
        int mr = rows.maskOffset(r);
        for (int j = 0; j < width; j++) {
          float x = Float.NEGATIVE_INFINITY;
          if (j < visible) {
            x = s[sr + j] * scale;
            if (mask != null) {
              x += mask[mr + j];
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
      float[] sum) {
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

  @Override
  public void accumulate(float[] p, int rows, int n, float[] values, int valueOffset, int valueStride,
      float[] alpha, float[] o, int stride) {
    for (int r = 0; r < rows; r++) {
      int or = r * stride;
      float a = alpha[r];
      for (int d = 0; d < stride; d++) {
        o[or + d] *= a;
      }
      int pr = r * KEY_BLOCK;
      for (int j = 0; j < n; j++) {
        float w = p[pr + j];
        int vj = valueOffset + j * valueStride;
        for (int d = 0; d < stride; d++) {
          o[or + d] += w * values[vj + d];
        }
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
