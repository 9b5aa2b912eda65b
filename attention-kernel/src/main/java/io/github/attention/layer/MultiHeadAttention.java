package io.github.attention.layer;

import io.github.attention.internal.core.Backend;
import io.github.attention.internal.core.Projection;
import io.github.attention.internal.core.Workspace.Activity;
import io.github.attention.internal.core.Workspace.LayerScratch;
import io.github.attention.internal.core.Workspace;
import io.github.attention.internal.lookup.BackendLookup;
import io.github.attention.internal.parallel.Teams;
import io.github.attention.internal.parallel.WorkerTeam;
import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.KvType;
import io.github.attention.kernel.Parallelism;
import java.lang.foreign.Arena;
import java.util.Objects;

/**
 * The attention layer of a transformer, from input embeddings to output embeddings:
 *
 * <ol>
 *   <li>projections {@code Q = X·Wqᵀ + bq}, {@code K = X·Wkᵀ + bk}, {@code V = X·Wvᵀ + bv};
 *   <li>scaled dot-product attention per query head ({@link AttentionKernel}), causal if the layer is, with
 *       grouped-query sharing when {@code kvHeads < queryHeads};
 *   <li>the heads concatenated, {@code [seqLen][queryHeads·headDim]} (the kernel's token-major output);
 *   <li>the output projection {@code Y = Concat·Woᵀ + bo}.
 * </ol>
 *
 * <h2>Layouts</h2>
 * Row-major {@code float} arrays. Weights have PyTorch's {@code nn.Linear} layout {@code [out][in]}, so
 * checkpoint tensors load without transposing: {@code Wq} is {@code [queryHeads·headDim][modelDim]},
 * {@code Wk} and {@code Wv} are {@code [kvHeads·headDim][modelDim]}, {@code Wo} is
 * {@code [modelDim][queryHeads·headDim]}; the rows of head {@code h} of {@code Wq} are
 * {@code h·headDim .. (h+1)·headDim - 1}, and likewise for {@code Wk}, {@code Wv} and the columns of
 * {@code Wo}. Biases are {@code [out]}. Inputs {@code x} and outputs {@code y} are {@code [tokens][modelDim]};
 * they may be longer than needed (only the prefix is read or written) and may be the same array (every read
 * of {@code x} happens before the first write of {@code y}).
 *
 * <h2>Use</h2>
 * Build with {@link #builder()}. {@link #forward(float[], int, float[])} runs a whole sequence.
 * For generation, a causal layer's {@link #newCache(int)} makes a {@link KvCache};
 * {@link #forward(float[], int, KvCache, float[])} then takes the prompt, and afterwards one token (or a few)
 * at a time, each attending to everything cached before it.
 *
 * <h2>Threads and memory</h2>
 * A layer is immutable and safe to share between threads: the builder copies the weights, so later changes
 * to the arrays passed to it have no effect. Calls reuse per-thread scratch memory, shared by all layers on
 * the thread and sized for the largest call it has made (projected queries, keys and values and the heads'
 * outputs of all its tokens; it lives as long as the thread), so steady calls of a given size allocate
 * nothing. With a {@link Parallelism} of several threads, each projection is split over
 * blocks of rows and output columns and attention over heads × blocks of query rows (decoding: chunks of
 * the cache, merged in order); the output is bitwise identical for every thread count. Invalid arguments
 * are rejected before anything is written; other failures during a call (an {@link OutOfMemoryError}, a
 * failing executor) are rethrown and may leave {@code y} partly written, but never change a cache's length.
 *
 * <h2>Backends</h2>
 * The layer uses its {@link AttentionKernel} for attention, and the same kernel's backend for the
 * projections: with {@link AttentionKernel#vector()} they are register-blocked Vector API matrix products,
 * with {@link AttentionKernel#scalar()} plain-Java loops. A kernel of another implementation says nothing
 * about matrix products: the projections then run on the backend of {@link AttentionKernel#best()}.
 */
public final class MultiHeadAttention {

