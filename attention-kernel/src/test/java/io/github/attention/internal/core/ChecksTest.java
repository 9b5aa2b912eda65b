package io.github.attention.internal.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.attention.kernel.AttentionSpec;
import org.junit.jupiter.api.Test;

/** Argument messages at the edge of what a Java array holds (the other cases are in attention-verify). */
class ChecksTest {

  private static final AttentionSpec ONE = AttentionSpec.of(1, 1, 1);

  @Test
  void aShapeOfExactlyIntegerMaxValueElementsIsTooShortNotTooLarge() {
    int rows = Integer.MAX_VALUE;
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Checks.attendArguments(ONE, rows, 1, new float[1], new float[1], new float[1], null, new float[1]));
    assertEquals("q is too short for shape [qLen=2147483647][queryHeads=1][headDim=1]: expected at least"
        + " 2147483647 elements, got 1", e.getMessage());
  }

  @Test
  void oneMoreElementThanAnArrayHoldsIsTooLarge() {
    AttentionSpec two = AttentionSpec.of(2, 1, 1);
    int rows = 1 << 30;
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Checks.attendArguments(two, rows, 1, new float[1], new float[1], new float[1], null, new float[1]));
    assertEquals("q of shape [qLen=1073741824][queryHeads=2][headDim=1] needs 2147483648 elements, more than"
        + " a Java array can hold", e.getMessage());
  }
}
