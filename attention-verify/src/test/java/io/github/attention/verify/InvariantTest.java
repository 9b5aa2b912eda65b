package io.github.attention.verify;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.Blocking;
import io.github.attention.verify.ErrorBound.Precision;
import io.github.attention.verify.Problems.Recipe;
import java.util.Arrays;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * Properties that need no reference output: the result stays within the range of the visible value rows,
 * and transformations that leave exact attention unchanged (shifting a mask row, permuting keys with their
 * values) change the kernel's output by no more than the derived bounds. Where a bound is needed, the
 * reference supplies only the row statistics of {@link ErrorBound}, never an expected output: both runs
 * are within {@code tolerance(FLOAT)} of the same exact result, so they differ by at most the sum.
 */
class InvariantTest {

  private static final ErrorStats SHIFT_STATS =
      new ErrorStats("mask row shift, |difference| vs summed bounds");
  private static final ErrorStats PERMUTATION_STATS =
      new ErrorStats("key permutation, |difference| vs summed bounds");

  @Provide
  Arbitrary<Recipe> problems() {
    return Problems.recipes();
  }

  @Provide
  Arbitrary<Integer> shifts() {
    return Arbitraries.of(1, 100, 10_000);
  }

  @Property
  @Tag("species")
  void vectorOutputWithinVisibleValues(@ForAll("problems") Recipe recipe) {
    assertWithinVisibleValues(AttentionKernel.vector(), recipe.build());
  }

  @Property
  void scalarOutputWithinVisibleValues(@ForAll("problems") Recipe recipe) {
    assertWithinVisibleValues(AttentionKernel.scalar(), recipe.build());
  }

  /**
   * Adding a constant {@code c_i} to every entry of mask row {@code i} leaves the softmax unchanged. The
   * mask is first rounded to multiples of 1/8 within ±1024 and the constants are integers up to
   * {@code shift}, so every shifted entry is exact in float and the two problems have the same exact
   * answer; their float scores round differently, which the bound's {@code 4u·|mask|} term covers.
   */
  @Property
  void vectorMaskRowShiftChangesNothing(@ForAll("problems") Recipe recipe, @ForAll("shifts") int shift,
      @ForAll long shiftSeed) {
    Problem p = recipe.build();
    float[] grid = new float[p.qLen() * p.kvLen() + p.slack()];
    Arrays.fill(grid, p.qLen() * p.kvLen(), grid.length, Float.NaN);
    float[] shifted = grid.clone();
    SplittableRandom random = new SplittableRandom(shiftSeed);
    for (int i = 0; i < p.qLen(); i++) {
      int c = random.nextInt(-shift, shift + 1);
      for (int j = 0; j < p.kvLen(); j++) {
        float m = p.mask() == null ? 0f : p.mask()[i * p.kvLen() + j];
        grid[i * p.kvLen() + j] = Float.isInfinite(m) ? m : Math.round(Math.clamp(m, -1024f, 1024f) * 8) / 8f;
        shifted[i * p.kvLen() + j] = grid[i * p.kvLen() + j] + c;
      }
    }
    Problem original = p.with(p.spec(), p.k(), p.v(), grid, "mask on a 1/8 grid");
    Problem moved = p.with(p.spec(), p.k(), p.v(), shifted, "mask rows shifted by integers up to " + shift);
    assertSameUpToBounds(AttentionKernel.vector(), original, moved, SHIFT_STATS);
  }

  /** Permuting keys, values and mask columns together changes nothing without causal masking. */
  @Property
  void vectorKeyPermutationChangesNothing(@ForAll("problems") Recipe recipe, @ForAll long permutationSeed) {
    Problem p = recipe.withCausal(false).build();
    int kvLen = p.kvLen();
    int[] to = shuffled(kvLen, new SplittableRandom(permutationSeed));
    int row = p.spec().kvHeads() * p.spec().headDim();
    float[] k = p.k().clone();
    float[] v = p.v().clone();
    float[] mask = p.mask() == null ? null : p.mask().clone();
    for (int j = 0; j < kvLen; j++) {
      System.arraycopy(p.k(), j * row, k, to[j] * row, row);
      System.arraycopy(p.v(), j * row, v, to[j] * row, row);
      for (int i = 0; mask != null && i < p.qLen(); i++) {
        mask[i * kvLen + to[j]] = p.mask()[i * kvLen + j];
      }
    }
    Problem permuted = p.with(p.spec(), k, v, mask, "keys permuted with seed " + permutationSeed);
    assertSameUpToBounds(AttentionKernel.vector(), p, permuted, PERMUTATION_STATS);
  }

