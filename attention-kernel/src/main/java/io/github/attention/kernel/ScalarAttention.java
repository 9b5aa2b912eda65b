package io.github.attention.kernel;

/**
 * The scalar backend: {@link TiledAttention}'s blocked online-softmax algorithm with plain Java loops, the
 * same blocks and the same order of operations as {@link VectorAttention}, so the two differ only in SIMD.
 */
final class ScalarAttention extends TiledAttention {

  static final ScalarAttention INSTANCE = new ScalarAttention();

  private ScalarAttention() {}

  @Override
  public String name() {
    return "scalar";
  }

  @Override
  int keyStep() {
    return 1;
  }

  @Override
  int dimStep() {
    return 1;
  }

  @Override
  void transposeKeys(float[] keys, int offset, int stride, int n, int headDim, float[] kt, int ktOffset) {
    for (int j = 0; j < n; j++) {
      int src = offset + j * stride;
      for (int d = 0; d < headDim; d++) {
        kt[ktOffset + d * KEY_BLOCK + j] = keys[src + d];
      }
    }
  }

  @Override
  void scores(float[] q, int[] qOffset, int rows, int headDim, float[] kt, int ktOffset, int width,
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

  /** Not used: {@link #readsInPlace} is false. A plain dot product per (row, key), for completeness. */
  @Override
  void scoresInPlace(float[] q, int[] qOffset, int rows, int headDim, float[] k, int offset, int stride,
      int n, float[] s) {
    for (int r = 0; r < rows; r++) {
      for (int j = 0; j < n; j++) {
        float dot = 0f;
        for (int d = 0; d < headDim; d++) {
          dot += q[qOffset[r] + d] * k[offset + j * stride + d];
        }
        s[r * KEY_BLOCK + j] = dot;
      }
    }
  }

  @Override
  void softmax(float[] s, int rows, int width, int[] limit, float scale, float[] mask, int[] maskOffset,
      float[] max, float[] sum, float[] alpha) {
    for (int r = 0; r < rows; r++) {
      int sr = r * KEY_BLOCK;
      int visible = limit[r];
      int mr = maskOffset[r];
      float blockMax = Float.NEGATIVE_INFINITY;
      for (int j = 0; j < width; j++) {
        float x;
        if (j < visible) {
          x = s[sr + j] * scale;
          if (mr >= 0) {
            x += mask[mr + j];
          }
        } else {
          x = Float.NEGATIVE_INFINITY;
        }
        s[sr + j] = x;
        blockMax = x > blockMax ? x : blockMax;
      }
      float oldMax = max[r];
      float newMax = blockMax > oldMax ? blockMax : oldMax;
      if (newMax == Float.NEGATIVE_INFINITY) {
        // Nothing visible yet: weights are zero and the (zero) accumulator needs no rescaling.
        alpha[r] = 1f;
        for (int j = 0; j < width; j++) {
          s[sr + j] = 0f;
        }
        continue;
      }
      float blockSum = 0f;
      for (int j = 0; j < width; j++) {
        float p = (float) Math.exp(s[sr + j] - newMax);
        s[sr + j] = p;
        blockSum += p;
      }
      float a = (float) Math.exp(oldMax - newMax);
      alpha[r] = a;
      sum[r] = sum[r] * a + blockSum;
      max[r] = newMax;
    }
  }

  @Override
  boolean readsInPlace(int rows, int headDim) {
    return false;
  }

  @Override
  void accumulate(float[] p, int rows, int n, float[] values, int valueOffset, int valueStride,
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
  void addScaled(float[] src, int from, float weight, int paddedDim, float[] acc) {
    for (int d = 0; d < paddedDim; d++) {
      acc[d] += src[from + d] * weight;
    }
  }

  @Override
  void divide(float[] src, int from, float divisor, int headDim, float[] out, int dst) {
    for (int d = 0; d < headDim; d++) {
      out[dst + d] = src[from + d] / divisor;
    }
  }
}
