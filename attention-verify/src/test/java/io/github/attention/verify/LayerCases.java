package io.github.attention.verify;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Tuple;

/**
 * jqwik generators of whole layers: dimensions drawn by jqwik (so they shrink), weights and inputs from a
 * seeded {@link SplittableRandom}, so a printed {@link LayerCase} rebuilds the same arrays. The four sizes
 * are drawn under a work cap as in {@link Problems#cappedSizes}, so every size reaches both ends of its range
 * while the reference stays cheap.
 */
final class LayerCases {

  /** Largest {@code seqLen·modelDim·queryHeads·headDim}. */
  static final long MAX_WORK = 1 << 19;
  static final int MAX_MODEL_DIM = 256;
  static final int MAX_QUERY_HEADS = 16;
  static final int MAX_HEAD_DIM = 128;
  static final int MAX_SEQ_LEN = 96;

  private LayerCases() {}

  /** The sizes drawn under the work cap. */
  enum Dim {
    MODEL_DIM(MAX_MODEL_DIM, 1, 2, 3, 16, 17, 63, 64, 65, 255, 256),
    QUERY_HEADS(MAX_QUERY_HEADS, 1, 2, 3, 8, 16),
    HEAD_DIM(MAX_HEAD_DIM, 1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 64, 127, 128),
    SEQ_LEN(MAX_SEQ_LEN, 1, 2, 3, 5, 63, 64, 65, 95, 96);

    private final int max;
    private final int[] edges;

    Dim(int max, int... edges) {
      this.max = max;
      this.edges = edges;
    }

    Arbitrary<Integer> sizes(int cap) {
      int top = Math.min(max, cap);
      List<Integer> edgesWithin = Arrays.stream(edges).filter(e -> e <= top).boxed().toList();
      return Arbitraries.frequencyOf(
          Tuple.of(3, Problems.uniform(1, Math.min(8, top))),
          Tuple.of(3, Problems.uniform(1, top)),
          Tuple.of(2, Arbitraries.of(edgesWithin)),
          Tuple.of(cap >= max ? 1 : 0, Arbitraries.just(max)));
    }
  }

  /**
   * Everything needed to rebuild a layer and its input bit for bit.
   *
   * @param weightScale weights are uniform in {@code ±weightScale/√in}: 0.1 gives near-uniform attention,
   *     3 gives peaked softmax rows
   * @param inputScale inputs are uniform in {@code ±inputScale}
   */
  record LayerCase(int modelDim, int queryHeads, int kvHeads, int headDim, int seqLen, boolean causal,
      boolean biases, double weightScale, double inputScale, long seed) {

    LayerCase withCausal(boolean newCausal) {
      return new LayerCase(modelDim, queryHeads, kvHeads, headDim, seqLen, newCausal, biases, weightScale,
          inputScale, seed);
    }

    ReferenceLayer.Weights weights() {
      SplittableRandom random = new SplittableRandom(seed);
      int qWidth = queryHeads * headDim;
      int kvWidth = kvHeads * headDim;
      return new ReferenceLayer.Weights(modelDim, queryHeads, kvHeads, headDim, causal,
          matrix(random, qWidth, modelDim), matrix(random, kvWidth, modelDim),
          matrix(random, kvWidth, modelDim), matrix(random, modelDim, qWidth),
          bias(random, qWidth), bias(random, kvWidth), bias(random, kvWidth), bias(random, modelDim));
    }

    /** The input {@code [seqLen][modelDim]}, from its own stream (independent of the weights). */
    float[] input() {
      SplittableRandom random = new SplittableRandom(~seed);
      float[] x = new float[seqLen * modelDim];
      for (int i = 0; i < x.length; i++) {
        x[i] = Problems.symmetric(random, inputScale);
      }
      return x;
    }

    private float[] matrix(SplittableRandom random, int out, int in) {
      float[] w = new float[out * in];
      double a = weightScale / Math.sqrt(in);
      for (int i = 0; i < w.length; i++) {
        w[i] = Problems.symmetric(random, a);
      }
      return w;
    }

    private float[] bias(SplittableRandom random, int size) {
      if (!biases) {
        return null;
      }
      float[] b = new float[size];
      for (int i = 0; i < size; i++) {
        b[i] = Problems.symmetric(random, 0.5);
      }
      return b;
    }
  }

  /** Random layers and inputs, without jqwik's edge cases (see {@link Problems#recipes()}). */
  static Arbitrary<LayerCase> cases() {
    return Problems.cappedSizes(Dim.values(), MAX_WORK, Dim::sizes)
        .flatMap(size -> {
          int queryHeads = size[Dim.QUERY_HEADS.ordinal()];
          return Combinators.combine(Arbitraries.of(Problems.divisors(queryHeads)), Arbitraries.of(false, true),
                  Arbitraries.of(false, true), Arbitraries.of(0.1, 1.0, 3.0), Arbitraries.of(1.0, 10.0),
                  Arbitraries.longs())
              .as((kvHeads, causal, biases, weightScale, inputScale, seed) -> new LayerCase(
                  size[Dim.MODEL_DIM.ordinal()], queryHeads, kvHeads, size[Dim.HEAD_DIM.ordinal()],
                  size[Dim.SEQ_LEN.ordinal()], causal, biases, weightScale, inputScale, seed));
        })
        .withoutEdgeCases();
  }
}
