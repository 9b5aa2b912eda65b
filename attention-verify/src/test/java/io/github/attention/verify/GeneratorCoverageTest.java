package io.github.attention.verify;

import io.github.attention.verify.Problems.Shape;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/**
 * The shape generator reaches what the other properties rely on, in a useful share of tries: both ends
 * of every size range, key lengths below and far above query lengths, odd and prime head widths, grouped
 * and multi-query heads, and it never exceeds the work cap. Thresholds are a third or less of the rates
 * measured, so they do not flake at 1000 tries.
 */
class GeneratorCoverageTest {

  @Provide
  Arbitrary<Shape> shapes() {
    return Problems.shapes();
  }

  @Property
  void shapesCoverEveryRange(@ForAll("shapes") Shape s) {
    if (s.work() > Problems.MAX_WORK) {
      throw new AssertionError("work cap exceeded: " + s);
    }
    check("kvLen < qLen", s.kvLen() < s.qLen(), 10);
    check("kvLen >= 8 qLen", s.kvLen() >= 8 * s.qLen(), 10);
    check("qLen == 1", s.qLen() == 1, 3);
    check("qLen == 160", s.qLen() == Problems.MAX_Q_LEN, 1);
    check("kvLen == 1", s.kvLen() == 1, 3);
    check("kvLen == 320", s.kvLen() == Problems.MAX_KV_LEN, 1);
    check("kvLen > 128", s.kvLen() > 128, 5);
    check("queryHeads == 16", s.queryHeads() == Problems.MAX_QUERY_HEADS, 3);
    check("headDim == 1", s.headDim() == 1, 3);
    check("headDim == 256", s.headDim() == Problems.MAX_HEAD_DIM, 1);
    check("headDim > 64", s.headDim() > 64, 5);
    check("headDim odd", s.headDim() % 2 == 1, 20);
    check("headDim prime > 16", Problems.isPrime(s.headDim()) && s.headDim() > 16, 5);
    check("grouped (1 < kvHeads < queryHeads)", 1 < s.kvHeads() && s.kvHeads() < s.queryHeads(), 10);
    check("multi-query (kvHeads == 1 < queryHeads)", s.kvHeads() == 1 && s.queryHeads() > 1, 10);
    check("causal", s.causal(), 30);
    Statistics.label("work").collect(s.work() <= 1 << 12 ? "a: <= 4K" : s.work() <= 1 << 16 ? "b: <= 64K"
        : s.work() <= 1 << 18 ? "c: <= 256K" : "d: <= 1M");
  }

  /** Collects whether {@code label} holds and requires it in at least {@code minPercent} of tries. */
  private static void check(String label, boolean holds, double minPercent) {
    Statistics.label(label).collect(holds)
        .coverage(checker -> checker.check(true).percentage(p -> p >= minPercent));
  }
}