  @AfterContainer
  static void report() {
    SHIFT_STATS.printAndReset();
    PERMUTATION_STATS.printAndReset();
  }

  /**
   * Every output coordinate lies in {@code [min_j v_jd, max_j v_jd]} over the row's visible keys, up to
   * {@link ErrorBound#rangeSlack} (the computed weights are non-negative, only accumulation and division
   * round); rows that see no key are zero.
   */
  static void assertWithinVisibleValues(AttentionKernel kernel, Problem p) {
    float[] out = p.run(kernel);
    AttentionSpec spec = p.spec();
    int dim = spec.headDim();
    double[] lo = new double[dim];
    double[] hi = new double[dim];
    for (int i = 0; i < p.qLen(); i++) {
      for (int h = 0; h < spec.queryHeads(); h++) {
        Arrays.fill(lo, Double.POSITIVE_INFINITY);
        Arrays.fill(hi, Double.NEGATIVE_INFINITY);
        int visible = 0;
        int blocks = 0;
        int lastBlock = -1;
        for (int j = 0; j < p.kvLen(); j++) {
          if (!p.visible(i, j)) {
            continue;
          }
          visible++;
          if (j / Blocking.KEY_BLOCK != lastBlock) {
            lastBlock = j / Blocking.KEY_BLOCK;
            blocks++;
          }
          int at = (j * spec.kvHeads() + spec.kvHeadOf(h)) * dim;
          for (int d = 0; d < dim; d++) {
            lo[d] = Math.min(lo[d], p.v()[at + d]);
            hi[d] = Math.max(hi[d], p.v()[at + d]);
          }
        }
        int at = (i * spec.queryHeads() + h) * dim;
        for (int d = 0; d < dim; d++) {
          float x = out[at + d];
          double slack = visible == 0 ? 0 : ErrorBound.rangeSlack(visible, blocks, Math.max(-lo[d], hi[d]));
          boolean ok = visible == 0 ? x == 0f : lo[d] - slack <= x && x <= hi[d] + slack;
          if (!ok) {
            throw new AssertionError(String.format("%s: out[i=%d][h=%d][d=%d] = %s outside [%s, %s] ± %.3e"
                    + " of its %d visible values; %s",
                kernel.name(), i, h, d, x, lo[d], hi[d], slack, visible, p));
          }
        }
      }
    }
  }

  /**
   * Two problems with the same exact answer: the kernel's outputs differ by at most the sum of their
   * float bounds, and agree exactly on rows that see no key.
   */
  static void assertSameUpToBounds(AttentionKernel kernel, Problem a, Problem b, ErrorStats stats) {
    float[] outA = a.run(kernel);
    float[] outB = b.run(kernel);
    ReferenceAttention.Result statsA = a.reference();
    ReferenceAttention.Result statsB = b.reference();
    AttentionSpec spec = a.spec();
    int dim = spec.headDim();
    for (int i = 0; i < a.qLen(); i++) {
      for (int h = 0; h < spec.queryHeads(); h++) {
        ReferenceAttention.Row rowA = statsA.row(i, h);
        ReferenceAttention.Row rowB = statsB.row(i, h);
        int at = (i * spec.queryHeads() + h) * dim;
        for (int d = 0; d < dim; d++) {
          double difference = Math.abs(outA[at + d] - outB[at + d]);
          double bound = rowA.visibleKeys() == 0 ? 0
              : ErrorBound.tolerance(spec, rowA, d, Precision.FLOAT)
                  + ErrorBound.tolerance(spec, rowB, d, Precision.FLOAT);
          if (!(difference <= bound)) {
            throw new AssertionError(String.format("%s: out[i=%d][h=%d][d=%d] = %s vs %s, |difference| %.3e"
                    + " > %.3e; %s versus %s", kernel.name(), i, h, d, outA[at + d], outB[at + d], difference,
                bound, a, b.description()));
          }
          if (rowA.visibleKeys() > 0) {
            stats.record(kernel.name(), difference, rowA.valueMagnitude()[d], bound,
                Math.max(ErrorBound.scoreUncertainty(spec, rowA), ErrorBound.scoreUncertainty(spec, rowB)));
          }
        }
      }
    }
  }

  /** A random permutation of {@code 0 .. n-1}. */
  static int[] shuffled(int n, SplittableRandom random) {
    int[] to = new int[n];
    Arrays.setAll(to, x -> x);
    for (int x = n - 1; x > 0; x--) {
      int y = random.nextInt(x + 1);
      int t = to[x];
      to[x] = to[y];
      to[y] = t;
    }
    return to;
  }
}
