package io.github.attention.internal.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.internal.scalar.ScalarBackend;
import io.github.attention.internal.vector.VectorBackend;
import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.KvTensor;
import io.github.attention.kernel.Parallelism;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The two {@link DecodeOrder}s touch memory differently and must compute the same thing: decoding calls
 * (1 to 4 query rows, so K and V are read in place) give the same bits in both orders, token-major and
 * head-major, on both backends and for 1 and 2 threads. (Whichever order this machine uses is checked
 * against the double-precision reference by attention-verify's properties.)
 */
class DecodeOrderTest {

  private static final Backend[] BACKENDS = {ScalarBackend.INSTANCE, VectorBackend.INSTANCE};

  @Test
  void bothOrdersGiveTheSameBits() {
    SplittableRandom random = new SplittableRandom(2026_12_02L);
    int[] headDims = {32, 64, 128};
    int[][] heads = {{4, 1}, {8, 2}, {6, 3}, {32, 8}, {2, 2}};
    try (Parallelism two = Parallelism.threads(2)) {
      for (int trial = 0; trial < 40; trial++) {
        int headDim = headDims[random.nextInt(headDims.length)];
        int[] h = heads[random.nextInt(heads.length)];
        AttentionSpec spec = AttentionSpec.of(h[0], h[1], headDim).withCausal(random.nextBoolean());
        if (random.nextInt(4) == 0) {
          spec = spec.withSlidingWindow(1 + random.nextInt(700));
        }
        int qLen = 1 + random.nextInt(4);
        // Up to a few thousand keys: several blocks, a ragged last block, and split calls (over 256 keys).
        int kvLen = qLen + random.nextInt(random.nextBoolean() ? 130 : 3000);
        float[] q = normal(random, qLen * h[0] * headDim);
        float[] k = normal(random, kvLen * h[1] * headDim);
        float[] v = normal(random, k.length);
        float[] mask = random.nextInt(3) == 0 ? normal(random, qLen * kvLen) : null;
        KvTensor kHeadMajor = KvTensor.of(toHeadMajor(k, kvLen, h[1], headDim), kvLen, h[1], headDim).headMajor();
        KvTensor vHeadMajor = KvTensor.of(toHeadMajor(v, kvLen, h[1], headDim), kvLen, h[1], headDim).headMajor();
        String what = spec + " qLen=" + qLen + " kvLen=" + kvLen + (mask != null ? " masked" : "");
        for (Backend backend : BACKENDS) {
          AttentionKernel address = new BlockedAttention(backend, DecodeOrder.ADDRESS_ORDER);
          AttentionKernel readFirst = new BlockedAttention(backend, DecodeOrder.READ_THEN_COMPUTE);
          float[] expected = new float[q.length];
          address.attend(spec, qLen, kvLen, q, k, v, mask, expected, Parallelism.single());
          assertTrue(anyNonZero(expected), "all zero: " + what);
          for (Parallelism threads : new Parallelism[] {Parallelism.single(), two}) {
            float[] tokenMajor = new float[q.length];
            readFirst.attend(spec, qLen, kvLen, q, k, v, mask, tokenMajor, threads);
            assertArrayEquals(expected, tokenMajor, backend.name() + " token-major " + what);
            for (AttentionKernel kernel : new AttentionKernel[] {address, readFirst}) {
              float[] headMajor = new float[q.length];
              kernel.attend(spec, qLen, kvLen, q, kHeadMajor, vHeadMajor, mask, headMajor, threads);
              assertArrayEquals(expected, headMajor, backend.name() + " head-major " + what);
            }
          }
        }
      }
    }
  }

  @Test
  void thePropertyOverridesTheProcessorAndABadValueIsIgnored() {
    Optional<String> intel = Optional.of("GenuineIntel");
    Optional<String> amd = Optional.of("AuthenticAMD");
    assertEquals(DecodeOrder.ADDRESS_ORDER, DecodeOrder.choose(null, intel, true));
    assertEquals(DecodeOrder.ADDRESS_ORDER, DecodeOrder.choose(null, intel, false));
    assertEquals(DecodeOrder.READ_THEN_COMPUTE, DecodeOrder.choose(null, amd, true), "Zen 4");
    assertEquals(DecodeOrder.ADDRESS_ORDER, DecodeOrder.choose(null, amd, false), "Zen 3");
    assertEquals(DecodeOrder.READ_THEN_COMPUTE, DecodeOrder.choose(null, Optional.empty(), false));
    assertEquals(DecodeOrder.READ_THEN_COMPUTE, DecodeOrder.choose("read_then_compute", intel, true));
    assertEquals(DecodeOrder.ADDRESS_ORDER, DecodeOrder.choose(" Address_Order ", amd, true));
    assertEquals(DecodeOrder.ADDRESS_ORDER, DecodeOrder.choose("fastest", intel, true));
    assertEquals(DecodeOrder.READ_THEN_COMPUTE, DecodeOrder.choose("", amd, true));
  }

  private static float[] toHeadMajor(float[] tokenMajor, int tokens, int kvHeads, int headDim) {
    float[] headMajor = new float[tokenMajor.length];
    for (int t = 0; t < tokens; t++) {
      for (int g = 0; g < kvHeads; g++) {
        System.arraycopy(tokenMajor, (t * kvHeads + g) * headDim, headMajor, (g * tokens + t) * headDim, headDim);
      }
    }
    return headMajor;
  }

  private static float[] normal(SplittableRandom random, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) random.nextGaussian();
    }
    return a;
  }

  private static boolean anyNonZero(float[] a) {
    for (float x : a) {
      if (x != 0f) {
        return true;
      }
    }
    return false;
  }
}