  private final int modelDim;
  private final int queryHeads;
  private final int kvHeads;
  private final int headDim;
  private final AttentionSpec spec;
  private final AttentionSpec cachedSpec;
  private final AttentionKernel kernel;
  private final Parallelism parallelism;
  /** The projections' backend, which also rotates. */
  private final Backend backend;
  /** Null without rotary embeddings (or with rotaryDim 0, which rotates nothing). */
  private final RotaryEmbedding rotary;
  private final Projection query;
  private final Projection key;
  private final Projection value;
  private final Projection output;

  private MultiHeadAttention(Builder b) {
    this.modelDim = b.modelDim;
    this.queryHeads = b.queryHeads;
    this.kvHeads = b.kvHeads;
    this.headDim = b.headDim;
    this.spec = b.variants(AttentionSpec.of(queryHeads, kvHeads, headDim).withCausal(b.causal));
    this.cachedSpec = spec.withCausal(true);
    this.kernel = b.kernel;
    this.parallelism = b.parallelism;
    this.rotary = b.rotary == null || b.rotary.rotaryDim() == 0 ? null : b.rotary;
    Backend backend = BackendLookup.backendOf(kernel);
    this.backend = backend;
    this.query = new Projection(backend.linearMap(WQ, b.wq, b.bq, queryHeads * headDim, modelDim));
    this.key = new Projection(backend.linearMap(WK, b.wk, b.bk, kvHeads * headDim, modelDim));
    this.value = new Projection(backend.linearMap(WV, b.wv, b.bv, kvHeads * headDim, modelDim));
    this.output = new Projection(backend.linearMap(WO, b.wo, b.bo, modelDim, queryHeads * headDim));
  }

  private static final String WQ = "queryWeights (Wq)";
  private static final String WK = "keyWeights (Wk)";
  private static final String WV = "valueWeights (Wv)";
  private static final String WO = "outputWeights (Wo)";

  /**
   * Starts building a layer. Required: {@link Builder#modelDim}, {@link Builder#queryHeads} and the four
   * weights; everything else has a default.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Runs the layer over a whole sequence: {@code y = Attention(x)}, causal if the layer is.
   *
   * @param x input embeddings {@code [seqLen][modelDim]}, at least {@code seqLen·modelDim} long
   * @param seqLen number of tokens, at least 1
   * @param y output embeddings {@code [seqLen][modelDim]}, at least {@code seqLen·modelDim} long; may be
   *     {@code x}; only its first {@code seqLen·modelDim} elements are written
   * @throws NullPointerException if {@code x} or {@code y} is null
   * @throws IllegalArgumentException if {@code seqLen < 1} or an array is too short (nothing is written)
   * @throws IllegalStateException if the layer's {@link Parallelism} is closed (nothing is written)
   */
  public void forward(float[] x, int seqLen, float[] y) {
    forward(x, seqLen, 0, y);
  }

  /**
   * As {@link #forward(float[], int, float[])}, with the tokens at positions {@code firstPosition ..
   * firstPosition + seqLen − 1} for the rotary embedding (the only thing positions change: masks and
   * windows are relative). Without rotary embeddings this is {@code forward(x, seqLen, y)}.
   *
   * @param x input embeddings {@code [seqLen][modelDim]}
   * @param seqLen number of tokens, at least 1
   * @param firstPosition the first token's position, at least 0
   * @param y output embeddings {@code [seqLen][modelDim]}; may be {@code x}
   * @throws NullPointerException if {@code x} or {@code y} is null
   * @throws IllegalArgumentException if {@code seqLen < 1}, {@code firstPosition < 0}, or an array is too
   *     short (nothing is written)
   * @throws IllegalStateException if the layer's {@link Parallelism} is closed (nothing is written)
   */
  public void forward(float[] x, int seqLen, int firstPosition, float[] y) {
    checkTokens(x, seqLen, y, "seqLen");
    if (firstPosition < 0) {
      throw new IllegalArgumentException("firstPosition must be at least 0, got " + firstPosition);
    }
    Workspace workspace = Workspace.current();
    workspace.enter(Activity.FORWARD);
    try {
      LayerScratch work = workspace.layer(seqLen * queryHeads * headDim, seqLen * kvHeads * headDim);
      WorkerTeam team = Teams.of(parallelism);
      query.apply(x, 0, seqLen, work.queries(), 0, team);
      key.apply(x, 0, seqLen, work.keys(), 0, team);
      value.apply(x, 0, seqLen, work.values(), 0, team);
      if (rotary != null) {
        rotary.rotate(work.queries(), 0, seqLen, queryHeads, headDim, firstPosition, backend);
        rotary.rotate(work.keys(), 0, seqLen, kvHeads, headDim, firstPosition, backend);
      }
      kernel.attend(spec, seqLen, seqLen, work.queries(), work.keys(), work.values(), null, work.heads(),
          parallelism);
      output.apply(work.heads(), 0, seqLen, y, 0, team);
    } finally {
      workspace.leave(Activity.FORWARD);
    }
  }

