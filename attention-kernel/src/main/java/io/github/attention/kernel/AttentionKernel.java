package io.github.attention.kernel;

import io.github.attention.internal.lookup.BackendLookup;
import java.util.Objects;

/**
 * Scaled dot-product attention, {@code out = softmax(q·kᵀ·scale + mask)·v}, for every query head at once,
 * computed in one fused pass with an online softmax (no {@code qLen × kvLen} score matrix is built). The
 * spec's variants (sliding window, soft-cap, sinks, ALiBi: see {@link AttentionSpec}) apply to every overload
 * of this library's kernels (an implementation of this interface written elsewhere must read them from the
 * spec itself).
 *
 * <h2>Layouts</h2>
 * All arrays are row-major and token-major, and may be longer than needed: only the prefix described here
 * is read or written.
 * <ul>
 *   <li>{@code q} and {@code out}: {@code [qLen][queryHeads][headDim]}, element {@code (i, h, d)} at
 *       {@code (i * queryHeads + h) * headDim + d};
 *   <li>{@code k} and {@code v}: {@code [kvLen][kvHeads][headDim]}, element {@code (j, g, d)} at
 *       {@code (j * kvHeads + g) * headDim + d};
 *   <li>{@code mask}: {@code null}, or an additive {@code [qLen][kvLen]} mask shared by every head, element
 *       {@code (i, j)} at {@code i * kvLen + j}: {@code 0} keeps a key, {@code -Infinity} removes it, any other
 *       finite value is added to the scaled score.
 * </ul>
 * Query head {@code h} reads key/value head {@code h / (queryHeads / kvHeads)}.
 *
 * <h2>Causal masking</h2>
 * Causal masking is <em>bottom-right aligned</em>: query row {@code i} may see key {@code j} iff
 * {@code j <= i + (kvLen - qLen)}. With {@code qLen == kvLen} this is ordinary causal prefill; with
 * {@code qLen == 1} the single query sees every key (decoding one token over a KV cache); in general the
 * queries are the last {@code qLen} positions of a {@code kvLen}-token sequence. The explicit mask, if any,
 * applies in addition.
 *
 * <h2>Masked rows and non-finite values</h2>
 * A query row that sees no key (every key removed by the causal rule or by {@code -Infinity} mask entries)
 * outputs zeros, never NaN. Non-finite values in {@code q}, {@code k} and {@code v}, and {@code +Infinity} or
 * NaN in {@code mask}, are not rejected, and the affected output rows are garbage: a NaN or infinite value
 * row typically makes them NaN; a NaN or {@code +Infinity} score makes the row's sum of weights NaN, and such
 * a row comes out as zeros. A key removed by the mask still has its value row multiplied by a weight of exactly
 * zero, and {@code 0 × NaN} is NaN: do not rely on masking to hide non-finite data.
 *
 * <h2>Order of operations</h2>
 * Keys are taken in blocks of {@link Blocking#KEY_BLOCK} (64) with an online softmax (a running maximum and
 * sum per row). A call of at most {@link Blocking#SPLIT_MAX_QUERY_ROWS} (4) query rows over more than 256 keys
 * (decoding) also cuts its keys into chunks of {@link Blocking#chunkKeys(int)} keys (256, more for kvLen
 * above 16384, at most 64 chunks), aligned at key 0, whose results are merged in chunk order, so that the
 * chunks can run in parallel (split-KV); it is not split when its partial results would exceed 2²² floats
 * (with a sliding window, the chunks cover only the window's span). {@link Blocking} states these rules. Results depend on them and on the backend, never on the thread count
 * or on how far the JIT has compiled the code.
 *
 * <h2>Errors</h2>
 * Every argument is checked before anything is written: on an exception {@code out} is untouched. Null arrays
 * throw {@link NullPointerException}; non-positive lengths, arrays shorter than their shape, and an
 * {@code out} that is the same array as an input throw {@link IllegalArgumentException}. Each message names
 * the argument and gives the expected and actual size. Errors that are not about the arguments (an
 * {@link OutOfMemoryError} while growing scratch memory, an executor of a {@link Parallelism} that fails) can
 * happen mid-call; they are rethrown, and {@code out} may then be partly written.
 *
 * <h2>Threads</h2>
 * Kernels are stateless and thread-safe; they reuse per-thread scratch memory, so a steady stream of calls
 * allocates nothing. (A thread keeps the plans, how a call is cut into work items, of the 16 call shapes it
 * used last; a call of another shape allocates its plan once.) That memory grows to the largest call a
 * thread has run and lives as long as the thread: up to about 8 MiB for prepared keys and values of long
 * heads, plus up to 16 MiB of partial results for decoding calls split into key chunks. A call runs on the calling thread, or on several threads with
 * {@link #attend(AttentionSpec, int, int, float[], float[], float[], float[], float[], Parallelism)}; the
 * output is bitwise the same for every thread count.
 */
