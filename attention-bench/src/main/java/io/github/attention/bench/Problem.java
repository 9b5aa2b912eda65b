package io.github.attention.bench;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.KvTensor;
import io.github.attention.kernel.Parallelism;
import java.util.SplittableRandom;

/**
 * The inputs and output buffer of one {@link Shape}: q, k and v filled with standard normal values from a
 * fixed seed, so every backend and every run sees the same numbers.
 */
public final class Problem {

  /** Seed of the inputs; fixed so the scalar and vector runs (and the tests) see identical data. */
  public static final long SEED = 0x5EED_A77EL;

  private final Shape shape;
  private final AttentionSpec spec;
  private final float[] q;
  private final float[] k;
  private final float[] v;
  private final float[] out;
  /** K and V as the shape stores them; null for {@link Shape.KvStorage#ARRAYS}. */
  private final KvTensor kTensor;
  private final KvTensor vTensor;
  /** K and V as the kernel sees them: the values of {@link #k} and {@link #v} as stored, widened back. */
  private final float[] kStored;
  private final float[] vStored;

  private Problem(Shape shape) {
    this.shape = shape;
    this.spec = shape.spec();
    SplittableRandom random = new SplittableRandom(SEED);
    this.q = normal(random, shape.qLen() * shape.queryHeads() * shape.headDim());
    this.k = normal(random, shape.kvLen() * shape.kvHeads() * shape.headDim());
    this.v = normal(random, shape.kvLen() * shape.kvHeads() * shape.headDim());
    this.out = new float[q.length];
    this.kTensor = stored(shape, k, random);
    this.vTensor = stored(shape, v, random);
    this.kStored = asStored(shape, k);
    this.vStored = asStored(shape, v);
  }

  /** The values as the shape's storage holds them, widened back to fp32 ({@code [kvLen][kvHeads][headDim]}). */
  private static float[] asStored(Shape shape, float[] values) {
    int dim = shape.headDim();
    float[] seen = new float[values.length];
    switch (shape.storage()) {
      case ARRAYS, HEAD_MAJOR -> System.arraycopy(values, 0, seen, 0, values.length);
      case BF16, PAGED_BF16 -> {
        short[] bits = bf16(values);
        for (int i = 0; i < seen.length; i++) {
          seen[i] = Float.intBitsToFloat(bits[i] << 16);
        }
      }
      case F16 -> {
        for (int i = 0; i < seen.length; i++) {
          seen[i] = Float.float16ToFloat(Float.floatToFloat16(values[i]));
        }
      }
      case INT8 -> {
        for (int row = 0; row < seen.length / dim; row++) {
          float scale = int8Scale(values, row, dim);
          for (int d = 0; d < dim; d++) {
            seen[row * dim + d] = (float) int8(values[row * dim + d], scale) * scale;
          }
        }
      }
    }
    return seen;
  }

  /** A row's int8 scale: {@code max|x| / 127}. */
  private static float int8Scale(float[] values, int row, int dim) {
    float max = 0f;
    for (int d = 0; d < dim; d++) {
      max = Math.max(max, Math.abs(values[row * dim + d]));
    }
    return max / 127f;
  }

  /** {@code x / scale} rounded to the nearest int8 (0 for a zero row). */
  private static byte int8(float x, float scale) {
    return scale == 0f ? 0 : (byte) Math.max(-127, Math.min(127, Math.round(x / scale)));
  }

