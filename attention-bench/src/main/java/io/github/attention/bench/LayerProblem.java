package io.github.attention.bench;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.Parallelism;
import io.github.attention.layer.KvCache;
import io.github.attention.layer.MultiHeadAttention;
import java.util.SplittableRandom;

/**
 * The weights and inputs of one {@link LayerShape}, from a fixed seed, so every backend, thread count and run
 * (and the tests) sees the same numbers. Inputs are standard normal; each weight matrix is standard normal
 * times {@code 1/sqrt(in)}, so a projection of unit-variance inputs has unit variance again: queries and
 * keys stay O(1), scores neither saturate the softmax nor flatten it, and nothing overflows.
 *
 * <p>Also holds the inputs of attention alone on the same shape (q, k and v as the projections would make
 * them); for a decode step the first {@link LayerShape#cached()} tokens of k and v are what the KV cache is
 * filled with.
 */
public final class LayerProblem {

  private final LayerShape shape;
  private final float[] wq;
  private final float[] wk;
  private final float[] wv;
  private final float[] wo;
  private final float[] x;
  private final float[] q;
  private final float[] k;
  private final float[] v;

  private LayerProblem(LayerShape shape) {
    this.shape = shape;
    int d = shape.modelDim();
    int qWidth = shape.queryWidth();
    int kvWidth = shape.kvWidth();
    SplittableRandom random = new SplittableRandom(Problem.SEED);
    this.wq = normal(random, qWidth * d, 1 / Math.sqrt(d));
    this.wk = normal(random, kvWidth * d, 1 / Math.sqrt(d));
    this.wv = normal(random, kvWidth * d, 1 / Math.sqrt(d));
    this.wo = normal(random, d * qWidth, 1 / Math.sqrt(qWidth));
    this.x = normal(random, shape.tokens() * d, 1);
    this.q = normal(random, shape.tokens() * qWidth, 1);
    this.k = normal(random, shape.kvLen() * kvWidth, 1);
    this.v = normal(random, shape.kvLen() * kvWidth, 1);
  }

  /**
   * Builds the weights and inputs of a workload.
   *
   * @param shape the workload
   * @return fresh weights and inputs
   */
  public static LayerProblem of(LayerShape shape) {
    return new LayerProblem(shape);
  }

  private static float[] normal(SplittableRandom random, int n, double scale) {
    float[] values = new float[n];
    for (int i = 0; i < n; i++) {
      values[i] = (float) (random.nextGaussian() * scale);
    }
    return values;
  }

  /**
   * A causal layer with these weights and no biases.
   *
   * @param kernel the backend of attention and projections
   * @param parallelism the threads of every call; the caller closes it
   * @return the layer
   */
  public MultiHeadAttention layer(AttentionKernel kernel, Parallelism parallelism) {
    return MultiHeadAttention.builder()
        .modelDim(shape.modelDim())
        .queryHeads(shape.queryHeads())
        .kvHeads(shape.kvHeads())
        .headDim(shape.headDim())
        .causal(true)
        .queryWeights(wq)
        .keyWeights(wk)
        .valueWeights(wv)
        .outputWeights(wo)
        .kernel(kernel)
        .parallelism(parallelism)
        .build();
  }

  /**
   * A cache of {@code layer} with room for the workload's new tokens, holding the first
   * {@link LayerShape#cached()} tokens of {@link #k()} and {@link #v()}.
   *
   * @param layer a layer of this workload's shape
   * @return the filled cache
   */
  public KvCache cache(MultiHeadAttention layer) {
    KvCache cache = layer.newCache(shape.kvLen());
    if (shape.cached() > 0) {
      cache.load(k, v, shape.cached());
    }
    return cache;
  }

  /** @return the workload */
  public LayerShape shape() {
    return shape;
  }

  /** @return {@code Wq}, {@code [queryWidth][modelDim]}; shared, do not modify */
  public float[] wq() {
    return wq;
  }

  /** @return {@code Wk}, {@code [kvWidth][modelDim]}; shared, do not modify */
  public float[] wk() {
    return wk;
  }

  /** @return {@code Wv}, {@code [kvWidth][modelDim]}; shared, do not modify */
  public float[] wv() {
    return wv;
  }

  /** @return {@code Wo}, {@code [modelDim][queryWidth]}; shared, do not modify */
  public float[] wo() {
    return wo;
  }

  /** @return the layer's input, the new tokens {@code [tokens][modelDim]}; shared, do not modify */
  public float[] x() {
    return x;
  }

  /** @return queries of attention alone, {@code [tokens][queryHeads][headDim]}; shared, do not modify */
  public float[] q() {
    return q;
  }

  /** @return keys, {@code [kvLen][kvHeads][headDim]}; shared, do not modify */
  public float[] k() {
    return k;
  }

  /** @return values, {@code [kvLen][kvHeads][headDim]}; shared, do not modify */
  public float[] v() {
    return v;
  }
}