  /**
   * Runs the layer over {@code newTokens} tokens that continue the sequence held in {@code cache}: their
   * keys and values are appended to the cache, and each new token attends causally to every cached token
   * up to itself (with a sliding window, to the last {@code window} of them). A prompt of n tokens followed by single tokens gives the same outputs (up to rounding) as
   * one causal {@link #forward(float[], int, float[])} over the whole sequence.
   *
   * @param x input embeddings of the new tokens, {@code [newTokens][modelDim]}
   * @param newTokens number of new tokens, at least 1
   * @param cache a cache made by this layer's {@link #newCache(int)} or
   *     {@link #newCache(int, KvType, Arena)}
   * @param y output embeddings of the new tokens, {@code [newTokens][modelDim]}; may be {@code x}
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code newTokens < 1}, an array is too short, or {@code cache} was
   *     made by another layer (nothing is written)
   * @throws IllegalStateException if the new tokens do not fit: {@code cache.length() + newTokens >
   *     cache.capacity()}, or the layer's {@link Parallelism} is closed, or the arena of a cache made with one
   *     is closed; the cache and {@code y} are then unchanged and the cache stays usable
   * @throws WrongThreadException if the cache's arena is confined to another thread
   * @throws IllegalArgumentException also if the cache's arena is confined to this thread and the layer's
   *     {@link Parallelism} has more than one thread (use a shared arena)
   */
  public void forward(float[] x, int newTokens, KvCache cache, float[] y) {
    checkTokens(x, newTokens, y, "newTokens");
    Objects.requireNonNull(cache, "cache must not be null");
    if (cache.layer() != this) {
      throw new IllegalArgumentException("cache was made by another layer; use this layer's newCache");
    }
    int cached = cache.length();
    if (newTokens > cache.capacity() - cached) {
      throw new IllegalStateException("KV cache overflow: " + cached + " tokens cached + " + newTokens
          + " new > capacity " + cache.capacity() + "; reset() the cache or make a larger one");
    }
    Workspace workspace = Workspace.current();
    workspace.enter(Activity.FORWARD);
    try {
      int kvWidth = kvHeads * headDim;
      // A cache of another type than fp32 arrays takes its new keys and values from the scratch.
      LayerScratch work = workspace.layer(newTokens * queryHeads * headDim,
          cache.keyArray() != null ? 0 : newTokens * kvWidth);
      WorkerTeam team = Teams.of(parallelism);
      query.apply(x, 0, newTokens, work.queries(), 0, team);
      if (rotary != null) {
        rotary.rotate(work.queries(), 0, newTokens, queryHeads, headDim, cached, backend);
      }
      // Written past the cache's length only: until length grows below, the cache is unchanged.
      if (cache.keyArray() != null) {
        key.apply(x, 0, newTokens, cache.keyArray(), cached * kvWidth, team);
        if (rotary != null) {
          rotary.rotate(cache.keyArray(), cached * kvWidth, newTokens, kvHeads, headDim, cached, backend);
        }
        value.apply(x, 0, newTokens, cache.valueArray(), cached * kvWidth, team);
        kernel.attend(cachedSpec, newTokens, cached + newTokens, work.queries(), cache.keyArray(),
            cache.valueArray(), null, work.heads(), parallelism);
      } else {
        // Projected in fp32, then stored as the cache's type says; attention reads what is stored.
        key.apply(x, 0, newTokens, work.keys(), 0, team);
        value.apply(x, 0, newTokens, work.values(), 0, team);
        if (rotary != null) {
          rotary.rotate(work.keys(), 0, newTokens, kvHeads, headDim, cached, backend);
        }
        cache.store(work.keys(), work.values(), newTokens);
        kernel.attend(cachedSpec, newTokens, cached + newTokens, work.queries(), cache.keys(), cache.values(),
            null, work.heads(), parallelism);
      }
      output.apply(work.heads(), 0, newTokens, y, 0, team);
    } finally {
      workspace.leave(Activity.FORWARD);
    }
    cache.append(newTokens);
  }

