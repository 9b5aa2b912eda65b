package io.github.attention.bench;

import io.github.attention.kernel.AttentionSpec;

/**
 * The benchmarked attention problems: the one table of shapes that the JMH benchmark, the comparison and the
 * tests share. Default scale, no explicit mask; K and V token-major fp32 arrays unless the shape's
 * {@link KvStorage} says otherwise (the same values, stored another way).
 *
 * <p>{@link #flops()} counts 4·headDim flops (a multiply and an add in Q·Kᵀ and in P·V) per query head
 * and per <em>visible</em> (query, key) pair, so causal shapes are not credited for skipped work; the softmax
 * itself is not counted. {@link #kvBytes()} is the size of K plus V, which a single-query decode step must
 * read once, in the bytes actually stored (2 per element for bf16 and f16, 1 plus a 4-byte scale per row for
 * int8): for decode it is the memory traffic that bounds the kernel.
 */
public enum Shape {
  /** Non-causal prefill, multi-head attention. */
  PREFILL_1K("prefill-1k", 1024, 1024, 8, 8, 64, false),
  /** Causal prefill with wide heads. */
  PREFILL_2K_CAUSAL("prefill-2k-causal", 2048, 2048, 8, 8, 128, true),
  /** One query token over a 4k KV cache, grouped-query attention (4 query heads per KV head). */
  DECODE_4K_GQA("decode-4k-gqa", 1, 4096, 32, 8, 128, true),
  /** One query token over a 32k KV cache (256 MiB of K and V: far larger than the caches). */
  DECODE_32K_GQA("decode-32k-gqa", 1, 32768, 32, 8, 128, true),
  /** Awkward sizes: prime lengths and a head width that is not a multiple of the vector length. */
  ODD_HEAD("odd-head", 257, 257, 6, 2, 80, true),
  /** decode-32k-gqa with bf16 K/V: half the bytes. */
  DECODE_32K_GQA_BF16("decode-32k-gqa-bf16", DECODE_32K_GQA, KvStorage.BF16),
  /** decode-32k-gqa with f16 K/V. */
  DECODE_32K_GQA_F16("decode-32k-gqa-f16", DECODE_32K_GQA, KvStorage.F16),
  /** decode-32k-gqa with int8 K/V and a scale per row: a quarter of the bytes. */
  DECODE_32K_GQA_INT8("decode-32k-gqa-int8", DECODE_32K_GQA, KvStorage.INT8),
  /** decode-32k-gqa over a head-major fp32 view, {@code [kvHeads][kvLen][headDim]}. */
  DECODE_32K_GQA_HEADMAJOR("decode-32k-gqa-headmajor", DECODE_32K_GQA, KvStorage.HEAD_MAJOR),
  /** decode-32k-gqa over a paged bf16 cache: 16-token blocks, a shuffled block table. */
  DECODE_32K_GQA_PAGED("decode-32k-gqa-paged", DECODE_32K_GQA, KvStorage.PAGED_BF16),
  /** prefill-2k-causal with bf16 K/V. */
  PREFILL_2K_CAUSAL_BF16("prefill-2k-causal-bf16", PREFILL_2K_CAUSAL, KvStorage.BF16),
  /** decode-32k-gqa with a 4096-token sliding window: reads only the window's blocks. */
  DECODE_32K_GQA_WINDOW4K("decode-32k-gqa-window4k", DECODE_32K_GQA, Variant.WINDOW_4096),
  /** prefill-2k-causal with a 512-token sliding window (Mistral-style). */
  PREFILL_2K_CAUSAL_WINDOW512("prefill-2k-causal-window512", PREFILL_2K_CAUSAL, Variant.WINDOW_512),
  /** prefill-2k-causal with logit soft-capping at 50 (Gemma 2). */
  PREFILL_2K_CAUSAL_SOFTCAP("prefill-2k-causal-softcap", PREFILL_2K_CAUSAL, Variant.SOFTCAP_50),
  /** prefill-2k-causal with attention sinks and the paper's ALiBi slopes. */
  PREFILL_2K_CAUSAL_SINKS_ALIBI("prefill-2k-causal-sinks-alibi", PREFILL_2K_CAUSAL, Variant.SINKS_ALIBI);

  /** The spec options a shape adds to plain attention. */
  public enum Variant {
    /** Plain softmax attention. */
    NONE(0),
    /** A sliding window of 4096 tokens. */
    WINDOW_4096(4096),
    /** A sliding window of 512 tokens. */
    WINDOW_512(512),
    /** Soft-cap 50. */
    SOFTCAP_50(0),
    /** One sink per query head ({@code 0.25·(h mod 4)}) and the paper's ALiBi slopes. */
    SINKS_ALIBI(0);

    private final int window;

    Variant(int window) {
      this.window = window;
    }

    AttentionSpec apply(AttentionSpec spec) {
      return switch (this) {
        case NONE -> spec;
        case WINDOW_4096, WINDOW_512 -> spec.withSlidingWindow(window);
        case SOFTCAP_50 -> spec.withSoftcap(50f);
        case SINKS_ALIBI -> {
          float[] sinks = new float[spec.queryHeads()];
          for (int h = 0; h < sinks.length; h++) {
            sinks[h] = 0.25f * (h % 4);
          }
          yield spec.withSinks(sinks).withAlibiSlopes(AttentionSpec.alibiSlopes(spec.queryHeads()));
        }
      };
    }

    /** @return the sliding window, or 0 */
    public int window() {
      return window;
    }
  }

