package io.github.attention.verify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.KvTensor;
import io.github.attention.kernel.KvType;
import io.github.attention.layer.KvCache;
import io.github.attention.layer.MultiHeadAttention;
import java.lang.foreign.Arena;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The layer's KV cache stored as BF16, F16 or INT8, on the heap or in an arena: it holds exactly what the
 * documented quantizer makes of the fp32 projections, attention reads that, and where the projections are
 * exactly representable in the type the outputs are bitwise those of an fp32 cache.
 */
class TypedCacheTest {

  private static final int MODEL = 32;
  private static final int HEADS = 4;
  private static final int KV_HEADS = 2;
  private static final int DIM = 8;
  private static final List<AttentionKernel> KERNELS = List.of(AttentionKernel.scalar(), AttentionKernel.vector());

  /** Weights and inputs of small integers (or, with {@code fractions}, any floats). */
  private static ReferenceLayer.Weights weights(SplittableRandom random, boolean fractions) {
    int q = HEADS * DIM;
    int kv = KV_HEADS * DIM;
    return new ReferenceLayer.Weights(MODEL, HEADS, KV_HEADS, DIM, true, values(random, q * MODEL, fractions),
        values(random, kv * MODEL, fractions), values(random, kv * MODEL, fractions),
        values(random, MODEL * q, fractions), null, null, null, null);
  }

