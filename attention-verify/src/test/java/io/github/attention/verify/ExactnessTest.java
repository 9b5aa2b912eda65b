package io.github.attention.verify;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.Blocking;
import io.github.attention.verify.ErrorBound.Precision;
import io.github.attention.verify.Problems.Recipe;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * Two rewritings of a problem that leave every output row's arithmetic the same in the scalar kernel:
 * grouped-query attention versus multi-head attention with the K/V heads repeated, and a causal row versus
 * that query alone over its visible prefix of keys.
 *
 * <p>Scalar kernel: bit-identical (up to the sign of zero, see {@link Agreement#assertIdentical}), except
 * for a causal row whose full problem computes its keys in one pass and whose lone query splits them into
 * chunks (see {@link #splitsKeys}); that case is held to twice the float bound, like the vector kernel. Each
 * row's dot products, softmax and weighted sum depend only on its q, the keys and values it reads and the
 * 64-key block boundaries, aligned at key 0 in both problems. Which rows share a task only changes the
 * order rows are processed in; the extra blocks or columns a task visits beyond a row's visible keys have
 * weight exactly 0 (the running maximum stays, its rescale factor is {@code exp(0) = 1}, and {@code 0·v}
 * adds an exact zero).
 *
 * <p>Vector kernel: within twice the row's float bound ({@link ErrorBound#tolerance}; both problems have
 * the same exact answer and the same row statistics), not bitwise. It chooses its score algorithm by the
 * number of rows in a task (a horizontal-reduction dot product for few rows, transposed keys with lanes
 * across keys otherwise), and the rewritings change that number, so the same score is summed in another
 * order. Its results also change by up to an ulp while the JIT warms up (the Vector API's EXP is a
 * Math.exp fallback before C2 compiles it to an SVML intrinsic), so even an identical call is not
 * bitwise reproducible. How often the outputs still came out identical is printed.
 */
class ExactnessTest {

  private static final ErrorStats GROUPED_STATS =
      new ErrorStats("grouped vs repeated heads, |difference| vs 2·float bound");
  private static final ErrorStats PREFIX_STATS =
      new ErrorStats("causal row vs its prefix, |difference| vs 2·float bound");
  private static final AtomicLong VECTOR_COMPARISONS = new AtomicLong();
  private static final AtomicLong VECTOR_IDENTICAL = new AtomicLong();

  @Provide
  Arbitrary<Recipe> problems() {
    return Problems.recipes();
  }

  @Property
  void scalarGroupedQueryEqualsRepeatedHeads(@ForAll("problems") Recipe recipe) {
    Problem p = recipe.build();
    AttentionKernel scalar = AttentionKernel.scalar();
    Agreement.assertIdentical("scalar: grouped vs repeated heads", p.run(scalar), repeatHeads(p).run(scalar),
        p.outSize(), p);
  }

  @Property
  @Tag("species")
  void vectorGroupedQueryMatchesRepeatedHeads(@ForAll("problems") Recipe recipe) {
    Problem p = recipe.build();
    AttentionKernel vector = AttentionKernel.vector();
    float[] grouped = p.run(vector);
    float[] repeated = repeatHeads(p).run(vector);
    ReferenceAttention.Result ref = p.reference();
    for (int i = 0; i < p.qLen(); i++) {
      assertWithinTwiceTheBound(vector, p, ref, i, grouped, i, repeated, GROUPED_STATS);
    }
    countIdentical(grouped, repeated, p.outSize());
  }

  @Property
  void scalarCausalRowEqualsPrefixAttention(@ForAll("problems") Recipe recipe) {
    Problem p = recipe.withCausal(true).build();
    AttentionKernel scalar = AttentionKernel.scalar();
    float[] full = p.run(scalar);
    ReferenceAttention.Result ref = p.reference();
    int rowSize = p.spec().queryHeads() * p.spec().headDim();
    for (int i = 0; i < p.qLen(); i++) {
      float[] row = Arrays.copyOfRange(full, i * rowSize, (i + 1) * rowSize);
      float[] prefix = prefixRow(scalar, p, i);
      int prefixLength = i + p.kvLen() - p.qLen() + 1;
      if (splitsKeys(p, p.qLen(), p.kvLen()) || !splitsKeys(p, 1, prefixLength)) {
        Agreement.assertIdentical("scalar: causal row " + i + " vs its prefix", row, prefix, rowSize, p);
      } else {
        // The lone query splits its keys into chunks merged afterwards, the full problem does not: the
        // same row is summed in another order.
        assertWithinTwiceTheBound(scalar, p, ref, i, full, 0, prefix, PREFIX_STATS);
      }
    }
  }

  /**
   * Whether the scalar kernel splits the keys of a call of {@code qLen} query rows over {@code kvLen} keys of
   * {@code p}'s heads into chunks, by the rule of {@link Blocking#splits} (the scalar backend's rows are the
   * head width, unpadded). When both calls of a comparison split,
   * with the same chunk length (256 keys up to 16384), or neither does, a row's arithmetic is the same; a
   * split call whose row sees only its first chunk also computes it as unsplit.
   */
  private static boolean splitsKeys(Problem p, int qLen, int kvLen) {
    // A row that sees no key has no prefix problem to split (and no call has zero keys).
    return kvLen >= 1 && Blocking.splits(qLen, kvLen, p.spec().queryHeads(), p.spec().headDim());
  }

  @Property
  @Tag("species")
  void vectorCausalRowMatchesPrefixAttention(@ForAll("problems") Recipe recipe) {
    Problem p = recipe.withCausal(true).build();
    AttentionKernel vector = AttentionKernel.vector();
    float[] full = p.run(vector);
    ReferenceAttention.Result ref = p.reference();
    int rowSize = p.spec().queryHeads() * p.spec().headDim();
    for (int i = 0; i < p.qLen(); i++) {
      float[] prefix = prefixRow(vector, p, i);
      assertWithinTwiceTheBound(vector, p, ref, i, full, 0, prefix, PREFIX_STATS);
      countIdentical(Arrays.copyOfRange(full, i * rowSize, (i + 1) * rowSize), prefix, rowSize);
    }
  }

  @AfterContainer
  static void report() {
    GROUPED_STATS.printAndReset();
    PREFIX_STATS.printAndReset();
    System.out.printf("[exactness] vector kernel: bit-identical (up to the sign of zero) in %d of %d"
            + " comparisons (whole outputs for grouped heads, single rows for causal prefixes)%n",
        VECTOR_IDENTICAL.getAndSet(0), VECTOR_COMPARISONS.getAndSet(0));
  }

  /** The problem with K/V heads repeated so that every query head has its own (multi-head attention). */
  static Problem repeatHeads(Problem p) {
    AttentionSpec spec = p.spec();
    int heads = spec.queryHeads();
    int dim = spec.headDim();
    AttentionSpec multiHead = AttentionSpec.of(heads, heads, dim).withCausal(spec.causal())
        .withScale(spec.scale());
    float[] k = Problems.fill(p.kvLen() * heads * dim, p.slack(), () -> 0f);
    float[] v = Problems.fill(p.kvLen() * heads * dim, p.slack(), () -> 0f);
    for (int j = 0; j < p.kvLen(); j++) {
      for (int h = 0; h < heads; h++) {
        int from = (j * spec.kvHeads() + spec.kvHeadOf(h)) * dim;
        System.arraycopy(p.k(), from, k, (j * heads + h) * dim, dim);
        System.arraycopy(p.v(), from, v, (j * heads + h) * dim, dim);
      }
    }
    return p.with(multiHead, k, v, p.mask(), "K/V heads repeated to " + heads);
  }

  /**
   * Row {@code i} of causal {@code p} computed alone: non-causal attention of its query over the first
   * {@code i + kvLen − qLen + 1} keys (mask row i cut to that prefix), or zeros when that is empty. The
   * full k and v arrays are passed: they are token-major, so the prefix is their beginning, and longer
   * arrays are allowed.
   */
  static float[] prefixRow(AttentionKernel kernel, Problem p, int i) {
    int rowSize = p.spec().queryHeads() * p.spec().headDim();
    int prefix = i + p.kvLen() - p.qLen() + 1;
    float[] out = new float[rowSize];
    if (prefix > 0) {
      float[] q = Arrays.copyOfRange(p.q(), i * rowSize, (i + 1) * rowSize);
      float[] mask = p.mask() == null ? null
          : Arrays.copyOfRange(p.mask(), i * p.kvLen(), i * p.kvLen() + prefix);
      kernel.attend(p.spec().withCausal(false), 1, prefix, q, p.k(), p.v(), mask, out);
    }
    return out;
  }

  /**
   * Row {@code i} of {@code p} as found in {@code a} (at row {@code i}) and {@code b} (at row {@code bRow})
   * differs by at most twice the float bound of that row; rows that see no key are zero in both.
   */
  private static void assertWithinTwiceTheBound(AttentionKernel kernel, Problem p,
      ReferenceAttention.Result ref, int i, float[] a, int bRow, float[] b, ErrorStats stats) {
    AttentionSpec spec = p.spec();
    int dim = spec.headDim();
    for (int h = 0; h < spec.queryHeads(); h++) {
      ReferenceAttention.Row row = ref.row(i, h);
      int atA = (i * spec.queryHeads() + h) * dim;
      int atB = (bRow * spec.queryHeads() + h) * dim;
      for (int d = 0; d < dim; d++) {
        double difference = Math.abs(a[atA + d] - b[atB + d]);
        double bound = row.visibleKeys() == 0 ? 0 : 2 * ErrorBound.tolerance(spec, row, d, Precision.FLOAT);
        boolean ok = row.visibleKeys() == 0 ? a[atA + d] == 0f && b[atB + d] == 0f : difference <= bound;
        if (!ok) {
          throw new AssertionError(String.format("%s: %s, row i=%d h=%d d=%d: %s vs %s, |difference| %.3e >"
              + " %.3e; %s", kernel.name(), stats, i, h, d, a[atA + d], b[atB + d], difference, bound, p));
        }
        if (row.visibleKeys() > 0) {
          stats.record(kernel.name(), difference, row.valueMagnitude()[d], bound,
              ErrorBound.scoreUncertainty(spec, row));
        }
      }
    }
  }

  private static void countIdentical(float[] a, float[] b, int size) {
    VECTOR_COMPARISONS.incrementAndGet();
    if (Agreement.firstDifference(a, b, size) < 0) {
      VECTOR_IDENTICAL.incrementAndGet();
    }
  }
}