public interface AttentionKernel {

  /**
   * Computes attention for all query heads and writes it to {@code out}.
   *
   * @param spec heads, head width, scale and causality
   * @param qLen number of query rows (tokens), at least 1
   * @param kvLen number of key/value rows (tokens), at least 1
   * @param q queries, {@code [qLen][queryHeads][headDim]}, at least {@code qLen·queryHeads·headDim} long
   * @param k keys, {@code [kvLen][kvHeads][headDim]}, at least {@code kvLen·kvHeads·headDim} long
   * @param v values, {@code [kvLen][kvHeads][headDim]}, at least {@code kvLen·kvHeads·headDim} long
   * @param mask {@code null} or an additive mask {@code [qLen][kvLen]}, at least {@code qLen·kvLen} long
   * @param out output, {@code [qLen][queryHeads][headDim]}, at least {@code qLen·queryHeads·headDim} long;
   *     the first {@code qLen·queryHeads·headDim} elements are overwritten, the rest are untouched
   * @throws NullPointerException if {@code spec}, {@code q}, {@code k}, {@code v} or {@code out} is null
   * @throws IllegalArgumentException if a length is not positive, a shape's size overflows an
   *     {@code int}, an array is too short, or {@code out} is the same array as {@code q}, {@code k},
   *     {@code v} or {@code mask}
   */
  void attend(AttentionSpec spec, int qLen, int kvLen, float[] q, float[] k, float[] v, float[] mask,
      float[] out);

  /**
   * Computes attention as {@link #attend(AttentionSpec, int, int, float[], float[], float[], float[], float[])}
   * does, on the threads of {@code parallelism}. The work is cut into items by the shapes alone (KV head ×
   * block of query rows; for decoding-sized calls, chunks of the key range merged afterwards in a fixed
   * order, as in split-KV "FlashDecoding"), so the output is bitwise identical for every thread count, and
   * equal to the single-threaded overload's. The default implementation, for kernels other than this
   * library's, runs the single-threaded overload on the calling thread.
   *
   * @param spec heads, head width, scale and causality
   * @param qLen number of query rows (tokens), at least 1
   * @param kvLen number of key/value rows (tokens), at least 1
   * @param q queries, {@code [qLen][queryHeads][headDim]}
   * @param k keys, {@code [kvLen][kvHeads][headDim]}
   * @param v values, {@code [kvLen][kvHeads][headDim]}
   * @param mask {@code null} or an additive mask {@code [qLen][kvLen]}
   * @param out output, {@code [qLen][queryHeads][headDim]}
   * @param parallelism the threads to use; {@link Parallelism#single()} runs on the caller only
   * @throws NullPointerException as the single-threaded overload, or if {@code parallelism} is null
   * @throws IllegalArgumentException as the single-threaded overload
   * @throws IllegalStateException if {@code parallelism} is closed
   * @see #attend(AttentionSpec, int, int, float[], float[], float[], float[], float[])
   */
  default void attend(AttentionSpec spec, int qLen, int kvLen, float[] q, float[] k, float[] v, float[] mask,
      float[] out, Parallelism parallelism) {
    // Kernels of other implementations run on the calling thread; this library's use the threads.
    Objects.requireNonNull(parallelism, "parallelism must not be null");
    attend(spec, qLen, kvLen, q, k, v, mask, out);
  }

