package io.github.attention.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.KvTensor;
import io.github.attention.kernel.LogSumExp;
import io.github.attention.kernel.Parallelism;
import io.github.attention.verify.Problems.Recipe;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * The variants of {@link AttentionSpec} (sliding window, soft-cap, sinks, ALiBi) in random combinations,
 * with causal masking, masks, GQA/MQA, split-KV decoding, 1 to 3 threads and bf16 storage, against
 * {@link ReferenceAttention} within {@link ErrorBound} (outputs and log-sum-exps); and the invariants that
 * need no oracle.
 */
class VariantTest {

  /** The largest errors per variant (a problem with several counts for each). */
  private static final Map<String, ErrorStats> STATS = new TreeMap<>();

  private static synchronized ErrorStats stats(String variant) {
    return STATS.computeIfAbsent(variant, v -> new ErrorStats("variant " + v + " vs reference"));
  }

  /** The variants a spec uses, by name ("plain" for none). */
  private static List<String> names(AttentionSpec spec) {
    List<String> names = new ArrayList<>();
    if (spec.slidingWindow() > 0) {
      names.add("sliding window");
    }
    if (spec.softcap() > 0) {
      names.add("softcap");
    }
    if (spec.sinks() != null) {
      names.add("sinks");
    }
    if (spec.alibiSlopes() != null) {
      names.add("ALiBi");
    }
    if (names.isEmpty()) {
      names.add("plain");
    }
    return names;
  }
  private static final Parallelism[] TEAMS = {Parallelism.single(), Parallelism.threads(2),
      Parallelism.threads(3)};

  /**
   * One problem with variants.
   *
   * @param window 0 for none
   * @param softcap 0 for none
   * @param sinkKind 0 none, 1 random finite, 2 random with some {@code -∞}
   * @param alibiKind 0 none, 1 the paper's slopes, 2 random slopes of either sign
   * @param team index into {@link #TEAMS}
   * @param bf16 K and V stored as bf16 {@link KvTensor}s (the reference then sees the widened values)
   */
  record Variants(Recipe recipe, int window, float softcap, int sinkKind, int alibiKind, int team, boolean bf16,
      long seed) {

    AttentionSpec spec(Problem p) {
      AttentionSpec spec = p.spec();
      SplittableRandom random = new SplittableRandom(seed);
      if (window > 0) {
        spec = spec.withSlidingWindow(window);
      }
      if (softcap > 0) {
        spec = spec.withSoftcap(softcap);
      }
      int heads = spec.queryHeads();
      if (sinkKind > 0) {
        float[] sinks = new float[heads];
        for (int h = 0; h < heads; h++) {
          boolean none = sinkKind == 2 && random.nextInt(3) == 0;
          sinks[h] = none ? Float.NEGATIVE_INFINITY : (float) (random.nextDouble() * 10 - 5);
        }
        spec = spec.withSinks(sinks);
      }
      if (alibiKind == 1) {
        spec = spec.withAlibiSlopes(AttentionSpec.alibiSlopes(heads));
      } else if (alibiKind == 2) {
        float[] slopes = new float[heads];
        for (int h = 0; h < heads; h++) {
          slopes[h] = (float) (random.nextDouble() - 0.5);
        }
        spec = spec.withAlibiSlopes(slopes);
      }
      return spec;
    }
  }

  @Provide
  Arbitrary<Variants> variants() {
    Arbitrary<Integer> windows = Arbitraries.frequencyOf(
        Tuple.of(1, Arbitraries.just(0)),
        Tuple.of(1, Arbitraries.integers().between(1, 8)),
        Tuple.of(2, Arbitraries.integers().between(1, 500)));
    Arbitrary<Float> caps = Arbitraries.frequencyOf(
        Tuple.of(1, Arbitraries.just(0f)),
        Tuple.of(2, Arbitraries.floats().between(0.5f, 60f)));
    return Combinators.combine(Problems.recipes(), windows, caps, Arbitraries.integers().between(0, 2),
        Arbitraries.integers().between(0, 2), Arbitraries.integers().between(0, 2), Arbitraries.of(false, true),
        Arbitraries.longs()).as(Variants::new);
  }

