package io.github.attention.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.verify.ErrorBound.Precision;
import io.github.attention.verify.Problems.Content;
import io.github.attention.verify.Problems.MaskKind;
import io.github.attention.verify.Problems.Recipe;
import io.github.attention.verify.Problems.Shape;
import io.github.attention.verify.Problems.ValueKind;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Hand-picked cases outside or at the edge of what the properties generate. */
class ExampleTest {

  private static final ErrorStats STATS = new ErrorStats("examples vs reference");

  private static List<AttentionKernel> kernels() {
    return List.of(AttentionKernel.scalar(), AttentionKernel.vector());
  }

  private static Recipe recipe(int queryHeads, int kvHeads, int headDim, int qLen, int kvLen, boolean causal,
      MaskKind mask, double scoreTarget, long seed) {
    return new Recipe(
        new Shape(queryHeads, kvHeads, headDim, qLen, kvLen, causal, AttentionSpec.defaultScale(headDim)),
        new Content(mask, 1f, 0.2, scoreTarget, ValueKind.SYMMETRIC, 1.0, 3, seed));
  }

  /** Head widths beyond the properties' 256, up to MAX_HEAD_DIM, over two key blocks. */
  @Test
  void wideHeads() {
    for (int headDim : new int[] {512, AttentionSpec.MAX_HEAD_DIM}) {
      Problem p = recipe(4, 2, headDim, 5, 130, true, MaskKind.NEG_INF, 1.0, headDim).build();
      for (AttentionKernel kernel : kernels()) {
        Agreement.assertMatchesReference(kernel, p, STATS);
      }
    }
  }

  /**
   * With a single visible key every row is that key's value row, exactly: its weight is exp(0) = 1, the
   * sum is 1, the accumulator is 0·0 + 1·v and v / 1 = v. Causal rows before the key see nothing.
   */
  @Test
  void singleKeyReturnsItsValueRow() {
    for (boolean causal : new boolean[] {false, true}) {
      Problem p = recipe(4, 2, 37, 4, 1, causal, MaskKind.FINITE, 10.0, 7).build();
      for (AttentionKernel kernel : kernels()) {
        float[] out = p.run(kernel);
        for (int i = 0; i < p.qLen(); i++) {
          for (int h = 0; h < 4; h++) {
            boolean sees = !causal || i == p.qLen() - 1;
            for (int d = 0; d < 37; d++) {
              float expected = sees ? p.v()[p.spec().kvHeadOf(h) * 37 + d] : 0f;
              assertEquals(expected, out[(i * 4 + h) * 37 + d],
                  kernel.name() + " i=" + i + " h=" + h + " d=" + d);
            }
          }
        }
      }
    }
  }

  /** One query token over a long KV cache with grouped heads; causal changes nothing when qLen is 1. */
  @Test
  void decodeWithGroupedQueryHeads() {
    Problem causal = recipe(8, 2, 64, 1, 300, true, MaskKind.NONE, 10.0, 11).build();
    Problem open = causal.with(causal.spec().withCausal(false), causal.k(), causal.v(), null, "not causal");
    for (AttentionKernel kernel : kernels()) {
      Agreement.assertMatchesReference(kernel, causal, STATS);
      Agreement.assertMatchesReference(kernel, open, STATS);
    }
    AttentionKernel scalar = AttentionKernel.scalar();
    Agreement.assertIdentical("scalar decode, causal vs not", causal.run(scalar), open.run(scalar),
        causal.outSize(), causal);
  }

  /**
   * Rows that see no key (a mask row of -Infinity; causal rows before the first key when qLen > kvLen)
   * are exactly zero, even though the value rows hold NaN and 1e30: the contract says zeros, never NaN.
   */
  @Test
  void rowsWithoutVisibleKeysAreExactlyZero() {
    int qLen = 5;
    int kvLen = 3;
    Problem base = recipe(2, 1, 9, qLen, kvLen, true, MaskKind.NONE, 1.0, 3).build();
    float[] v = base.v().clone();
    v[4] = Float.NaN;
    v[9 + 2] = 1e30f;
    float[] mask = Problems.fill(qLen * kvLen, 0, () -> 0f);
    for (int j = 0; j < kvLen; j++) {
      mask[3 * kvLen + j] = Float.NEGATIVE_INFINITY; // row 3 is fully masked
    }
    Problem p = base.with(base.spec(), base.k(), v, mask, "NaN and 1e30 in V, mask row 3 all -Infinity");
    for (AttentionKernel kernel : kernels()) {
      float[] out = p.run(kernel);
      for (int i : new int[] {0, 1, 3}) { // rows 0, 1 precede the first key (kvLen - qLen = -2)
        for (int x = i * 18; x < (i + 1) * 18; x++) {
          assertEquals(0f, out[x], kernel.name() + ": row " + i + " sees no key, index " + x);
        }
      }
    }
  }

