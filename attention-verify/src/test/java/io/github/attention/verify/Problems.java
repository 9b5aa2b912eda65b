package io.github.attention.verify;

import io.github.attention.kernel.AttentionSpec;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import java.util.stream.IntStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;

/**
 * jqwik generators of attention problems. Shapes and value distributions are drawn by jqwik (so they
 * shrink); the array contents come from a seeded {@link SplittableRandom}, so a failing {@link Recipe}
 * printed by jqwik rebuilds the exact same arrays.
 *
 * <p>Work is capped without filtering: the four sizes (query heads, head width, query length, key length)
 * are drawn in a random order, each at most {@link #MAX_WORK} divided by the product of those already
 * drawn. Every size still reaches both ends of its range (when it comes early or the others are small),
 * while {@code qLen·kvLen·queryHeads·headDim} never exceeds {@link #MAX_WORK}.
 */
final class Problems {

  /** Largest {@code qLen·kvLen·queryHeads·headDim}: about 2 M multiply-adds per kernel call. */
  static final long MAX_WORK = 1 << 20;

  static final int MAX_Q_LEN = 160;
  static final int MAX_KV_LEN = 320;
  static final int MAX_QUERY_HEADS = 16;
  static final int MAX_HEAD_DIM = 256;

  private Problems() {}

  /** The sizes drawn under the work cap. */
  enum Dim {
    QUERY_HEADS, HEAD_DIM, Q_LEN, KV_LEN;

    Arbitrary<Integer> sizes(int cap) {
      return switch (this) {
        case QUERY_HEADS -> Arbitraries.frequencyOf(
            Tuple.of(3, uniform(1, Math.min(MAX_QUERY_HEADS, cap))),
            Tuple.of(1, Arbitraries.of(within(cap, 1, MAX_QUERY_HEADS))));
        case HEAD_DIM -> headDims(Math.min(MAX_HEAD_DIM, cap));
        case Q_LEN -> lengths(MAX_Q_LEN, cap, 1, 2, 3, 4, 63, 64, 65, 127, 128, 129, 159, 160);
        case KV_LEN -> lengths(MAX_KV_LEN, cap, 1, 2, 63, 64, 65, 127, 128, 129, 191, 192, 193,
            255, 256, 257, 319, 320);
      };
    }
  }

  /** How the mask is made. */
  enum MaskKind {
    /** {@code mask == null}. */
    NONE,
    /** Random finite values. */
    FINITE,
    /** Random finite values and {@code -Infinity} entries. */
    NEG_INF,
    /** Like {@link #NEG_INF}, and at least one whole row of {@code -Infinity}. */
    MASKED_ROWS
  }

  /** How value rows are distributed, around a magnitude {@code a}. */
  enum ValueKind {
    /** Uniform in {@code [-a, a]}. */
    SYMMETRIC,
    /** Uniform in {@code [a, 1.001·a]}: all alike, the output must be too. */
    OFFSET,
    /** {@code ±a·10^(-20·U)}: twenty decades of magnitudes side by side. */
    SPREAD
  }

  /** The shape of a problem. */
  record Shape(int queryHeads, int kvHeads, int headDim, int qLen, int kvLen, boolean causal, float scale) {

    AttentionSpec spec() {
      return AttentionSpec.of(queryHeads, kvHeads, headDim).withCausal(causal).withScale(scale);
    }

    Shape withCausal(boolean newCausal) {
      return new Shape(queryHeads, kvHeads, headDim, qLen, kvLen, newCausal, scale);
    }

    long work() {
      return (long) qLen * kvLen * queryHeads * headDim;
    }
  }

  /**
   * The contents of a problem.
   *
   * @param scoreTarget typical |score|: q and k are uniform in ±a with {@code scale·a²·√D/3} equal to
   *     it (the largest scores of a row reach a few times this)
   */
  record Content(MaskKind maskKind, float maskMagnitude, double maskDensity, double scoreTarget,
      ValueKind valueKind, double valueMagnitude, int slack, long seed) {}

  /** Everything needed to rebuild a problem bit for bit. */
  record Recipe(Shape shape, Content content) {

    Recipe withCausal(boolean causal) {
      return new Recipe(shape.withCausal(causal), content);
    }