  /**
   * Computes attention as the array overload does, reading keys and values where an engine keeps them: any
   * {@link KvType}, layout or paging a {@link KvTensor} describes. The kernel widens 16- and 8-bit elements
   * to fp32 as it reads them and accumulates in fp32, so the result is what the array overload computes on
   * the widened values ({@link KvTensor#get}), within the same error bound. Reads the first {@code kvLen}
   * tokens of each tensor; {@code q}, {@code mask} and {@code out} are as in the array overload.
   *
   * <p>Checked before anything is written, in addition to the array overload's checks: each tensor's
   * {@code kvHeads} and {@code headDim} equal the spec's, {@code kvLen <= tokens()}, the block table entries
   * of the blocks the call reads lie in the pool, the segments are alive and readable by the calling thread,
   * and {@code out} is not a tensor's storage. The default implementation, for kernels other than this
   * library's, copies the widened values into new token-major arrays and calls the array overload (there a
   * block table entry outside its pool throws {@link IndexOutOfBoundsException}).
   *
   * @param spec heads, head width, scale and causality
   * @param qLen number of query rows, at least 1
   * @param kvLen number of keys and values to read, 1 to {@code k.tokens()} and {@code v.tokens()}
   * @param q queries, {@code [qLen][queryHeads][headDim]}
   * @param k keys
   * @param v values
   * @param mask {@code null} or an additive mask {@code [qLen][kvLen]}
   * @param out output, {@code [qLen][queryHeads][headDim]}
   * @throws NullPointerException if an argument other than {@code mask} is null
   * @throws IllegalArgumentException if a size does not match, a block table entry is outside its pool, or
   *     {@code out} is an input's storage; the message names the argument
   * @throws IllegalStateException if a tensor's segment belongs to a closed arena
   * @throws WrongThreadException if a tensor's segment is confined to another thread
   */
  default void attend(AttentionSpec spec, int qLen, int kvLen, float[] q, KvTensor k, KvTensor v, float[] mask,
      float[] out) {
    attend(spec, qLen, kvLen, q, k, v, mask, out, Parallelism.single());
  }

  /**
   * Computes attention over K/V tensors as
   * {@link #attend(AttentionSpec, int, int, float[], KvTensor, KvTensor, float[], float[])} does, on the
   * threads of {@code parallelism}; bitwise the same for every thread count.
   *
   * @param spec heads, head width, scale and causality
   * @param qLen number of query rows, at least 1
   * @param kvLen number of keys and values to read
   * @param q queries, {@code [qLen][queryHeads][headDim]}
   * @param k keys
   * @param v values
   * @param mask {@code null} or an additive mask {@code [qLen][kvLen]}
   * @param out output, {@code [qLen][queryHeads][headDim]}
   * @param parallelism the threads to use
   * @throws NullPointerException as the single-threaded overload, or if {@code parallelism} is null
   * @throws IllegalArgumentException as the single-threaded overload, or if a segment is confined to the
   *     calling thread and {@code parallelism} has more than one thread
   * @throws IllegalStateException as the single-threaded overload, or if {@code parallelism} is closed
   * @throws WrongThreadException as the single-threaded overload
   */
  default void attend(AttentionSpec spec, int qLen, int kvLen, float[] q, KvTensor k, KvTensor v, float[] mask,
      float[] out, Parallelism parallelism) {
    Objects.requireNonNull(k, "k must not be null");
    Objects.requireNonNull(v, "v must not be null");
    Objects.requireNonNull(spec, "spec must not be null");
    attend(spec, qLen, kvLen, q, widened(k, kvLen, spec, "k"), widened(v, kvLen, spec, "v"), mask, out,
        parallelism);
  }

  /**
   * Computes attention as
   * {@link #attend(AttentionSpec, int, int, float[], float[], float[], float[], float[], Parallelism)} does,
   * and also writes each row's log-sum-exp, as FlashAttention and FlexAttention's {@code return_lse} do:
   * {@code lse[i·queryHeads + h] = ln(e^(sink_h) + Σ_j e^(x_j))}, natural log, over the keys row {@code i}
   * sees, in the domain of the final logits {@code x_j} (after scale, soft-cap, mask and ALiBi), the sink
   * included if the spec has sinks. A row that sees no key gets {@code -Infinity} (its sink's logit if it has
   * one). With {@link LogSumExp#merge} the results of calls over disjoint sets of keys combine into the
   * result over their union (prefix caching, cascade attention).
   *
   * @param spec the problem, including any variants
   * @param qLen number of query rows, at least 1
   * @param kvLen number of key/value rows, at least 1
   * @param q queries, {@code [qLen][queryHeads][headDim]}
   * @param k keys, {@code [kvLen][kvHeads][headDim]}
   * @param v values, {@code [kvLen][kvHeads][headDim]}
   * @param mask {@code null} or an additive mask {@code [qLen][kvLen]}
   * @param out output, {@code [qLen][queryHeads][headDim]}
   * @param lse log-sum-exp output, {@code [qLen][queryHeads]}, at least {@code qLen·queryHeads} long
   * @param parallelism the threads to use
   * @throws NullPointerException if an argument other than {@code mask} is null
   * @throws IllegalArgumentException as the overload without {@code lse}, or if {@code lse} is too short or
   *     the same array as an input or {@code out}
   * @throws UnsupportedOperationException if this kernel is not one of this library's (the default)
   */
  default void attend(AttentionSpec spec, int qLen, int kvLen, float[] q, float[] k, float[] v, float[] mask,
      float[] out, float[] lse, Parallelism parallelism) {
    throw new UnsupportedOperationException(name() + " does not compute log-sum-exp");
  }