  /** The problem of a recipe, with bf16-rounded K and V when asked (so that the reference sees those). */
  private static Problem problem(Variants x) {
    Problem p = x.recipe().build();
    Problem q = p.with(x.spec(p), x.bf16() ? bf16Rounded(p.k()) : p.k(), x.bf16() ? bf16Rounded(p.v()) : p.v(),
        p.mask(), "variants " + x);
    return q;
  }

  private static float[] bf16Rounded(float[] a) {
    float[] r = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      r[i] = Float.isNaN(a[i]) ? a[i] : Float.intBitsToFloat(bf16(a[i]) << 16);
    }
    return r;
  }

  /** The bf16 bits of {@code x} (truncation: x is already a bf16 value when this is used to store). */
  private static short bf16(float x) {
    return (short) (Float.floatToRawIntBits(x) >>> 16);
  }

  private static KvTensor bf16Tensor(float[] a, int tokens, AttentionSpec spec) {
    int n = tokens * spec.kvHeads() * spec.headDim();
    short[] bits = new short[n];
    for (int i = 0; i < n; i++) {
      bits[i] = bf16(a[i]);
    }
    return KvTensor.bf16(bits, tokens, spec.kvHeads(), spec.headDim());
  }

  /** Runs the log-sum-exp overload on the variant's storage and threads; returns {out, lse}. */
  private static float[][] run(AttentionKernel kernel, Problem p, Variants x) {
    float[] out = p.newOut();
    float[] lse = new float[p.qLen() * p.spec().queryHeads()];
    Parallelism team = TEAMS[x.team()];
    if (x.bf16()) {
      kernel.attend(p.spec(), p.qLen(), p.kvLen(), p.q(), bf16Tensor(p.k(), p.kvLen(), p.spec()),
          bf16Tensor(p.v(), p.kvLen(), p.spec()), p.mask(), out, lse, team);
    } else {
      kernel.attend(p.spec(), p.qLen(), p.kvLen(), p.q(), p.k(), p.v(), p.mask(), out, lse, team);
    }
    return new float[][] {out, lse};
  }

  private static void check(AttentionKernel kernel, Variants x) {
    Problem p = problem(x);
    ReferenceAttention.Result ref = p.reference();
    float[][] result = run(kernel, p, x);
    for (String variant : names(p.spec())) {
      Agreement.assertWithinBound(kernel.name(), p, result[0], ref, stats(variant));
    }
    assertLseWithinBound(kernel.name(), p, result[1], ref);
  }

  static void assertLseWithinBound(String backend, Problem p, float[] lse, ReferenceAttention.Result ref) {
    int heads = p.spec().queryHeads();
    for (int i = 0; i < p.qLen(); i++) {
      for (int h = 0; h < heads; h++) {
        double expected = ref.lse()[i * heads + h];
        float actual = lse[i * heads + h];
        ReferenceAttention.Row row = ref.row(i, h);
        if (row.visibleKeys() == 0) {
          // No key: the sink's logit (as a float) or -∞, exactly.
          if (actual != (float) expected) {
            throw new AssertionError(backend + ": lse of row i=" + i + " h=" + h + " sees no key: expected "
                + (float) expected + ", got " + actual + "; " + p);
          }
          continue;
        }
        double tolerance = ErrorBound.lseVsReference(p.spec(), row, expected);
        if (!(Math.abs(actual - expected) <= tolerance)) {
          throw new AssertionError(String.format("%s: lse[i=%d][h=%d] = %s, reference %s, |error| %.3e >"
              + " tolerance %.3e; %s", backend, i, h, actual, expected, Math.abs(actual - expected), tolerance, p));
        }
      }
    }
  }

  @Property
  @Tag("species")
  void vectorMatchesReference(@ForAll("variants") Variants x) {
    check(AttentionKernel.vector(), x);
  }

  @Property
  void scalarMatchesReference(@ForAll("variants") Variants x) {
    check(AttentionKernel.scalar(), x);
  }

  /**
   * No oracle: a window covering every position is no window, a sink of {@code -∞} everywhere is no sink
   * (both bit for bit); ALiBi with all slopes 0 and a soft-cap of 1e8 are plain attention within the bound.
   */
  @Property
  @Tag("species")
  void neutralVariantsChangeNothing(@ForAll("variants") Variants x) {
    AttentionKernel kernel = AttentionKernel.vector();
    Problem p = problem(x);
    AttentionSpec spec = p.spec();
    float[][] base = run(kernel, p, x);
    int size = p.outSize();
    if (spec.slidingWindow() == 0) {
      Problem wide = p.with(spec.withSlidingWindow(p.qLen() + p.kvLen()), p.k(), p.v(), p.mask(),
          "wide window");
      Agreement.assertIdentical("window >= qLen + kvLen", base[0], run(kernel, wide, x)[0], size, wide);
    }
    if (spec.sinks() == null) {
      float[] none = new float[spec.queryHeads()];
      Arrays.fill(none, Float.NEGATIVE_INFINITY);
      Problem sunk = p.with(spec.withSinks(none), p.k(), p.v(), p.mask(), "sinks of -Infinity");
      Agreement.assertIdentical("sinks of -Infinity", base[0], run(kernel, sunk, x)[0], size, sunk);
    }
    if (spec.alibiSlopes() == null && spec.softcap() == 0) {
      ReferenceAttention.Result plain = p.reference();
      Problem zero = p.with(spec.withAlibiSlopes(new float[spec.queryHeads()]), p.k(), p.v(), p.mask(),
          "zero slopes");
      Agreement.assertWithinBound("zero ALiBi slopes", zero, run(kernel, zero, x)[0], plain, null);
      Problem capped = p.with(spec.withSoftcap(1e8f), p.k(), p.v(), p.mask(), "softcap 1e8");
      Agreement.assertWithinBound("softcap 1e8", capped, run(kernel, capped, x)[0], plain, null);
    }
  }

  /**
   * Splitting the keys into two random disjoint sets (by masks, so positions stay), running each with its
   * log-sum-exp and merging gives the unsplit result: within the sum of the parts' bounds, weighted, plus
   * what their log-sum-exp errors do to the weights. Sinks go with the first part only.
   */
  @Property
  @Tag("species")
  void mergingSplitKeysGivesTheWhole(@ForAll("variants") Variants x) {
    AttentionKernel kernel = AttentionKernel.vector();
    Problem p = problem(x);
    AttentionSpec spec = p.spec();
    AttentionSpec noSinks = withoutSinks(spec);
    SplittableRandom random = new SplittableRandom(x.seed() ^ 0x5DEECE66DL);
    int qLen = p.qLen();
    int kvLen = p.kvLen();
    float[] maskA = new float[qLen * kvLen];
    float[] maskB = new float[qLen * kvLen];
    boolean[] inA = new boolean[kvLen];
    for (int j = 0; j < kvLen; j++) {
      inA[j] = random.nextBoolean();
    }
    for (int i = 0; i < qLen; i++) {
      for (int j = 0; j < kvLen; j++) {
        float m = p.mask() == null ? 0f : p.mask()[i * kvLen + j];
        maskA[i * kvLen + j] = inA[j] ? m : Float.NEGATIVE_INFINITY;
        maskB[i * kvLen + j] = inA[j] ? Float.NEGATIVE_INFINITY : m;
      }
    }
    Problem a = p.with(spec, p.k(), p.v(), maskA, "part A");
    Problem b = p.with(noSinks, p.k(), p.v(), maskB, "part B");
    float[][] ra = run(kernel, a, x);
    float[][] rb = run(kernel, b, x);
    int heads = spec.queryHeads();
    int dim = spec.headDim();
    int rows = qLen * heads;
    float[] out = new float[rows * dim];
    float[] lse = new float[rows];
    LogSumExp.merge(rows, dim, new float[][] {ra[0], rb[0]}, new float[][] {ra[1], rb[1]}, out, lse);
    assertMergedWithinBound(p, a, b, out);
  }

  /**
   * {@code merged} (of parts {@code a} and {@code b} over disjoint keys of {@code whole}) is within the sum of
   * the parts' bounds, weighted by their exact shares {@code e^(lse_k)/Σ}, plus what their log-sum-exp errors
   * ({@code ≤ Λ}) do to the shares, {@code 2·expm1(2Λ)·A_d}, plus the merge's one rounding to float
   * ({@code u·A_d}; it computes in double).
   */
  static void assertMergedWithinBound(Problem whole, Problem a, Problem b, float[] merged) {
    AttentionSpec spec = whole.spec();
    int heads = spec.queryHeads();
    int dim = spec.headDim();
    int rows = whole.qLen() * heads;
    ReferenceAttention.Result all = whole.reference();
    ReferenceAttention.Result refA = a.reference();
    ReferenceAttention.Result refB = b.reference();
    for (int r = 0; r < rows; r++) {
      int i = r / heads;
      int h = r % heads;
      ReferenceAttention.Row row = all.row(i, h);
      if (row.visibleKeys() == 0) {
        for (int d = 0; d < dim; d++) {
          assertEquals(0f, merged[r * dim + d], "row without keys");
        }
        continue;
      }
      double la = refA.lse()[r];
      double lb = refB.lse()[r];
      double top = Math.max(la, lb);
      double wa = Math.exp(la - top);
      double wb = Math.exp(lb - top);
      double sa = wa / (wa + wb);
      double sb = wb / (wa + wb);
      double lseError = Math.max(partLse(a.spec(), refA, i, h, la), partLse(b.spec(), refB, i, h, lb));
      for (int d = 0; d < dim; d++) {
        double tolerance = sa * part(a.spec(), refA, i, h, d) + sb * part(b.spec(), refB, i, h, d)
            + (2 * Math.expm1(2 * lseError) + 0x1p-24) * row.valueMagnitude()[d] + Float.MIN_NORMAL;
        double error = Math.abs(merged[r * dim + d] - all.out()[r * dim + d]);
        if (!(error <= tolerance * (1 + 0x1p-30))) {
          throw new AssertionError(String.format("merged out[r=%d][d=%d] = %s, whole %s, |error| %.3e >"
              + " tolerance %.3e; %s", r, d, merged[r * dim + d], all.out()[r * dim + d], error, tolerance,
              whole));
        }
      }
    }
  }

  private static double part(AttentionSpec spec, ReferenceAttention.Result ref, int i, int h, int d) {
    ReferenceAttention.Row row = ref.row(i, h);
    return row.visibleKeys() == 0 ? 0 : ErrorBound.kernelVsReference(spec, row, d);
  }

  private static double partLse(AttentionSpec spec, ReferenceAttention.Result ref, int i, int h, double lse) {
    ReferenceAttention.Row row = ref.row(i, h);
    return row.visibleKeys() == 0 ? 0 : ErrorBound.lseVsReference(spec, row, lse);
  }

  private static AttentionSpec withoutSinks(AttentionSpec spec) {
    AttentionSpec plain = AttentionSpec.of(spec.queryHeads(), spec.kvHeads(), spec.headDim())
        .withCausal(spec.causal()).withScale(spec.scale());
    if (spec.slidingWindow() > 0) {
      plain = plain.withSlidingWindow(spec.slidingWindow());
    }
    if (spec.softcap() > 0) {
      plain = plain.withSoftcap(spec.softcap());
    }
    if (spec.alibiSlopes() != null) {
      plain = plain.withAlibiSlopes(spec.alibiSlopes());
    }
    return plain;
  }

  /** Every thread count gives the same bits, outputs and log-sum-exps, with every variant. */
  @Property
  @Tag("species")
  void threadCountsAgreeBitwise(@ForAll("variants") Variants x) {
    AttentionKernel kernel = AttentionKernel.vector();
    Problem p = problem(x);
    float[][] one = run(kernel, p, new Variants(x.recipe(), x.window(), x.softcap(), x.sinkKind(), x.alibiKind(),
        0, x.bf16(), x.seed()));
    for (int t = 1; t < TEAMS.length; t++) {
      float[][] many = run(kernel, p, new Variants(x.recipe(), x.window(), x.softcap(), x.sinkKind(),
          x.alibiKind(), t, x.bf16(), x.seed()));
      Agreement.assertIdentical("threads " + (t + 1) + " vs 1", one[0], many[0], p.outSize(), p);
      Agreement.assertIdentical("lse, threads " + (t + 1) + " vs 1", one[1], many[1], one[1].length, p);
    }
  }

  @AfterContainer
  static synchronized void report() {
    STATS.values().forEach(ErrorStats::printAndReset);
  }
}