  /** How a shape's K and V are stored. */
  public enum KvStorage {
    /** Token-major fp32 {@code float[]}s, through the array overload. */
    ARRAYS(4),
    /** Token-major bf16 {@code short[]}s. */
    BF16(2),
    /** Token-major f16 {@code short[]}s. */
    F16(2),
    /** Token-major int8 {@code byte[]}s with one fp32 scale per (token, head) row. */
    INT8(1),
    /** A head-major fp32 {@code float[]}. */
    HEAD_MAJOR(4),
    /** bf16 in a pool of 16-token blocks (token-major within a block) read through a shuffled table. */
    PAGED_BF16(2);

    private final int bytes;

    KvStorage(int bytes) {
      this.bytes = bytes;
    }

    /** @return bytes per stored element */
    public int bytes() {
      return bytes;
    }
  }

  private final String id;
  private final int qLen;
  private final int kvLen;
  private final int queryHeads;
  private final int kvHeads;
  private final int headDim;
  private final boolean causal;
  private final KvStorage storage;
  private final Variant variant;

  Shape(String id, Shape base, KvStorage storage) {
    this(id, base.qLen, base.kvLen, base.queryHeads, base.kvHeads, base.headDim, base.causal, storage,
        Variant.NONE);
  }

  Shape(String id, Shape base, Variant variant) {
    this(id, base.qLen, base.kvLen, base.queryHeads, base.kvHeads, base.headDim, base.causal, base.storage,
        variant);
  }

  Shape(String id, int qLen, int kvLen, int queryHeads, int kvHeads, int headDim, boolean causal) {
    this(id, qLen, kvLen, queryHeads, kvHeads, headDim, causal, KvStorage.ARRAYS, Variant.NONE);
  }

  Shape(String id, int qLen, int kvLen, int queryHeads, int kvHeads, int headDim, boolean causal,
      KvStorage storage, Variant variant) {
    this.storage = storage;
    this.variant = variant;
    this.id = id;
    this.qLen = qLen;
    this.kvLen = kvLen;
    this.queryHeads = queryHeads;
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.causal = causal;
  }

  /**
   * The shape with the given id, as used by the benchmark's {@code shape} parameter.
   *
   * @param id an id such as {@code "prefill-1k"}
   * @return the shape
   * @throws IllegalArgumentException if no shape has that id
   */
  public static Shape byId(String id) {
    for (Shape shape : values()) {
      if (shape.id.equals(id)) {
        return shape;
      }
    }
    throw new IllegalArgumentException("unknown shape '" + id + "', expected one of " + ids());
  }

  /** @return every shape's id, in table order, comma-separated */
  public static String ids() {
    StringBuilder all = new StringBuilder();
    for (Shape shape : values()) {
      all.append(all.isEmpty() ? "" : ",").append(shape.id);
    }
    return all.toString();
  }

  /** @return the id, e.g. {@code "decode-4k-gqa"} */
  public String id() {
    return id;
  }

  /** @return number of query rows (tokens) */
  public int qLen() {
    return qLen;
  }

  /** @return number of key/value rows (tokens) */
  public int kvLen() {
    return kvLen;
  }

  /** @return number of query heads */
  public int queryHeads() {
    return queryHeads;
  }

  /** @return number of key/value heads */
  public int kvHeads() {
    return kvHeads;
  }

  /** @return width of every head */
  public int headDim() {
    return headDim;
  }

  /** @return whether attention is causal (bottom-right aligned) */
  public boolean causal() {
    return causal;
  }

  /** @return how K and V are stored */
  public KvStorage storage() {
    return storage;
  }

  /** @return whether this is a single-query decode step, where K/V bandwidth is the limit */
  public boolean decode() {
    return qLen == 1;
  }

  /** @return the spec options this shape adds */
  public Variant variant() {
    return variant;
  }

  /**
   * @return the kernel spec: these head counts, default scale {@code 1/sqrt(headDim)}, this causality, the
   *     variant's options
   */
  public AttentionSpec spec() {
    return variant.apply(AttentionSpec.of(queryHeads, kvHeads, headDim).withCausal(causal));
  }

  /**
   * Number of (query row, key) pairs a query head attends over: {@code qLen·kvLen}, or for causal shapes
   * only the pairs with {@code j <= i + kvLen - qLen}, and with a sliding window only those with
   * {@code j > i + kvLen - qLen - window}.
   *
   * @return visible pairs per query head
   */
  public long visiblePairs() {
    long pairs = 0;
    int window = variant.window();
    for (int i = 0; i < qLen; i++) {
      long p = (long) i + kvLen - qLen;
      long end = causal ? Math.min(kvLen, p + 1) : kvLen;
      long start = window > 0 ? Math.max(0, p - window + 1) : 0;
      pairs += Math.max(0, end - start);
    }
    return pairs;
  }

  /** @return useful floating-point operations of one call: {@code 4·headDim·queryHeads·visiblePairs()} */
  public double flops() {
    return 4.0 * headDim * queryHeads * visiblePairs();
  }

  /**
   * @return bytes of K and V together as stored: {@code 2·kvLen·kvHeads·headDim·bytes}, plus for int8
   *     {@code 2·kvLen·kvHeads·4} bytes of scales; with a sliding window only the tokens a call can see
   *     ({@code min(kvLen, window + qLen − 1)}) count
   */
  public long kvBytes() {
    long tokens = variant.window() > 0 ? Math.min(kvLen, variant.window() + qLen - 1L) : kvLen;
    long scales = storage == KvStorage.INT8 ? 2L * tokens * kvHeads * Float.BYTES : 0;
    return 2L * tokens * kvHeads * headDim * storage.bytes() + scales;
  }

  @Override
  public String toString() {
    return id;
  }
}