  /**
   * Computes attention over K/V tensors as
   * {@link #attend(AttentionSpec, int, int, float[], KvTensor, KvTensor, float[], float[], Parallelism)} does,
   * and writes each row's log-sum-exp as
   * {@link #attend(AttentionSpec, int, int, float[], float[], float[], float[], float[], float[], Parallelism)}
   * does.
   *
   * @param spec the problem, including any variants
   * @param qLen number of query rows, at least 1
   * @param kvLen number of keys and values to read
   * @param q queries, {@code [qLen][queryHeads][headDim]}
   * @param k keys
   * @param v values
   * @param mask {@code null} or an additive mask {@code [qLen][kvLen]}
   * @param out output, {@code [qLen][queryHeads][headDim]}
   * @param lse log-sum-exp output, {@code [qLen][queryHeads]}
   * @param parallelism the threads to use
   * @throws NullPointerException if an argument other than {@code mask} is null
   * @throws IllegalArgumentException as the overload without {@code lse}, or if {@code lse} is too short or
   *     an input's storage or {@code out}
   * @throws IllegalStateException as the overload without {@code lse}
   * @throws WrongThreadException as the overload without {@code lse}
   * @throws UnsupportedOperationException if this kernel does not compute log-sum-exps (the default widens
   *     the tensors and calls the array overload with {@code lse})
   */
  default void attend(AttentionSpec spec, int qLen, int kvLen, float[] q, KvTensor k, KvTensor v, float[] mask,
      float[] out, float[] lse, Parallelism parallelism) {
    Objects.requireNonNull(k, "k must not be null");
    Objects.requireNonNull(v, "v must not be null");
    Objects.requireNonNull(spec, "spec must not be null");
    attend(spec, qLen, kvLen, q, widened(k, kvLen, spec, "k"), widened(v, kvLen, spec, "v"), mask, out, lse,
        parallelism);
  }