    Problem build() {
      Shape s = shape;
      Content c = content;
      SplittableRandom random = new SplittableRandom(c.seed());
      int heads = s.queryHeads();
      int dim = s.headDim();
      double a = Math.sqrt(3 * c.scoreTarget() / (s.scale() * Math.sqrt(dim)));
      float[] q = fill(s.qLen() * heads * dim, c.slack(), () -> symmetric(random, a));
      float[] k = fill(s.kvLen() * s.kvHeads() * dim, c.slack(), () -> symmetric(random, a));
      float[] v = fill(s.kvLen() * s.kvHeads() * dim, c.slack(), () -> value(random, c));
      float[] mask = mask(random, s.qLen(), s.kvLen(), c);
      return new Problem(s.spec(), s.qLen(), s.kvLen(), q, k, v, mask, c.slack(), c.toString());
    }
  }

  /**
   * Random problems of every shape and content described in {@link Problems}. Without jqwik's edge cases:
   * combining the edge cases of these nested flatMaps costs about 10 ms per try, more than most problems
   * take to check, and the generators already give the ends of every range (and the 64-key block edges)
   * their own weight.
   */
  static Arbitrary<Recipe> recipes() {
    return Combinators.combine(shapes(), contents()).as(Recipe::new).withoutEdgeCases();
  }

  /** Random shapes under the work cap, without edge cases (see {@link #recipes()}). */
  static Arbitrary<Shape> shapes() {
    return cappedSizes(Dim.values(), MAX_WORK, Dim::sizes)
        .flatMap(size -> {
          int queryHeads = size[Dim.QUERY_HEADS.ordinal()];
          int headDim = size[Dim.HEAD_DIM.ordinal()];
          return Combinators.combine(Arbitraries.of(divisors(queryHeads)), Arbitraries.of(false, true),
                  scales(headDim))
              .as((kvHeads, causal, scale) -> new Shape(queryHeads, kvHeads, headDim,
                  size[Dim.Q_LEN.ordinal()], size[Dim.KV_LEN.ordinal()], causal, scale));
        })
        .withoutEdgeCases();
  }

  static Arbitrary<Content> contents() {
    return Combinators.combine(
        Arbitraries.of(MaskKind.class),
        Arbitraries.of(0f, 1f, 30f, 1000f),
        Arbitraries.of(0.05, 0.5, 0.95),
        Arbitraries.frequencyOf(
            Tuple.of(1, Arbitraries.just(1e-40)), // products underflow to subnormals
            Tuple.of(1, Arbitraries.just(1e-3)),
            Tuple.of(3, Arbitraries.just(1.0)),
            Tuple.of(2, Arbitraries.just(10.0)),
            Tuple.of(1, Arbitraries.just(100.0)),
            Tuple.of(2, Arbitraries.just(1e4))),
        Arbitraries.of(ValueKind.class),
        Arbitraries.frequencyOf(
            Tuple.of(1, Arbitraries.just(1e-30)),
            Tuple.of(1, Arbitraries.just(1e-5)),
            Tuple.of(3, Arbitraries.just(1.0)),
            Tuple.of(1, Arbitraries.just(1e5)),
            Tuple.of(1, Arbitraries.just(1e30))),
        Arbitraries.frequencyOf(
            Tuple.of(3, Arbitraries.just(0)),
            Tuple.of(1, Arbitraries.integers().between(1, 9))),
        Arbitraries.longs())
        .as(Content::new);
  }

  /**
   * Sizes of {@code dims} (indexed by ordinal) drawn in a random order, each by {@code sizes} with a cap of
   * {@code maxWork} over the product of those drawn before: every size reaches both ends of its range, and
   * the product never exceeds {@code maxWork}.
   */
  static <D extends Enum<D>> Arbitrary<int[]> cappedSizes(D[] dims, long maxWork,
      BiFunction<D, Integer, Arbitrary<Integer>> sizes) {
    return Arbitraries.shuffle(dims).flatMap(order -> sizes(order, 0, new int[dims.length], 1, maxWork, sizes));
  }

  private static <D extends Enum<D>> Arbitrary<int[]> sizes(List<D> order, int index, int[] chosen,
      long product, long maxWork, BiFunction<D, Integer, Arbitrary<Integer>> sizes) {
    if (index == order.size()) {
      return Arbitraries.just(chosen);
    }
    D dim = order.get(index);
    int cap = (int) Math.min(Integer.MAX_VALUE, maxWork / product);
    return sizes.apply(dim, cap).flatMap(size -> {
      int[] next = chosen.clone();
      next[dim.ordinal()] = size;
      return sizes(order, index + 1, next, product * size, maxWork, sizes);
    });
  }

