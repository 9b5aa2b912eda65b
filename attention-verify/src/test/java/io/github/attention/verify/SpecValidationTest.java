package io.github.attention.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.kernel.AttentionSpec;
import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.function.Executable;

/**
 * {@link AttentionSpec} rejects every invalid field with an IllegalArgumentException naming the field and
 * quoting the rejected value, and keeps valid ones as given.
 */
class SpecValidationTest {

  @Property
  void queryHeadsMustBePositive(@ForAll @IntRange(min = Integer.MIN_VALUE, max = 0) int queryHeads,
      @ForAll @IntRange(min = 1, max = AttentionSpec.MAX_HEAD_DIM) int headDim) {
    assertRejected("queryHeads", String.valueOf(queryHeads), () -> AttentionSpec.of(queryHeads, 1, headDim));
  }

  @Property
  void kvHeadsMustBePositive(@ForAll @IntRange(min = 1, max = 64) int queryHeads,
      @ForAll @IntRange(min = Integer.MIN_VALUE, max = 0) int kvHeads) {
    assertRejected("kvHeads", String.valueOf(kvHeads), () -> AttentionSpec.of(queryHeads, kvHeads, 64));
  }

  @Provide
  Arbitrary<int[]> nonDividing() {
    // queryHeads = kvHeads·m + r with 0 < r < kvHeads: never a multiple.
    return Arbitraries.integers().between(2, 64).flatMap(kvHeads -> Combinators.combine(
            Arbitraries.integers().between(0, 16), Arbitraries.integers().between(1, kvHeads - 1))
        .as((m, r) -> new int[] {kvHeads * m + r, kvHeads}));
  }

  @Property
  void kvHeadsMustDivideQueryHeads(@ForAll("nonDividing") int[] heads) {
    assertRejected("kvHeads", String.valueOf(heads[1]), () -> AttentionSpec.of(heads[0], heads[1], 64));
  }

  @Provide
  Arbitrary<Integer> badHeadDims() {
    return Arbitraries.oneOf(Arbitraries.integers().lessOrEqual(0),
        Arbitraries.integers().greaterOrEqual(AttentionSpec.MAX_HEAD_DIM + 1),
        Arbitraries.of(0, AttentionSpec.MAX_HEAD_DIM + 1));
  }

  @Property
  void headDimMustBeInRange(@ForAll("badHeadDims") int headDim) {
    assertRejected("headDim", String.valueOf(headDim), () -> AttentionSpec.of(4, 2, headDim));
  }

  @Provide
  Arbitrary<Float> badScales() {
    return Arbitraries.oneOf(Arbitraries.floats().lessOrEqual(0f),
        Arbitraries.of(0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
            -Float.MIN_VALUE));
  }

  @Property
  void scaleMustBeFiniteAndPositive(@ForAll("badScales") float scale) {
    assertRejected("scale", String.valueOf(scale), () -> AttentionSpec.of(8, 2, 64).withScale(scale));
  }

  @Provide
  Arbitrary<AttentionSpec> validSpecs() {
    return Arbitraries.integers().between(1, 64).flatMap(queryHeads -> Combinators.combine(
            Arbitraries.of(Problems.divisors(queryHeads)),
            Arbitraries.integers().between(1, AttentionSpec.MAX_HEAD_DIM),
            Arbitraries.of(false, true),
            // Every positive finite float, subnormals included, by its bit pattern.
            Arbitraries.integers().between(1, 0x7f7f_ffff).map(Float::intBitsToFloat))
        .as((kvHeads, headDim, causal, scale) ->
            AttentionSpec.of(queryHeads, kvHeads, headDim).withCausal(causal).withScale(scale)));
  }

  /** Valid specs keep their fields; groups and KV heads follow h / (queryHeads / kvHeads). */
  @Property
  void validSpecsKeepTheirFields(@ForAll("validSpecs") AttentionSpec spec) {
    AttentionSpec rebuilt = AttentionSpec.of(spec.queryHeads(), spec.kvHeads(), spec.headDim());
    assertEquals(AttentionSpec.defaultScale(spec.headDim()), rebuilt.scale());
    assertEquals((float) (1 / Math.sqrt(spec.headDim())), AttentionSpec.defaultScale(spec.headDim()));
    assertEquals(false, rebuilt.causal());
    assertEquals(spec, rebuilt.withCausal(spec.causal()).withScale(spec.scale()));
    assertEquals(spec.queryHeads() / spec.kvHeads(), spec.groupSize());
    for (int h = 0; h < spec.queryHeads(); h++) {
      assertEquals(h / spec.groupSize(), spec.kvHeadOf(h));
    }
    assertThrows(IndexOutOfBoundsException.class, () -> spec.kvHeadOf(spec.queryHeads()));
    assertThrows(IndexOutOfBoundsException.class, () -> spec.kvHeadOf(-1));
  }

  private static void assertRejected(String field, String value, Executable construction) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, construction);
    String message = String.valueOf(e.getMessage());
    assertTrue(InvalidArgumentTest.containsWord(message, field),
        () -> "does not name " + field + ": " + message);
    assertTrue(Pattern.compile("(?<![0-9.])" + Pattern.quote(value) + "(?![0-9])").matcher(message).find(),
        () -> "does not quote " + value + ": " + message);
  }
}
