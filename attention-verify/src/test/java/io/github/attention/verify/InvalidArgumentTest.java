package io.github.attention.verify;

import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.verify.Problems.Recipe;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Every invalid call to {@link AttentionKernel#attend} throws the documented exception, with a message
 * naming the offending argument (and no other array argument), containing the expected and actual sizes
 * where sizes are at fault, and leaves {@code out} and every input untouched.
 */
class InvalidArgumentTest {

  private static final List<String> ARRAY_ARGUMENTS = List.of("spec", "q", "k", "v", "mask", "out");

  /** One way to break a valid call. */
  enum Fault {
    NULL_SPEC, NULL_Q, NULL_K, NULL_V, NULL_OUT,
    Q_LEN_ZERO, Q_LEN_NEGATIVE, KV_LEN_ZERO, KV_LEN_NEGATIVE,
    Q_SHORT, K_SHORT, V_SHORT, MASK_SHORT, OUT_SHORT,
    OUT_IS_Q, OUT_IS_K, OUT_IS_V, OUT_IS_MASK,
    Q_SIZE_OVERFLOWS, KV_SIZE_OVERFLOWS, MASK_SIZE_OVERFLOWS
  }

  /** A call's arguments, mutable so that a {@link Fault} can break one. */
  private static final class Call {
    AttentionSpec spec;
    int qLen;
    int kvLen;
    float[] q;
    float[] k;
    float[] v;
    float[] mask;
    float[] out;

    void run(AttentionKernel kernel) {
      kernel.attend(spec, qLen, kvLen, q, k, v, mask, out);
    }
  }

  @Provide
  Arbitrary<Recipe> problems() {
    return Problems.recipes();
  }

  @Provide
  Arbitrary<AttentionKernel> kernels() {
    return Arbitraries.of(AttentionKernel.scalar(), AttentionKernel.vector());
  }

  /**
   * Shrunk counterexample of {@link #invalidCallsThrowAndTouchNothing} (a test bug): a 1×1×1 problem's
   * q is too short for the replacement spec that lets kvLen·kvHeads·headDim overflow, so the kernel named q.
   */
  @Example
  void kvSizeOverflowOnTheSmallestProblem() {
    Recipe recipe = new Recipe(new Problems.Shape(1, 1, 1, 1, 1, false, 1f),
        new Problems.Content(Problems.MaskKind.NONE, 0f, 0.05, 1e-40, Problems.ValueKind.SYMMETRIC, 1e-30, 0,
            0));
    for (AttentionKernel kernel : List.of(AttentionKernel.scalar(), AttentionKernel.vector())) {
      invalidCallsThrowAndTouchNothing(recipe, Fault.KV_SIZE_OVERFLOWS, kernel, -1, 0.0);
    }
  }

  @Property
  void invalidCallsThrowAndTouchNothing(@ForAll("problems") Recipe recipe, @ForAll Fault fault,
      @ForAll("kernels") AttentionKernel kernel, @ForAll("negatives") int negative,
      @ForAll("overflowFactors") double overflowFactor) {
    Problem p = recipe.build();
    Call call = new Call();
    call.spec = p.spec();
    call.qLen = p.qLen();
    call.kvLen = p.kvLen();
    call.q = p.q();
    call.k = p.k();
    call.v = p.v();
    call.mask = p.mask() != null ? p.mask() : Problems.fill(p.qLen() * p.kvLen(), 0, () -> 0f);
    call.out = p.newOut();
    for (int x = 0; x < p.outSize(); x++) {
      call.out[x] = x * 0.25f - 7; // a sentinel pattern
    }
    int heads = p.spec().queryHeads();
    int dim = p.spec().headDim();
    int qSize = p.qLen() * heads * dim;
    int kvSize = p.kvLen() * p.spec().kvHeads() * dim;
    int maskSize = p.qLen() * p.kvLen();

    Expected expected = switch (fault) {
      case NULL_SPEC -> nullArgument("spec", () -> call.spec = null);
      case NULL_Q -> nullArgument("q", () -> call.q = null);
      case NULL_K -> nullArgument("k", () -> call.k = null);
      case NULL_V -> nullArgument("v", () -> call.v = null);
      case NULL_OUT -> nullArgument("out", () -> call.out = null);
      case Q_LEN_ZERO -> badLength("qLen", 0, () -> call.qLen = 0);
      case Q_LEN_NEGATIVE -> badLength("qLen", negative, () -> call.qLen = negative);
      case KV_LEN_ZERO -> badLength("kvLen", 0, () -> call.kvLen = 0);
      case KV_LEN_NEGATIVE -> badLength("kvLen", negative, () -> call.kvLen = negative);
      case Q_SHORT -> tooShort("q", qSize, () -> call.q = Arrays.copyOf(call.q, qSize - 1));
      case K_SHORT -> tooShort("k", kvSize, () -> call.k = Arrays.copyOf(call.k, kvSize - 1));
      case V_SHORT -> tooShort("v", kvSize, () -> call.v = Arrays.copyOf(call.v, kvSize - 1));
      case MASK_SHORT -> tooShort("mask", maskSize, () -> call.mask = Arrays.copyOf(call.mask, maskSize - 1));
      case OUT_SHORT -> tooShort("out", qSize, () -> call.out = Arrays.copyOf(call.out, qSize - 1));
      case OUT_IS_Q -> sameArray("q", () -> call.out = call.q);
      case OUT_IS_K -> sameArray("k",
          () -> call.out = call.k = Arrays.copyOf(call.k, Math.max(kvSize, qSize)));
      case OUT_IS_V -> sameArray("v",
          () -> call.out = call.v = Arrays.copyOf(call.v, Math.max(kvSize, qSize)));
      case OUT_IS_MASK -> sameArray("mask",
          () -> call.out = call.mask = Arrays.copyOf(call.mask, Math.max(maskSize, qSize)));
      case Q_SIZE_OVERFLOWS -> {
        // qLen·queryHeads·headDim beyond Integer.MAX_VALUE (headDim 2 lets a 1×1 spec overflow too).
        AttentionSpec spec = heads * dim > 1 ? p.spec() : AttentionSpec.of(1, 1, 2);
        int qLen = overflowing(spec.queryHeads() * spec.headDim(), overflowFactor);
        yield overflow("q", (long) qLen * spec.queryHeads() * spec.headDim(), () -> {
          call.spec = spec;
          call.qLen = qLen;
        });
      }
      case KV_SIZE_OVERFLOWS -> {
        AttentionSpec spec = p.spec().kvHeads() * dim > 1 ? p.spec() : AttentionSpec.of(1, 1, 2);
        int kvLen = overflowing(spec.kvHeads() * spec.headDim(), overflowFactor);
        boolean sameSpec = spec == p.spec();
        yield overflow("k", (long) kvLen * spec.kvHeads() * spec.headDim(), () -> {
          call.spec = spec;
          call.kvLen = kvLen;
          if (!sameSpec) {
            // Keep q and out valid under the replacement spec (a 1×1×1 problem's are too short for it): only
            // k may overflow.
            call.qLen = 1;
            call.q = Arrays.copyOf(call.q, spec.queryHeads() * spec.headDim());
            call.out = Arrays.copyOf(call.out, spec.queryHeads() * spec.headDim());
          }
        });
      }
      case MASK_SIZE_OVERFLOWS -> {
        // q, k and v are fine (one head of width 1), only qLen·kvLen overflows.
        int length = 46_341; // 46341² > Integer.MAX_VALUE
        yield overflow("mask", (long) length * length, () -> {
          call.spec = AttentionSpec.of(1, 1, 1);
          call.qLen = length;
          call.kvLen = length;
          call.q = new float[length];
          call.k = new float[length];
          call.v = new float[length];
          call.out = new float[length];
        });
      }
    };
    expected.breakCall().run();
    float[][] before = snapshot(call);
    Exception thrown = assertThrows(expected.type(), () -> call.run(kernel), fault + " on " + kernel.name());
    String message = String.valueOf(thrown.getMessage());
    for (String name : ARRAY_ARGUMENTS) {
      boolean named = containsWord(message, name);
      if (named != expected.names().contains(name)) {
        throw new AssertionError(fault + ": message " + (named ? "names " : "does not name ") + name + ": "
            + message);
      }
    }
    if (expected.names().isEmpty() && !containsWord(message, expected.argument())) {
      throw new AssertionError(fault + ": message does not name " + expected.argument() + ": " + message);
    }
    for (long number : expected.numbers()) {
      if (!Pattern.compile("(?<![0-9])" + number + "(?![0-9])").matcher(message).find()) {
        throw new AssertionError(fault + ": message lacks the number " + number + ": " + message);
      }
    }
    float[][] after = snapshot(call);
    for (int x = 0; x < before.length; x++) {
      if (!Arrays.equals(before[x], after[x])) {
        throw new AssertionError(fault + ": " + kernel.name() + " modified "
            + List.of("q", "k", "v", "mask", "out").get(x) + " before throwing: " + message);
      }
    }
  }

  @Provide
  Arbitrary<Integer> negatives() {
    return Arbitraries.integers().lessOrEqual(-1);
  }

  /** Where between "just overflowing" (0) and Integer.MAX_VALUE (1) an overflowing length lies. */
  @Provide
  Arbitrary<Double> overflowFactors() {
    return Arbitraries.doubles().between(0, 1);
  }

  /** A length in {@code [MAX / perRow + 1, MAX]}, whose product with {@code perRow >= 2} overflows an int. */
  private static int overflowing(int perRow, double factor) {
    long low = Integer.MAX_VALUE / perRow + 1;
    return (int) Math.min(Integer.MAX_VALUE, low + (long) (factor * (Integer.MAX_VALUE - low)));
  }

  /** What a broken call must throw: type, named array arguments (or the named length), numbers. */
  private record Expected(Class<? extends Exception> type, Runnable breakCall, String argument,
      List<String> names, List<Long> numbers) {}

  private static Expected nullArgument(String name, Runnable breakCall) {
    return new Expected(NullPointerException.class, breakCall, name, List.of(name), List.of());
  }

  private static Expected badLength(String name, int value, Runnable breakCall) {
    return new Expected(IllegalArgumentException.class, breakCall, name, List.of(), List.of((long) value));
  }

  private static Expected tooShort(String name, int size, Runnable breakCall) {
    return new Expected(IllegalArgumentException.class, breakCall, name, List.of(name),
        List.of((long) size, (long) size - 1));
  }

  private static Expected sameArray(String name, Runnable breakCall) {
    return new Expected(IllegalArgumentException.class, breakCall, name, List.of("out", name), List.of());
  }

  private static Expected overflow(String name, long size, Runnable breakCall) {
    return new Expected(IllegalArgumentException.class, breakCall, name, List.of(name), List.of(size));
  }

  private static float[][] snapshot(Call call) {
    float[][] arrays = {call.q, call.k, call.v, call.mask, call.out};
    float[][] copies = new float[arrays.length][];
    for (int x = 0; x < arrays.length; x++) {
      copies[x] = arrays[x] == null ? null : arrays[x].clone();
    }
    return copies;
  }

  /** Whether {@code word} occurs in {@code text}, not inside a longer identifier ("q" is not in "qLen"). */
  static boolean containsWord(String text, String word) {
    return Pattern.compile("(?<![A-Za-z0-9_])" + Pattern.quote(word) + "(?![A-Za-z0-9_])").matcher(text)
        .find();
  }
}