  /**
   * Mostly small, sometimes anywhere, sometimes at a 64-key block edge, and sometimes the range's end
   * {@code max} when the cap allows it.
   */
  private static Arbitrary<Integer> lengths(int max, int cap, int... edges) {
    return Arbitraries.frequencyOf(
        Tuple.of(4, uniform(1, Math.min(8, cap))),
        Tuple.of(2, uniform(1, Math.min(max, cap))),
        Tuple.of(2, Arbitraries.of(within(Math.min(max, cap), edges))),
        Tuple.of(cap >= max ? 1 : 0, Arbitraries.just(max)));
  }

  /** Small, prime, multiples of 16, anywhere, or an edge: odd and prime widths exercise every tail. */
  private static Arbitrary<Integer> headDims(int cap) {
    List<Integer> primes = IntStream.rangeClosed(2, cap).filter(Problems::isPrime).boxed().toList();
    List<Integer> multiplesOf16 = IntStream.rangeClosed(1, cap / 16).map(x -> 16 * x).boxed().toList();
    return Arbitraries.frequencyOf(
        Tuple.of(3, uniform(1, Math.min(8, cap))),
        Tuple.of(2, uniform(1, cap)),
        Tuple.of(1, Arbitraries.of(within(cap, 1, 2, 255, 256))),
        Tuple.of(cap >= MAX_HEAD_DIM ? 1 : 0, Arbitraries.just(MAX_HEAD_DIM)),
        Tuple.of(primes.isEmpty() ? 0 : 3, Arbitraries.of(orOne(primes))),
        Tuple.of(multiplesOf16.isEmpty() ? 0 : 2, Arbitraries.of(orOne(multiplesOf16))));
  }

  /** {@code values}, or [1] in place of an empty list (whose choice then gets weight 0). */
  private static List<Integer> orOne(List<Integer> values) {
    return values.isEmpty() ? List.of(1) : values;
  }

  private static Arbitrary<Float> scales(int headDim) {
    return Arbitraries.frequencyOf(
        Tuple.of(4, Arbitraries.just(AttentionSpec.defaultScale(headDim))),
        Tuple.of(1, Arbitraries.of(0.001f, 0.1f, 0.77f, 1f, 3.7f)));
  }

  static Arbitrary<Integer> uniform(int min, int max) {
    return Arbitraries.integers().between(min, max).withDistribution(RandomDistribution.uniform());
  }

  /** The edges up to {@code cap} (the first edge is 1, so never empty). */
  private static List<Integer> within(int cap, int... edges) {
    return Arrays.stream(edges).filter(e -> e <= cap).boxed().toList();
  }

  static List<Integer> divisors(int n) {
    return IntStream.rangeClosed(1, n).filter(d -> n % d == 0).boxed().toList();
  }

  static boolean isPrime(int n) {
    return n >= 2 && IntStream.rangeClosed(2, (int) Math.sqrt(n)).noneMatch(d -> n % d == 0);
  }

  /** An array of {@code size} values from {@code next}, followed by {@code slack} NaNs. */
  static float[] fill(int size, int slack, FloatSupplier next) {
    float[] array = new float[size + slack];
    for (int x = 0; x < size; x++) {
      array[x] = next.get();
    }
    Arrays.fill(array, size, array.length, Float.NaN);
    return array;
  }

  /** A float source, to fill arrays without boxing. */
  @FunctionalInterface
  interface FloatSupplier {
    float get();
  }

  static float symmetric(SplittableRandom random, double a) {
    return (float) ((2 * random.nextDouble() - 1) * a);
  }

  private static float value(SplittableRandom random, Content c) {
    double a = c.valueMagnitude();
    return switch (c.valueKind()) {
      case SYMMETRIC -> symmetric(random, a);
      case OFFSET -> (float) (a * (1 + 1e-3 * random.nextDouble()));
      case SPREAD -> (float) ((random.nextBoolean() ? a : -a) * Math.pow(10, -20 * random.nextDouble()));
    };
  }

  private static float[] mask(SplittableRandom random, int qLen, int kvLen, Content c) {
    if (c.maskKind() == MaskKind.NONE) {
      return null;
    }
    double density = c.maskKind() == MaskKind.FINITE ? 0 : c.maskDensity();
    int maskedRow = c.maskKind() == MaskKind.MASKED_ROWS ? random.nextInt(qLen) : -1;
    float[] mask = fill(qLen * kvLen, c.slack(), () -> 0f);
    for (int i = 0; i < qLen; i++) {
      boolean wholeRow = i == maskedRow || (maskedRow >= 0 && random.nextDouble() < 0.3);
      for (int j = 0; j < kvLen; j++) {
        mask[i * kvLen + j] = wholeRow || random.nextDouble() < density
            ? Float.NEGATIVE_INFINITY
            : symmetric(random, c.maskMagnitude());
      }
    }
    return mask;
  }
}