  /** {@code values} ({@code [kvLen][kvHeads][headDim]}) stored as the shape says. */
  private static KvTensor stored(Shape shape, float[] values, SplittableRandom random) {
    int tokens = shape.kvLen();
    int heads = shape.kvHeads();
    int dim = shape.headDim();
    return switch (shape.storage()) {
      case ARRAYS -> null;
      case BF16 -> KvTensor.bf16(bf16(values), tokens, heads, dim);
      case F16 -> {
        short[] halves = new short[values.length];
        for (int i = 0; i < values.length; i++) {
          halves[i] = Float.floatToFloat16(values[i]);
        }
        yield KvTensor.f16(halves, tokens, heads, dim);
      }
      case INT8 -> {
        byte[] quantized = new byte[values.length];
        float[] scales = new float[tokens * heads];
        for (int row = 0; row < tokens * heads; row++) {
          scales[row] = int8Scale(values, row, dim);
          for (int d = 0; d < dim; d++) {
            quantized[row * dim + d] = int8(values[row * dim + d], scales[row]);
          }
        }
        yield KvTensor.int8(quantized, scales, tokens, heads, dim);
      }
      case HEAD_MAJOR -> {
        float[] headMajor = new float[values.length];
        for (int t = 0; t < tokens; t++) {
          for (int h = 0; h < heads; h++) {
            System.arraycopy(values, (t * heads + h) * dim, headMajor, (h * tokens + t) * dim, dim);
          }
        }
        yield KvTensor.of(headMajor, tokens, heads, dim).headMajor();
      }
      case PAGED_BF16 -> {
        int blockTokens = 16;
        int blocks = (tokens + blockTokens - 1) / blockTokens;
        int[] table = new int[blocks];
        for (int b = 0; b < blocks; b++) {
          table[b] = b;
        }
        for (int b = blocks - 1; b > 0; b--) {
          int other = random.nextInt(b + 1);
          int swap = table[b];
          table[b] = table[other];
          table[other] = swap;
        }
        short[] logical = bf16(values);
        short[] pool = new short[blocks * blockTokens * heads * dim];
        int row = heads * dim;
        for (int t = 0; t < tokens; t++) {
          int p = table[t / blockTokens] * blockTokens + t % blockTokens;
          System.arraycopy(logical, t * row, pool, p * row, row);
        }
        yield KvTensor.paged(KvTensor.bf16(pool, blocks * blockTokens, heads, dim), blockTokens, table);
      }
    };
  }

  private static short[] bf16(float[] values) {
    short[] bits = new short[values.length];
    for (int i = 0; i < values.length; i++) {
      int x = Float.floatToRawIntBits(values[i]);
      bits[i] = (short) ((x + 0x7FFF + ((x >>> 16) & 1)) >>> 16);
    }
    return bits;
  }

  /**
   * Builds the inputs of a shape.
   *
   * @param shape the shape
   * @return fresh inputs and a zeroed output buffer
   */
  public static Problem of(Shape shape) {
    return new Problem(shape);
  }

  private static float[] normal(SplittableRandom random, int n) {
    float[] values = new float[n];
    for (int i = 0; i < n; i++) {
      values[i] = (float) random.nextGaussian();
    }
    return values;
  }

  /**
   * Runs one attention call, writing {@link #out()}.
   *
   * @param kernel the backend
   */
  public void run(AttentionKernel kernel) {
    if (kTensor == null) {
      kernel.attend(spec, shape.qLen(), shape.kvLen(), q, k, v, null, out);
    } else {
      kernel.attend(spec, shape.qLen(), shape.kvLen(), q, kTensor, vTensor, null, out);
    }
  }

  /**
   * Runs one attention call on the threads of {@code parallelism}.
   *
   * @param kernel the backend
   * @param parallelism the threads
   */
  public void run(AttentionKernel kernel, Parallelism parallelism) {
    if (kTensor == null) {
      kernel.attend(spec, shape.qLen(), shape.kvLen(), q, k, v, null, out, parallelism);
    } else {
      kernel.attend(spec, shape.qLen(), shape.kvLen(), q, kTensor, vTensor, null, out, parallelism);
    }
  }

  /** @return the shape */
  public Shape shape() {
    return shape;
  }

  /** @return the kernel spec of the shape */
  public AttentionSpec spec() {
    return spec;
  }

  /** @return queries, {@code [qLen][queryHeads][headDim]}; shared, do not modify */
  public float[] q() {
    return q;
  }

  /** @return keys, {@code [kvLen][kvHeads][headDim]}, before they are stored as the shape says; shared */
  public float[] k() {
    return k;
  }

  /**
   * @return keys as the kernel sees them: {@link #k()} as the shape stores them, widened back to fp32
   *     ({@code [kvLen][kvHeads][headDim]}; the same array for fp32 storage); shared, do not modify
   */
  public float[] kStored() {
    return kStored;
  }

  /** @return values as the kernel sees them (see {@link #kStored()}); shared, do not modify */
  public float[] vStored() {
    return vStored;
  }

  /** @return values, {@code [kvLen][kvHeads][headDim]}; shared, do not modify */
  public float[] v() {
    return v;
  }

  /** @return the output of the last {@link #run}, {@code [qLen][queryHeads][headDim]} */
  public float[] out() {
    return out;
  }
}
