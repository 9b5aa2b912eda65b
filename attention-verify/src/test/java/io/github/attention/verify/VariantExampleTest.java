package io.github.attention.verify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.KvTensor;
import io.github.attention.kernel.LogSumExp;
import io.github.attention.kernel.Parallelism;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The variants' options, their validation, and named cases (some found by {@link VariantTest}). */
class VariantExampleTest {

  private static final List<AttentionKernel> KERNELS = List.of(AttentionKernel.scalar(), AttentionKernel.vector());
  private static final AttentionSpec SPEC = AttentionSpec.of(4, 2, 8);

  private static void rejected(String message, Runnable construction) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, construction::run);
    assertEquals(message, e.getMessage());
  }

  @Test
  void invalidOptionsAreRejectedByName() {
    rejected("window must be at least 1, got 0", () -> SPEC.withSlidingWindow(0));
    rejected("window must be at least 1, got -3", () -> SPEC.withSlidingWindow(-3));
    rejected("softcap must be finite and positive, got 0.0", () -> SPEC.withSoftcap(0f));
    rejected("softcap must be finite and positive, got -1.0", () -> SPEC.withSoftcap(-1f));
    rejected("softcap must be finite and positive, got NaN", () -> SPEC.withSoftcap(Float.NaN));
    rejected("softcap must be finite and positive, got Infinity", () -> SPEC.withSoftcap(Float.POSITIVE_INFINITY));
    rejected("sinks must have one entry per query head: expected 4, got 3", () -> SPEC.withSinks(new float[3]));
    rejected("sinks[2] must be finite or -Infinity, got NaN", () -> SPEC.withSinks(new float[] {0, 0, Float.NaN, 0}));
    rejected("sinks[0] must be finite or -Infinity, got Infinity",
        () -> SPEC.withSinks(new float[] {Float.POSITIVE_INFINITY, 0, 0, 0}));
    rejected("slopes must have one entry per query head: expected 4, got 5",
        () -> SPEC.withAlibiSlopes(new float[5]));
    rejected("slopes[1] must be finite, got -Infinity",
        () -> SPEC.withAlibiSlopes(new float[] {0, Float.NEGATIVE_INFINITY, 0, 0}));
    rejected("heads must be at least 1, got 0", () -> AttentionSpec.alibiSlopes(0));
    rejected("softcap must have a finite reciprocal in float (at least " + Math.nextUp(1f / Float.MAX_VALUE)
        + "), got 1.0E-39", () -> SPEC.withSoftcap(1e-39f));
    assertThrows(NullPointerException.class, () -> SPEC.withSinks(null));
    assertThrows(NullPointerException.class, () -> SPEC.withAlibiSlopes(null));
  }

  @Test
  void optionsAreValuesAndTheirArraysAreCopied() {
    float[] sinks = {1, 2, 3, Float.NEGATIVE_INFINITY};
    AttentionSpec a = SPEC.withSinks(sinks).withSlidingWindow(5).withSoftcap(30f);
    sinks[0] = 99;
    assertEquals(1f, a.sinks()[0], "the spec copied the array");
    a.sinks()[1] = 99;
    assertEquals(2f, a.sinks()[1], "the accessor returns a copy");
    AttentionSpec b = SPEC.withSoftcap(30f).withSlidingWindow(5).withSinks(new float[] {1, 2, 3,
        Float.NEGATIVE_INFINITY});
    assertEquals(a, b);
    assertEquals(a.hashCode(), b.hashCode());
    assertNotEquals(a, b.withSlidingWindow(6));
    assertNotEquals(a, b.withAlibiSlopes(new float[4]));
    assertEquals(5, a.withCausal(true).withScale(0.5f).slidingWindow(), "other withers keep the variants");
    assertEquals(0, SPEC.slidingWindow());
    assertEquals(0f, SPEC.softcap());
    assertEquals(null, SPEC.sinks());
    assertEquals("AttentionSpec[queryHeads=4, kvHeads=2, headDim=8, scale=" + SPEC.scale() + ", causal=false,"
        + " slidingWindow=5, softcap=30.0, sinks=[1.0, 2.0, 3.0, -Infinity]]", a.toString());
    assertEquals("AttentionSpec[queryHeads=4, kvHeads=2, headDim=8, scale=" + SPEC.scale() + ", causal=false]",
        SPEC.toString(), "no variant, nothing added");
    assertEquals("AttentionSpec[queryHeads=4, kvHeads=2, headDim=8, scale=" + SPEC.scale() + ", causal=false,"
        + " slidingWindow=1, alibiSlopes=[0.0, 0.0, 0.0, 0.0]]",
        SPEC.withSlidingWindow(1).withAlibiSlopes(new float[4]).toString());
  }

  /** The paper's slopes: 2^(-8(h+1)/n) for n a power of two, and its interleaving rule otherwise. */
  @Test
  void alibiSlopesAreThePapers() {
    float[] eight = AttentionSpec.alibiSlopes(8);
    for (int h = 0; h < 8; h++) {
      assertEquals((float) Math.pow(2, -(h + 1)), eight[h], "head " + h + " of 8");
    }
    float[] twelve = AttentionSpec.alibiSlopes(12);
    assertArrayEquals(eight, Arrays.copyOf(twelve, 8), "the first 8 of 12 are those of 8");
    // The rest are the odd-numbered slopes of 16 heads: 2^-0.5, 2^-1.5, 2^-2.5, 2^-3.5.
    for (int k = 0; k < 4; k++) {
      assertEquals((float) Math.pow(2, -(2 * k + 1) / 2.0), twelve[8 + k], "head " + (8 + k) + " of 12");
    }
    assertArrayEquals(new float[] {(float) Math.pow(2, -8)}, AttentionSpec.alibiSlopes(1));
  }

  /** The layer's builder takes the same options, puts them in the spec it passes, and checks them in build(). */
  @Test
  void theLayerTakesTheOptions() {
    float[] wq = new float[16 * 16];
    float[] wkv = new float[8 * 16];
    io.github.attention.layer.MultiHeadAttention.Builder b = io.github.attention.layer.MultiHeadAttention.builder()
        .modelDim(16).queryHeads(4).kvHeads(2).headDim(4).causal(true).queryWeights(wq).keyWeights(wkv)
        .valueWeights(wkv).outputWeights(wq);
    float[] sinks = {0, 1, 2, 3};
    AttentionSpec spec = b.slidingWindow(7).softcap(20f).sinks(sinks).alibiSlopes(AttentionSpec.alibiSlopes(4))
        .build().spec();
    assertEquals(AttentionSpec.of(4, 2, 4).withCausal(true).withSlidingWindow(7).withSoftcap(20f).withSinks(sinks)
        .withAlibiSlopes(AttentionSpec.alibiSlopes(4)), spec);
    rejected("window must be at least 1, got 0", () -> b.slidingWindow(0).build());
    rejected("sinks must have one entry per query head: expected 4, got 2",
        () -> b.slidingWindow(3).sinks(new float[2]).build());
  }

  @Test
  void lseArgumentsAreChecked() {
    AttentionSpec spec = SPEC;
    int qLen = 3;
    int kvLen = 5;
    float[] q = new float[qLen * 4 * 8];
    float[] k = new float[kvLen * 2 * 8];
    float[] v = new float[kvLen * 2 * 8];
    float[] out = new float[q.length];
    for (AttentionKernel kernel : KERNELS) {
      float[] before = out.clone();
      rejected("lse is too short for shape [qLen=3][queryHeads=4]: expected at least 12 elements, got 11",
          () -> kernel.attend(spec, qLen, kvLen, q, k, v, null, out, new float[11], Parallelism.single()));
      rejected("lse must not be the same array as an input or out",
          () -> kernel.attend(spec, qLen, kvLen, q, k, v, null, out, out, Parallelism.single()));
      assertThrows(NullPointerException.class,
          () -> kernel.attend(spec, qLen, kvLen, q, k, v, null, out, null, Parallelism.single()));
      assertArrayEquals(before, out, "out untouched");
    }
    rejected("outs and lses must hold the same number of parts, at least 1, got 2 and 1",
        () -> LogSumExp.merge(1, 1, new float[][] {{0}, {0}}, new float[][] {{0}}, new float[1], null));
    float[] buffer = new float[4];
    rejected("lse must not be the same array as out",
        () -> LogSumExp.merge(2, 1, new float[][] {{0, 0}}, new float[][] {{0, 0}}, buffer, buffer));
    float[] lses0 = new float[2];
    rejected("out must not be lses[0]: each row's weights are read first",
        () -> LogSumExp.merge(2, 1, new float[][] {{0, 0}}, new float[][] {lses0}, lses0, null));
    rejected("lses[1] is too short: expected at least 2 elements, got 1",
        () -> LogSumExp.merge(2, 1, new float[][] {{0, 0}, {0, 0}}, new float[][] {{0, 0}, {0}}, new float[2],
            null));
  }

  /**
   * Found by {@link VariantTest} (shrunk): a sink far above every score (a mask of about -1000 against a
   * sink of 3.8) made {@code e^(sink − max)} overflow, and the log-sum-exp came out {@code +∞}. The output
   * is then (almost) zero and the log-sum-exp is the sink's.
   */
  @Test
  void aSinkFarAboveEveryScoreGivesAFiniteLogSumExp() {
    AttentionSpec spec = AttentionSpec.of(1, 1, 1).withSinks(new float[] {3.8331082f});
    float[] mask = {-999f};
    for (AttentionKernel kernel : KERNELS) {
      float[] out = new float[1];
      float[] lse = new float[1];
      kernel.attend(spec, 1, 1, new float[] {0.5f}, new float[] {0.25f}, new float[] {2f}, mask, out, lse,
          Parallelism.single());
      assertEquals(3.8331082f, lse[0], kernel.name());
      assertEquals(0f, out[0], kernel.name());
    }
  }

  /** A row that sees no key outputs zeros, with or without a sink; its log-sum-exp is the sink or -∞. */
  @Test
  void rowsWithoutKeysGiveZerosAndTheirSinkAsLogSumExp() {
    AttentionSpec spec = AttentionSpec.of(2, 1, 2).withCausal(true).withSinks(new float[] {0.5f,
        Float.NEGATIVE_INFINITY});
    // qLen 3 over kvLen 2, causal: row 0 sits at position -1 and sees nothing.
    float[] q = new float[3 * 2 * 2];
    Arrays.fill(q, 1f);
    float[] k = {1, 2, 3, 4};
    float[] v = {5, 6, 7, 8};
    for (AttentionKernel kernel : KERNELS) {
      float[] out = new float[q.length];
      float[] lse = new float[6];
      kernel.attend(spec, 3, 2, q, k, v, null, out, lse, Parallelism.single());
      assertArrayEquals(new float[4], Arrays.copyOf(out, 4), kernel.name());
      assertEquals(0.5f, lse[0], kernel.name());
      assertEquals(Float.NEGATIVE_INFINITY, lse[1], kernel.name());
    }
  }

  /**
   * Found in review: the plan cache did not compare the query-block height, which a window narrower than the
   * keys changes, so the same call gave other bits on a thread that had run a shorter one before. Each call
   * on a fresh thread, and after the other shape on the same thread, must give the same bits.
   */
  @Test
  void aWindowedCallsBitsDoNotDependOnTheCallsBeforeIt() throws Exception {
    AttentionSpec spec = AttentionSpec.of(4, 4, 64).withCausal(true).withSlidingWindow(512);
    int qLen = 200;
    SplittableRandom random = new SplittableRandom(9);
    float[] q = new float[qLen * 4 * 64];
    float[] k = new float[1000 * 4 * 64];
    float[] v = new float[k.length];
    for (float[] a : new float[][] {q, k, v}) {
      for (int i = 0; i < a.length; i++) {
        a[i] = (float) random.nextGaussian();
      }
    }
    for (AttentionKernel kernel : KERNELS) {
      float[] fresh = onNewThread(() -> {
        float[] out = new float[q.length];
        kernel.attend(spec, qLen, 1000, q, k, v, null, out);
        return out;
      });
      float[] after = onNewThread(() -> {
        float[] out = new float[q.length];
        kernel.attend(spec, qLen, 200, q, k, v, null, out);
        kernel.attend(spec, qLen, 1000, q, k, v, null, out);
        return out;
      });
      Agreement.assertIdentical(kernel.name() + ": after another kvLen", fresh, after, q.length,
          new Problem(spec, qLen, 1000, q, k, v, null, 0, "plan cache"));
    }
  }

  private static float[] onNewThread(java.util.concurrent.Callable<float[]> work) throws Exception {
    java.util.concurrent.FutureTask<float[]> task = new java.util.concurrent.FutureTask<>(work);
    Thread thread = new Thread(task);
    thread.start();
    return task.get();
  }

  /**
   * Found in review: a paged cache whose pages before the window were freed (table entries -1, as a
   * vLLM-style server may do) was refused, though the call never reads them. Only the blocks read are
   * checked; an entry inside the window that is outside the pool is still refused.
   */
  @Test
  void freedPagesBeforeTheWindowAreNotRead() {
    int kvLen = 1024;
    AttentionSpec spec = AttentionSpec.of(4, 2, 16).withCausal(true).withSlidingWindow(100);
    int blockTokens = 16;
    int blocks = kvLen / blockTokens;
    SplittableRandom random = new SplittableRandom(4);
    float[] pool = new float[blocks * blockTokens * 2 * 16];
    for (int i = 0; i < pool.length; i++) {
      pool[i] = (float) random.nextGaussian();
    }
    int[] table = new int[blocks];
    for (int b = 0; b < blocks; b++) {
      table[b] = b;
    }
    float[] q = new float[4 * 16];
    Arrays.fill(q, 0.5f);
    float[] expected = new float[q.length];
    KvTensor whole = KvTensor.paged(KvTensor.of(pool, blocks * blockTokens, 2, 16), blockTokens, table);
    AttentionKernel.vector().attend(spec, 1, kvLen, q, whole, whole, null, expected);
    // Row 0 sits at 1023 and sees 924..1023: key block 896 on, table entries 56 on.
    int firstRead = (kvLen - 100) / 64 * 64 / blockTokens;
    int[] freed = table.clone();
    Arrays.fill(freed, 0, firstRead, -1);
    KvTensor evicted = KvTensor.paged(KvTensor.of(pool, blocks * blockTokens, 2, 16), blockTokens, freed);
    for (AttentionKernel kernel : KERNELS) {
      float[] out = new float[q.length];
      kernel.attend(spec, 1, kvLen, q, evicted, evicted, null, out);
      float[] reference = new float[q.length];
      kernel.attend(spec, 1, kvLen, q, whole, whole, null, reference);
      Agreement.assertIdentical(kernel.name() + ": freed pages", reference, out, q.length,
          new Problem(spec, 1, kvLen, q, new float[0], new float[0], null, 0, "paged"));
    }
    int[] broken = freed.clone();
    broken[firstRead] = -1;
    KvTensor bad = KvTensor.paged(KvTensor.of(pool, blocks * blockTokens, 2, 16), blockTokens, broken);
    rejected("k's block table entry [" + firstRead + "] = -1 is outside its pool of " + blocks + " blocks",
        () -> AttentionKernel.vector().attend(spec, 1, kvLen, q, bad, bad, null, new float[q.length]));
  }

  /** Found in review: NaN scores gave a log-sum-exp of -∞ ("no key"), which a merge would silently drop. */
  @Test
  void nanScoresGiveANanLogSumExp() {
    AttentionSpec spec = AttentionSpec.of(1, 1, 2);
    for (AttentionKernel kernel : KERNELS) {
      float[] lse = new float[1];
      kernel.attend(spec, 1, 2, new float[] {Float.NaN, 1}, new float[] {1, 2, 3, 4}, new float[] {1, 2, 3, 4},
          null, new float[2], lse, Parallelism.single());
      assertTrue(Float.isNaN(lse[0]), kernel.name() + ": lse " + lse[0]);
    }
  }

  /**
   * A decode step with a 100- or 1000-token window over 5000 cached tokens never reads a block outside the window:
   * K and V hold NaN there, and the output is finite and matches the reference over the window; with fp32
   * arrays and bf16 storage, split into chunks or not, on 1 and 2 threads.
   */
  @Test
  void aWindowedDecodeNeverReadsKeysOutsideItsWindow() {
    windowedDecode(100);
    windowedDecode(1000); // a span of more than 256 keys: split into chunks
  }

  private static void windowedDecode(int window) {
    int kvLen = 5000;
    AttentionSpec spec = AttentionSpec.of(8, 2, 64).withCausal(true).withSlidingWindow(window);
    SplittableRandom random = new SplittableRandom(5);
    float[] q = new float[8 * 64];
    float[] k = new float[kvLen * 2 * 64];
    float[] v = new float[k.length];
    for (int i = 0; i < q.length; i++) {
      q[i] = (float) random.nextGaussian();
    }
    int firstBlock = (kvLen - window) / 64 * 64;
    Arrays.fill(k, Float.NaN);
    Arrays.fill(v, Float.NaN);
    for (int i = firstBlock * 128; i < k.length; i++) {
      k[i] = Float.intBitsToFloat(Float.floatToRawIntBits((float) random.nextGaussian()) & 0xFFFF0000);
      v[i] = Float.intBitsToFloat(Float.floatToRawIntBits((float) random.nextGaussian()) & 0xFFFF0000);
    }
    short[] kb = new short[k.length];
    short[] vb = new short[v.length];
    for (int i = 0; i < k.length; i++) {
      kb[i] = (short) (Float.floatToRawIntBits(k[i]) >>> 16);
      vb[i] = (short) (Float.floatToRawIntBits(v[i]) >>> 16);
    }
    Problem p = new Problem(spec, 1, kvLen, q, k, v, null, 0, "windowed decode");
    ReferenceAttention.Result ref = p.reference();
    try (Parallelism two = Parallelism.threads(2)) {
      for (AttentionKernel kernel : KERNELS) {
        for (Parallelism team : List.of(Parallelism.single(), two)) {
          float[] out = new float[q.length];
          kernel.attend(spec, 1, kvLen, q, k, v, null, out, team);
          Agreement.assertWithinBound(kernel.name() + " arrays", p, out, ref, null);
          float[] stored = new float[q.length];
          kernel.attend(spec, 1, kvLen, q, KvTensor.bf16(kb, kvLen, 2, 64), KvTensor.bf16(vb, kvLen, 2, 64), null,
              stored, team);
          Agreement.assertWithinBound(kernel.name() + " bf16", p, stored, ref, null);
        }
      }
    }
  }
}