  /**
   * Traces token {@code token} of a sequence through the layer: every intermediate of the six textbook steps
   * for that query token, computed plainly in {@code double} from this layer's weights (see
   * {@link AttentionTrace}). Its output equals row {@code token} of {@link #forward(float[], int, float[])}
   * on the same {@code x} within the layer's fp32 rounding error. For inspecting and teaching, not a fast
   * path: it costs {@code O(seqLen·modelDim·(queryHeads + 2·kvHeads)·headDim)} and allocates the trace.
   *
   * @param x input embeddings {@code [seqLen][modelDim]}, at least {@code seqLen·modelDim} long
   * @param seqLen number of tokens, at least 1
   * @param token the query token, {@code 0 <= token < seqLen}
   * @return the trace
   * @throws NullPointerException if {@code x} is null
   * @throws IllegalArgumentException if {@code seqLen < 1}, {@code x} is too short, or {@code token} is out
   *     of range
   */
  public AttentionTrace trace(float[] x, int seqLen, int token) {
    checkTokens(x, seqLen, x, "seqLen");
    if (token < 0 || token >= seqLen) {
      throw new IllegalArgumentException("token must be in [0, seqLen=" + seqLen + "), got " + token);
    }
    return tracing().ofSequence(x, seqLen, token);
  }

  /**
   * Traces the new token of a one-token decode step over {@code cache}, as
   * {@link #forward(float[], int, KvCache, float[]) forward(x, 1, cache, y)} would compute it, without
   * changing the cache: the keys are the cached tokens (as stored, widened) and the new token itself
   * (projected and stored as the cache's type says, as the layer does). The trace's inputs hold the new
   * token only.
   *
   * @param x the new token's input embedding, at least {@code modelDim} long
   * @param cache this layer's cache of the tokens before it (not changed)
   * @return the trace
   * @throws NullPointerException if {@code x} or {@code cache} is null
   * @throws IllegalArgumentException if {@code x} is too short or {@code cache} was made by another layer
   */
  public AttentionTrace traceStep(float[] x, KvCache cache) {
    checkTokens(x, 1, x, "newTokens");
    Objects.requireNonNull(cache, "cache must not be null");
    if (cache.layer() != this) {
      throw new IllegalArgumentException("cache was made by another layer; use this layer's newCache");
    }
    return new Tracing(cachedSpec, modelDim, query, key, value, output, rotary).ofStep(x, cache);
  }

  private Tracing tracing() {
    return new Tracing(spec, modelDim, query, key, value, output, rotary);
  }

  /**
   * A KV cache for this layer, for up to {@code capacity} tokens: {@code 2·capacity·kvHeads·headDim}
   * floats, allocated now.
   *
   * @param capacity the most tokens the cache holds, at least 1
   * @return an empty cache
   * @throws IllegalArgumentException if {@code capacity < 1} or the cache would not fit in a Java array
   * @throws IllegalStateException if the layer is not causal (a cache continues a causal sequence)
   */
  public KvCache newCache(int capacity) {
    checkCache(capacity);
    long size = (long) capacity * kvHeads * headDim;
    if (size > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("a cache of " + capacity + " tokens needs " + size
          + " floats for keys, more than a Java array can hold");
    }
    return new KvCache(this, capacity, (int) size);
  }