  /**
   * Computes attention as the {@link KvTensor} overload does, with queries read from and outputs written to
   * fp32 rows in segments ({@link HeadRows}, any layout). Checked before anything is written, in addition:
   * each view's heads and width against the spec ({@code queryHeads}), {@code qLen} against its tokens, its
   * segment alive and readable by the calling thread, {@code out}'s segment writable, and {@code out}'s bytes
   * not overlapping those of {@code q}, {@code k}, {@code v} or {@code mask}. The output rows are written at
   * the end of the call, all at once. The default implementation, for kernels other than this library's,
   * copies the queries into a new array, calls the {@link KvTensor} overload and copies the output back.
   *
   * @param spec heads, head width, scale and causality
   * @param qLen number of query rows, at least 1, at most {@code q.tokens()} and {@code out.tokens()}
   * @param kvLen number of keys and values to read
   * @param q queries
   * @param k keys
   * @param v values
   * @param mask {@code null} or an additive mask {@code [qLen][kvLen]}
   * @param out output rows
   * @param parallelism the threads to use
   * @throws NullPointerException if an argument other than {@code mask} is null
   * @throws IllegalArgumentException as the {@link KvTensor} overload, or if a view does not match the spec or
   *     {@code qLen}, {@code out}'s segment is read-only, or {@code out} overlaps an input
   * @throws IllegalStateException if a segment's arena is closed, or {@code parallelism} is
   * @throws WrongThreadException if a segment is confined to another thread
   */
  default void attend(AttentionSpec spec, int qLen, int kvLen, HeadRows q, KvTensor k, KvTensor v, float[] mask,
      HeadRows out, Parallelism parallelism) {
    Objects.requireNonNull(spec, "spec must not be null");
    Objects.requireNonNull(q, "q must not be null");
    Objects.requireNonNull(out, "out must not be null");
    float[] queries = widened(q.asTensor(), qLen, AttentionSpec.of(spec.queryHeads(), spec.queryHeads(),
        spec.headDim()), "q");
    float[] result = new float[queries.length];
    attend(spec, qLen, kvLen, queries, k, v, mask, result, parallelism);
    KvTensor o = out.asTensor();
    for (int t = 0, x = 0; t < qLen; t++) {
      for (int h = 0; h < spec.queryHeads(); h++) {
        for (int d = 0; d < spec.headDim(); d++, x++) {
          long at = o.offset() + t * o.tokenStride() + h * o.headStride() + d;
          o.data().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, at, result[x]);
        }
      }
    }
  }

  /**
   * Computes attention for every sequence of {@code batch}, as a call of each alone would
   * ({@link #attend(AttentionSpec, int, int, float[], KvTensor, KvTensor, float[], float[], Parallelism)}),
   * with the work items of all of them run together on the threads of {@code parallelism}: a server decoding
   * many sequences keeps every thread busy. Each sequence's output is bitwise the same as a call of it alone
   * would give, for every thread count. Every sequence is checked before anything is written (messages start
   * with {@code "sequence i: "}); no sequence's output may be another's output or input. An empty batch does
   * nothing. The default implementation, for kernels other than this library's, checks nothing itself and
   * calls the single-sequence overload for each in turn, so there an invalid sequence is found only after
   * the ones before it were written.
   *
   * @param spec heads, head width, scale and causality, shared by every sequence
   * @param batch the sequences
   * @param parallelism the threads to use
   * @throws NullPointerException if an argument, or one of a sequence's, is null
   * @throws IllegalArgumentException if a sequence's arguments are invalid (as the single-sequence overload
   *     says), or outputs overlap
   * @throws IllegalStateException as the single-sequence overload, or if {@code parallelism} is closed
   * @throws WrongThreadException as the single-sequence overload
   */
  default void attend(AttentionSpec spec, AttentionBatch batch, Parallelism parallelism) {
    Objects.requireNonNull(batch, "batch must not be null");
    for (int s = 0; s < batch.size(); s++) {
      attend(spec, batch.qLen(s), batch.kvLen(s), batch.q(s), batch.k(s), batch.v(s), batch.mask(s),
          batch.out(s), parallelism);
    }
  }

  private static float[] widened(KvTensor t, int kvLen, AttentionSpec spec, String name) {
    if (t.kvHeads() != spec.kvHeads() || t.headDim() != spec.headDim() || kvLen <= 0 || kvLen > t.tokens()) {
      throw new IllegalArgumentException(name + " (" + t + ") does not match the spec " + spec + " and kvLen="
          + kvLen);
    }
    long size = (long) kvLen * t.kvHeads() * t.headDim();
    if (size > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(name + ": " + size + " elements do not fit in an array");
    }
    float[] a = new float[(int) size];
    for (int j = 0, i = 0; j < kvLen; j++) {
      for (int h = 0; h < t.kvHeads(); h++) {
        for (int d = 0; d < t.headDim(); d++) {
          a[i++] = t.get(j, h, d);
        }
      }
    }
    return a;
  }

  /**
   * A short name of this backend, for logs and reports: {@code "scalar"}, or {@code "vector-512"} and the
   * like, where the number is the SIMD width in bits.
   *
   * @return the backend's name
   */
  String name();

  /**
   * The plain-Java kernel. It runs the same blocked, online-softmax algorithm as {@link #vector()} with
   * scalar loops, so comparing the two measures what SIMD alone brings. Works on every JVM.
   *
   * @return the scalar kernel
   */
  static AttentionKernel scalar() {
    return BackendLookup.scalar();
  }

  /**
   * The Vector API kernel, using the preferred species of this machine (system property
   * {@code attention.vector.bits} = 128, 256 or 512 forces a narrower one, for testing).
   *
   * @return the vector kernel
   * @throws UnsupportedOperationException if the JDK's Vector API incubator module is not readable (add it
   *     with the JVM option {@code --add-modules}, as the README's "Requirements" shows)
   */
  static AttentionKernel vector() {
    return BackendLookup.vector();
  }

  /**
   * The fastest kernel available: {@link #vector()} when the Vector API incubator module is readable,
   * the JVM compiles code (not {@code -Xint}) and the vector kernel's species is at least 128 bits wide (the
   * preferred one, or the one {@code attention.vector.bits} forces: ARM NEON's 128 bits qualify), otherwise
   * {@link #scalar()}. The reason
   * for falling back is logged once, at level {@code WARNING} (module present but unusable) or {@code INFO}
   * (module not added), through {@link System.Logger} {@code io.github.attention.kernel}.
   *
   * @return the chosen kernel
   */
  static AttentionKernel best() {
    return BackendLookup.best();
  }
}