  /**
   * Scores of ±1e4 (and masks of ±1e3 on top) stay finite and within the bound. Near-ties at the top
   * (1e4, 1e4 − 1, 1e4 − 3) keep the softmax from being one-hot.
   */
  @Test
  void extremeScoresStayFinite() {
    int dim = 4;
    AttentionSpec spec = AttentionSpec.of(2, 1, dim).withScale(1f);
    float[] keys = {100f, 99.99f, 99.97f, -100f, 50f, 0f};
    int kvLen = keys.length;
    float[] q = {100, 0, 0, 0, -100, 0, 0, 0, /* row 1 */ 100, 0.5f, 0, 0, -100, 0, 3, 0};
    float[] k = new float[kvLen * dim];
    float[] v = new float[kvLen * dim];
    for (int j = 0; j < kvLen; j++) {
      k[j * dim] = keys[j];
      k[j * dim + 2] = j;
      for (int d = 0; d < dim; d++) {
        v[j * dim + d] = (j + 1) * (d % 2 == 0 ? 1 : -1);
      }
    }
    float[] mask = {0, 0, 0, 0, 0, 0, /* row 1 */ 1000, -1000, 0, 1000, 0, -1000};
    Problem p = new Problem(spec, 2, kvLen, q, k, v, mask, 0, "scores of ±1e4, masks of ±1e3");
    for (AttentionKernel kernel : kernels()) {
      float[] out = Agreement.assertMatchesReference(kernel, p, STATS);
      for (float x : out) {
        assertTrue(Float.isFinite(x), kernel.name() + ": " + x);
      }
    }
  }

  /**
   * A NaN in value row j (KV head g, coordinate d) makes coordinate d of every row that sees key j, in the
   * query heads of group g, NaN; every other coordinate and head is unaffected and correct. Rows that do
   * not see key j (masked or causal) are not promised to escape: the kernels multiply masked keys' values
   * by a weight of exactly 0 and 0·NaN is NaN, as the AttentionKernel contract warns (observed: causal rows
   * before key j in the same task come out NaN too, unless they see no key at all).
   */
  @Test
  void nanInAVisibleValueRow() {
    int heads = 4;
    int dim = 8;
    for (boolean causal : new boolean[] {false, true}) {
      Problem base = recipe(heads, 2, dim, 5, 5, causal, MaskKind.NONE, 1.0, 5).build();
      int nanKey = 2;
      int nanHead = 1; // query heads 2 and 3
      int nanDim = 5;
      float[] v = base.v().clone();
      v[(nanKey * 2 + nanHead) * dim + nanDim] = Float.NaN;
      Problem p = base.with(base.spec(), base.k(), v, null, "NaN at v[2][1][5]");
      ReferenceAttention.Result ref = p.reference();
      for (AttentionKernel kernel : kernels()) {
        float[] out = p.run(kernel);
        for (int i = 0; i < p.qLen(); i++) {
          for (int h = 0; h < heads; h++) {
            for (int d = 0; d < dim; d++) {
              float x = out[(i * heads + h) * dim + d];
              String where = kernel.name() + (causal ? " causal" : "") + " i=" + i + " h=" + h + " d=" + d;
              boolean poisoned = p.spec().kvHeadOf(h) == nanHead && d == nanDim;
              if (poisoned && p.visible(i, nanKey)) {
                assertTrue(Float.isNaN(x), where + " sees the NaN but is " + x);
              } else if (!poisoned) {
                double tolerance = ErrorBound.kernelVsReference(p.spec(), ref.row(i, h), d);
                assertTrue(Math.abs(x - ref.out()[(i * heads + h) * dim + d]) <= tolerance, where + ": " + x);
              }
            }
          }
        }
      }
    }
  }

  /** The two backends agree within the sum of their float bounds on a few assorted problems. */
  @Test
  void scalarAndVectorAgree() {
    Recipe[] recipes = {
        recipe(16, 4, 80, 33, 257, true, MaskKind.NEG_INF, 10.0, 21),
        recipe(3, 3, 131, 64, 64, false, MaskKind.FINITE, 1.0, 22),
        recipe(12, 1, 128, 1, 320, false, MaskKind.NONE, 100.0, 23),
        recipe(5, 5, 17, 160, 7, true, MaskKind.MASKED_ROWS, 1.0, 24),
    };
    for (Recipe recipe : recipes) {
      Problem p = recipe.build();
      float[] scalar = p.run(AttentionKernel.scalar());
      float[] vector = p.run(AttentionKernel.vector());
      ReferenceAttention.Result stats = p.reference();
      int dim = p.spec().headDim();
      for (int i = 0; i < p.qLen(); i++) {
        for (int h = 0; h < p.spec().queryHeads(); h++) {
          ReferenceAttention.Row row = stats.row(i, h);
          for (int d = 0; d < dim; d++) {
            int x = (i * p.spec().queryHeads() + h) * dim + d;
            double bound = row.visibleKeys() == 0 ? 0
                : 2 * ErrorBound.tolerance(p.spec(), row, d, Precision.FLOAT);
            assertTrue(Math.abs(scalar[x] - vector[x]) <= bound,
                () -> "scalar " + scalar[x] + " vs vector " + vector[x] + " at " + x + "; " + p);
          }
        }
      }
    }
  }

  @AfterAll
  static void report() {
    STATS.printAndReset();
  }
}