  /**
   * A KV cache for this layer storing keys and values as {@code type} (see {@link KvCache}, "Storage"), in
   * memory of {@code arena} (off the heap, any size; it lives as long as the arena), or on the heap if
   * {@code arena} is null. Decoding reads the cache's bytes, so smaller types read less memory per step.
   *
   * @param capacity the most tokens the cache holds, at least 1
   * @param type how keys and values are stored
   * @param arena where the memory comes from, or null for the heap
   * @return an empty cache
   * @throws NullPointerException if {@code type} is null
   * @throws IllegalArgumentException if {@code capacity < 1}, or a heap cache would not fit in a Java array
   * @throws IllegalStateException if the layer is not causal
   */
  public KvCache newCache(int capacity, KvType type, Arena arena) {
    Objects.requireNonNull(type, "type must not be null");
    checkCache(capacity);
    return new KvCache(this, capacity, type, arena);
  }

  private void checkCache(int capacity) {
    if (!spec.causal()) {
      throw new IllegalStateException("a KV cache needs a causal layer: build it with causal(true)");
    }
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1, got " + capacity);
    }
  }

  private void checkTokens(float[] x, int tokens, float[] y, String tokensName) {
    Objects.requireNonNull(x, "x must not be null");
    Objects.requireNonNull(y, "y must not be null");
    if (tokens < 1) {
      throw new IllegalArgumentException(tokensName + " must be at least 1, got " + tokens);
    }
    long size = (long) tokens * modelDim;
    long headsSize = (long) tokens * queryHeads * headDim;
    if (size > Integer.MAX_VALUE - 8 || headsSize > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(tokens + " tokens are more than one call can hold in Java arrays");
    }
    if (x.length < size) {
      throw new IllegalArgumentException("x is too short for shape [" + tokensName + "=" + tokens
          + "][modelDim=" + modelDim + "]: expected at least " + size + " elements, got " + x.length);
    }
    if (y.length < size) {
      throw new IllegalArgumentException("y is too short for shape [" + tokensName + "=" + tokens
          + "][modelDim=" + modelDim + "]: expected at least " + size + " elements, got " + y.length);
    }
  }

  /** {@return the model (embedding) width, {@code d_model}} */
  public int modelDim() {
    return modelDim;
  }

  /** {@return the number of query heads} */
  public int queryHeads() {
    return queryHeads;
  }

  /** {@return the number of key/value heads; it divides {@link #queryHeads()}} */
  public int kvHeads() {
    return kvHeads;
  }

  /** {@return the width of one head, {@code d_k}} */
  public int headDim() {
    return headDim;
  }

  /** {@return whether each token attends only to itself and earlier tokens} */
  public boolean causal() {
    return spec.causal();
  }

  /**
   * {@return the attention spec the layer passes to its kernel (heads, head width, scale, causality, and
   *     the builder's variants)}
   */
  public AttentionSpec spec() {
    return spec;
  }

  /** {@return the attention kernel, which also decides the projections' backend} */
  public AttentionKernel kernel() {
    return kernel;
  }

  /** {@return the threads every call uses} */
  public Parallelism parallelism() {
    return parallelism;
  }

  /** {@return the rotary position embedding, or null if the layer has none (or one of rotaryDim 0)} */
  public RotaryEmbedding rotary() {
    return rotary;
  }

  @Override
  public String toString() {
    return "MultiHeadAttention[modelDim=" + modelDim + ", queryHeads=" + queryHeads + ", kvHeads=" + kvHeads
        + ", headDim=" + headDim + ", causal=" + spec.causal() + ", kernel=" + kernel.name() + ", "
        + parallelism + "]";
  }

  /**
   * Builds a {@link MultiHeadAttention}. Every dimension and weight is checked by {@link #build()}, which
   * names the offending argument and its expected shape.
   */
  public static final class Builder {
    private int modelDim;
    private int queryHeads;
    /** Null until set: then queryHeads. */
    private Integer kvHeads;
    /** Null until set: then modelDim / queryHeads. */
    private Integer headDim;
    private boolean causal;
    private int window;
    private boolean windowSet;
    private float softcap;
    private boolean softcapSet;
    private float[] sinks;
    private float[] alibiSlopes;
    private float[] wq;
    private float[] wk;
    private float[] wv;
    private float[] wo;
    private float[] bq;
    private float[] bk;
    private float[] bv;
    private float[] bo;
    private AttentionKernel kernel;
    private Parallelism parallelism = Parallelism.single();
    private RotaryEmbedding rotary;

    private Builder() {}

    /**
     * Sets the model (embedding) width.
     *
     * @param modelDim the embedding width {@code d_model}, at least 1 (required)
     * @return this builder
     */
    public Builder modelDim(int modelDim) {
      this.modelDim = modelDim;
      return this;
    }

    /**
     * Sets the number of query heads.
     *
     * @param queryHeads the number of query heads, at least 1 (required)
     * @return this builder
     */
    public Builder queryHeads(int queryHeads) {
      this.queryHeads = queryHeads;
      return this;
    }

    /**
     * Sets the number of key/value heads.
     *
     * @param kvHeads the number of key/value heads, dividing {@code queryHeads}: 1 for multi-query
     *     attention, fewer than {@code queryHeads} for grouped-query (default: {@code queryHeads})
     * @return this builder
     */
    public Builder kvHeads(int kvHeads) {
      this.kvHeads = kvHeads;
      return this;
    }

    /**
     * Sets the width of one head.
     *
     * @param headDim the width of one head {@code d_k}, 1 to {@link AttentionSpec#MAX_HEAD_DIM} (default:
     *     {@code modelDim / queryHeads}, which must then divide evenly)
     * @return this builder
     */
    public Builder headDim(int headDim) {
      this.headDim = headDim;
      return this;
    }

    /**
     * Sets whether attention is causal.
     *
     * @param causal whether token {@code i} attends only to tokens {@code 0..i} (default false); a
     *     {@link KvCache} needs a causal layer
     * @return this builder
     */
    public Builder causal(boolean causal) {
      this.causal = causal;
      return this;
    }

    /**
     * Sets a sliding window.
     *
     * @param window the sliding window of {@link AttentionSpec#withSlidingWindow}, at least 1: in a causal
     *     layer each token attends to itself and the {@code window − 1} tokens before it, in prefill and
     *     through a {@link KvCache} alike (a non-causal layer also sees every later token); default: none.
     *     Checked by {@link #build()}. The cache still holds every token (the window saves time, not memory).
     * @return this builder
     */
    public Builder slidingWindow(int window) {
      this.window = window;
      this.windowSet = true;
      return this;
    }

    /**
     * Sets logit soft-capping.
     *
     * @param cap the logit soft-cap of {@link AttentionSpec#withSoftcap}, finite and positive (default:
     *     none). Checked by {@link #build()}.
     * @return this builder
     */
    public Builder softcap(float cap) {
      this.softcap = cap;
      this.softcapSet = true;
      return this;
    }

    /**
     * Sets attention sinks.
     *
     * @param sinks one attention-sink logit per query head ({@link AttentionSpec#withSinks}; copied by
     *     {@link #build()}, default: none)
     * @return this builder
     */
    public Builder sinks(float[] sinks) {
      this.sinks = sinks;
      return this;
    }

    /**
     * Sets ALiBi slopes.
     *
     * @param slopes one ALiBi slope per query head ({@link AttentionSpec#withAlibiSlopes},
     *     {@link AttentionSpec#alibiSlopes(int)} for the paper's; copied by {@link #build()}, default: none)
     * @return this builder
     */
    public Builder alibiSlopes(float[] slopes) {
      this.alibiSlopes = slopes;
      return this;
    }

    /** The spec with this builder's variants; each wither checks its option and names it. */
    private AttentionSpec variants(AttentionSpec spec) {
      AttentionSpec result = spec;
      if (windowSet) {
        result = result.withSlidingWindow(window);
      }
      if (softcapSet) {
        result = result.withSoftcap(softcap);
      }
      if (sinks != null) {
        result = result.withSinks(sinks);
      }
      if (alibiSlopes != null) {
        result = result.withAlibiSlopes(alibiSlopes);
      }
      return result;
    }

    /**
     * Sets the query projection's weights.
     *
     * @param weights {@code Wq}, {@code [queryHeads·headDim][modelDim]} (required; copied by {@link #build()})
     * @return this builder
     */
    public Builder queryWeights(float[] weights) {
      this.wq = weights;
      return this;
    }

    /**
     * Sets the key projection's weights.
     *
     * @param weights {@code Wk}, {@code [kvHeads·headDim][modelDim]} (required; copied by {@link #build()})
     * @return this builder
     */
    public Builder keyWeights(float[] weights) {
      this.wk = weights;
      return this;
    }

    /**
     * Sets the value projection's weights.
     *
     * @param weights {@code Wv}, {@code [kvHeads·headDim][modelDim]} (required; copied by {@link #build()})
     * @return this builder
     */
    public Builder valueWeights(float[] weights) {
      this.wv = weights;
      return this;
    }

    /**
     * Sets the output projection's weights.
     *
     * @param weights {@code Wo}, {@code [modelDim][queryHeads·headDim]} (required; copied by {@link #build()})
     * @return this builder
     */
    public Builder outputWeights(float[] weights) {
      this.wo = weights;
      return this;
    }

    /**
     * Sets the query projection's bias.
     *
     * @param bias {@code bq}, {@code [queryHeads·headDim]}, or null for none (the default)
     * @return this builder
     */
    public Builder queryBias(float[] bias) {
      this.bq = bias;
      return this;
    }

    /**
     * Sets the key projection's bias.
     *
     * @param bias {@code bk}, {@code [kvHeads·headDim]}, or null for none (the default)
     * @return this builder
     */
    public Builder keyBias(float[] bias) {
      this.bk = bias;
      return this;
    }

    /**
     * Sets the value projection's bias.
     *
     * @param bias {@code bv}, {@code [kvHeads·headDim]}, or null for none (the default)
     * @return this builder
     */
    public Builder valueBias(float[] bias) {
      this.bv = bias;
      return this;
    }

    /**
     * Sets the output projection's bias.
     *
     * @param bias {@code bo}, {@code [modelDim]}, or null for none (the default)
     * @return this builder
     */
    public Builder outputBias(float[] bias) {
      this.bo = bias;
      return this;
    }

    /**
     * Sets the attention kernel.
     *
     * @param kernel the attention kernel, which also picks the projections' backend (default:
     *     {@link AttentionKernel#best()})
     * @return this builder
     */
    public Builder kernel(AttentionKernel kernel) {
      this.kernel = Objects.requireNonNull(kernel, "kernel must not be null");
      return this;
    }

    /**
     * Sets the threads.
     *
     * @param parallelism the threads every call of the layer uses (default {@link Parallelism#single()});
     *     the layer does not close it
     * @return this builder
     */
    public Builder parallelism(Parallelism parallelism) {
      this.parallelism = Objects.requireNonNull(parallelism, "parallelism must not be null");
      return this;
    }

    /**
     * Sets rotary position embeddings: queries and keys are rotated after their projection and before
     * attention, keys before they enter a {@link KvCache} (which therefore holds rotated keys). Positions:
     * {@code 0 .. seqLen−1} for {@link MultiHeadAttention#forward(float[], int, float[])}, and the cache's
     * length onwards for {@link MultiHeadAttention#forward(float[], int, KvCache, float[])}.
     *
     * @param rotary the embedding (its {@code rotaryDim} at most the head width), or null for none (the
     *     default)
     * @return this builder
     */
    public Builder rotary(RotaryEmbedding rotary) {
      this.rotary = rotary;
      return this;
    }

    /**
     * Checks everything and builds the layer, copying the weights.
     *
     * @return the layer
     * @throws IllegalArgumentException if a dimension is out of range, {@code kvHeads} does not divide
     *     {@code queryHeads}, {@code headDim} is not set and {@code modelDim} is not a multiple of
     *     {@code queryHeads}, or a weight or bias has the wrong length (the message names it and its
     *     expected shape)
     * @throws NullPointerException if a weight is missing
     */
    public MultiHeadAttention build() {
      if (modelDim < 1) {
        throw new IllegalArgumentException("modelDim must be at least 1, got " + modelDim);
      }
      if (queryHeads < 1) {
        throw new IllegalArgumentException("queryHeads must be at least 1, got " + queryHeads);
      }
      int kv = kvHeads == null ? queryHeads : kvHeads;
      int dim;
      if (headDim != null) {
        dim = headDim;
      } else {
        if (modelDim % queryHeads != 0) {
          throw new IllegalArgumentException("headDim is not set and modelDim " + modelDim
              + " is not a multiple of queryHeads " + queryHeads + ": set headDim");
        }
        dim = modelDim / queryHeads;
      }
      // Heads, kvHeads and headDim ranges, kvHeads dividing heads, and the variants are AttentionSpec's checks.
      variants(AttentionSpec.of(queryHeads, kv, dim));
      long qWidth = (long) queryHeads * dim;
      long kvWidth = (long) kv * dim;
      checkWeight(WQ, wq, qWidth, "queryHeads·headDim", modelDim, "modelDim");
      checkWeight(WK, wk, kvWidth, "kvHeads·headDim", modelDim, "modelDim");
      checkWeight(WV, wv, kvWidth, "kvHeads·headDim", modelDim, "modelDim");
      checkWeight(WO, wo, modelDim, "modelDim", qWidth, "queryHeads·headDim");
      checkBias("queryBias (bq)", bq, qWidth, "queryHeads·headDim");
      checkBias("keyBias (bk)", bk, kvWidth, "kvHeads·headDim");
      checkBias("valueBias (bv)", bv, kvWidth, "kvHeads·headDim");
      checkBias("outputBias (bo)", bo, modelDim, "modelDim");
      if (rotary != null && rotary.rotaryDim() > dim) {
        throw new IllegalArgumentException("rotary rotaryDim " + rotary.rotaryDim() + " exceeds headDim " + dim);
      }
      Builder checked = copy();
      checked.kvHeads = kv;
      checked.headDim = dim;
      if (checked.kernel == null) {
        checked.kernel = AttentionKernel.best();
      }
      return new MultiHeadAttention(checked);
    }

    private Builder copy() {
      Builder b = new Builder();
      b.modelDim = modelDim;
      b.queryHeads = queryHeads;
      b.causal = causal;
      b.wq = wq;
      b.wk = wk;
      b.wv = wv;
      b.wo = wo;
      b.bq = bq;
      b.bk = bk;
      b.bv = bv;
      b.bo = bo;
      b.kernel = kernel;
      b.parallelism = parallelism;
      b.rotary = rotary;
      b.window = window;
      b.windowSet = windowSet;
      b.softcap = softcap;
      b.softcapSet = softcapSet;
      b.sinks = sinks;
      b.alibiSlopes = alibiSlopes;
      return b;
    }

    private static void checkWeight(String name, float[] w, long rows, String rowsName, long columns,
        String columnsName) {
      Objects.requireNonNull(w, () -> name + " must be set");
      long expected = rows * columns;
      if (w.length != expected) {
        throw new IllegalArgumentException(name + " must have shape [" + rowsName + "=" + rows + "]["
            + columnsName + "=" + columns + "], " + expected + " elements; got " + w.length);
      }
    }

    private static void checkBias(String name, float[] b, long size, String sizeName) {
      if (b != null && b.length != size) {
        throw new IllegalArgumentException(name + " must have shape [" + sizeName + "=" + size + "], "
            + size + " elements; got " + b.length);
      }
    }
  }
}