  private static float[] values(SplittableRandom random, int n, boolean fractions) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = fractions ? (float) random.nextGaussian() : random.nextInt(-2, 3);
    }
    return a;
  }

  /** Prefill of 37 tokens then 5 single tokens through {@code cache}; the outputs of every call, appended. */
  private static float[] run(MultiHeadAttention layer, KvCache cache, float[] x) {
    int prompt = 37;
    float[] all = new float[(prompt + 5) * MODEL];
    float[] y = new float[prompt * MODEL];
    layer.forward(x, prompt, cache, y);
    System.arraycopy(y, 0, all, 0, prompt * MODEL);
    for (int t = prompt; t < prompt + 5; t++) {
      float[] token = java.util.Arrays.copyOfRange(x, t * MODEL, (t + 1) * MODEL);
      layer.forward(token, 1, cache, y);
      System.arraycopy(y, 0, all, t * MODEL, MODEL);
    }
    return all;
  }

  @Test
  void sixteenBitCachesOfExactlyRepresentableValuesGiveTheFp32Outputs() {
    // Small integer weights and inputs: every projection is an integer below 2^8, exact in bf16 and f16.
    SplittableRandom random = new SplittableRandom(1);
    ReferenceLayer.Weights w = weights(random, false);
    float[] x = values(random, 42 * MODEL, false);
    for (AttentionKernel kernel : KERNELS) {
      MultiHeadAttention layer = w.builder().kernel(kernel).build();
      float[] fp32 = run(layer, layer.newCache(64), x);
      for (KvType type : new KvType[] {KvType.BF16, KvType.F16, KvType.F32}) {
        try (Arena arena = Arena.ofConfined()) {
          assertArrayEquals(fp32, run(layer, layer.newCache(64, type, null), x), kernel.name() + " " + type);
          assertArrayEquals(fp32, run(layer, layer.newCache(64, type, arena), x),
              kernel.name() + " " + type + " off-heap");
        }
      }
    }
  }

  @Test
  void everyTypeStoresTheQuantizedProjections() {
    SplittableRandom random = new SplittableRandom(2);
    ReferenceLayer.Weights w = weights(random, true);
    float[] x = values(random, 42 * MODEL, true);
    for (AttentionKernel kernel : KERNELS) {
      MultiHeadAttention layer = w.builder().kernel(kernel).build();
      KvCache exact = layer.newCache(64);
      run(layer, exact, x);
      for (KvType type : KvType.values()) {
        try (Arena arena = Arena.ofConfined()) {
          KvCache heap = layer.newCache(64, type, null);
          KvCache native_ = layer.newCache(64, type, arena);
          float[] onHeap = run(layer, heap, x);
          assertArrayEquals(onHeap, run(layer, native_, x), kernel.name() + " " + type + ": arena vs heap");
          assertStores(type, exact.keys(), heap.keys(), 42);
          assertStores(type, exact.values(), heap.values(), 42);
          assertEquals(42, heap.length());
        }
      }
    }
  }

  /** {@code stored} holds the test's own quantization of {@code exact}, widened. */
  private static void assertStores(KvType type, KvTensor exact, KvTensor stored, int tokens) {
    for (int t = 0; t < tokens; t++) {
      for (int h = 0; h < KV_HEADS; h++) {
        float max = 0f;
        for (int d = 0; d < DIM; d++) {
          max = Math.max(max, Math.abs(exact.get(t, h, d)));
        }
        float scale = max / 127f;
        for (int d = 0; d < DIM; d++) {
          float x = exact.get(t, h, d);
          float expected = switch (type) {
            case F32 -> x;
            case BF16 -> Float.intBitsToFloat(Storage.bf16(x) << 16);
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(x));
            case INT8 -> (float) Math.max(-127, Math.min(127, Math.round(x / scale))) * scale;
          };
          assertEquals(expected, stored.get(t, h, d), type + " token " + t + " head " + h + " d " + d);
        }
      }
    }
  }

  @Test
  void memoryPerTokenIsDocumented() {
    ReferenceLayer.Weights w = weights(new SplittableRandom(3), false);
    MultiHeadAttention layer = w.builder().build();
    assertEquals(2L * KV_HEADS * DIM * 4, layer.newCache(4).bytesPerToken());
    assertEquals(2L * KV_HEADS * DIM * 2, layer.newCache(4, KvType.BF16, null).bytesPerToken());
    assertEquals(2L * KV_HEADS * DIM * 2, layer.newCache(4, KvType.F16, null).bytesPerToken());
    assertEquals(2L * KV_HEADS * DIM + 2L * KV_HEADS * 4, layer.newCache(4, KvType.INT8, null).bytesPerToken());
  }

  @Test
  void loadStoresAsTheTypeSays() {
    SplittableRandom random = new SplittableRandom(4);
    ReferenceLayer.Weights w = weights(random, true);
    MultiHeadAttention layer = w.builder().build();
    float[] k = values(random, 10 * KV_HEADS * DIM, true);
    float[] v = values(random, 10 * KV_HEADS * DIM, true);
    KvCache exact = layer.newCache(10);
    exact.load(k, v, 10);
    for (KvType type : KvType.values()) {
      KvCache cache = layer.newCache(10, type, null);
      cache.load(k, v, 10);
      assertStores(type, exact.keys(), cache.keys(), 10);
      assertStores(type, exact.values(), cache.values(), 10);
      // A view of another cache loads its values: exact between the same 16-bit types.
      if (type != KvType.INT8) {
        KvCache copy = layer.newCache(10, type, null);
        copy.load(cache.keys(), cache.values(), 10);
        assertStores(KvType.F32, cache.keys(), copy.keys(), 10);
      }
    }
  }

  /** A row holding a non-finite value is stored with a NaN scale: the row reads as NaN, as documented. */
  @Test
  void anInt8RowWithANonFiniteValueReadsAsNaN() {
    MultiHeadAttention layer = weights(new SplittableRandom(5), false).builder().build();
    KvCache cache = layer.newCache(2, KvType.INT8, null);
    float[] k = new float[2 * KV_HEADS * DIM];
    float[] v = new float[k.length];
    java.util.Arrays.fill(k, 1f);
    k[3] = Float.POSITIVE_INFINITY; // token 0, head 0
    v[DIM + 2] = Float.NaN;          // token 0, head 1
    cache.load(k, v, 2);
    for (int d = 0; d < DIM; d++) {
      assertEquals(Float.NaN, cache.keys().get(0, 0, d), "key row (0, 0)");
      assertEquals(1f, cache.keys().get(0, 1, d), "key row (0, 1)");
      assertEquals(Float.NaN, cache.values().get(0, 1, d), "value row (0, 1)");
      assertEquals(0f, cache.values().get(0, 0, d), "value row (0, 0): zeros");
    }
  }
}
