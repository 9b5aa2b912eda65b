package io.github.attention.internal.core;

import io.github.attention.kernel.Blocking;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Everything one thread reuses from call to call, in one place: the library's only {@code ThreadLocal}. All
 * of it grows on demand to the largest call the thread has run and is then reused, so steady calls
 * allocate nothing; it lives as long as the thread. Every size is computed here.
 *
 * <ul>
 *   <li>As a caller: the {@link Call} and the {@link Projection.Apply} in progress, recent {@link Plan}s,
 *       and a split call's {@link Partials};
 *   <li>for the work items it runs, whoever the caller: the packed and transposed keys and values, the
 *       block's scores and {@link BlockRows}, one {@link RowState} per KV head of an item, and a small tile
 *       for the backends' leaf operations;
 *   <li>for a layer's forward: its intermediate {@link LayerScratch}.
 * </ul>
 *
 * <h2>Re-entrancy</h2>
 * One rule: a thread runs at most one call of each {@link Activity} at a time. The only code of others that
 * runs inside a call is an executor's {@code execute()} (and a layer's own kernel, which the layer calls as
 * {@link Activity#ATTEND} inside its {@link Activity#FORWARD}); a call of an activity that is already running
 * on the thread is refused with {@link IllegalStateException} before it touches anything. (The thread
 * runtime adds its own: a thread inside a call through a {@code Parallelism} cannot start another through
 * the same one, see {@link io.github.attention.internal.parallel.WorkerTeam}.)
 */
public final class Workspace {

  private static final ThreadLocal<Workspace> CURRENT = ThreadLocal.withInitial(Workspace::new);

  /** The kinds of call that own parts of the workspace while they run. */
  public enum Activity {
    /** A kernel's {@code attend}: the call, plans, partials, item scratch. */
    ATTEND("attend"),
    /** A layer's {@code forward}: its intermediate results and projections. */
    FORWARD("forward");

    private final String method;

    Activity(String method) {
      this.method = method;
    }
  }

  /** Bits {@code 1 << ordinal} of the activities running on this thread. */
  private int running;

  // The calls this thread makes.
  final Call call = new Call();
  final Projection.Apply projection = new Projection.Apply();
  /** Plans of recent calls, most recently used first: a decoding loop's steps and a model's layers share them. */
  final Plan[] plans = new Plan[Plan.RECENT];
  final Partials partials = new Partials();
  /** Queries gathered from, and outputs for, a call's segments (see {@link #segmentRows}). */
  private float[] segmentQ = new float[0];
  private float[] segmentOut = new float[0];
  /** The same arrays as heap segments, made once per array: a segment-to-segment copy allocates nothing. */
  private MemorySegment segmentQView = MemorySegment.ofArray(segmentQ);
  private MemorySegment segmentOutView = MemorySegment.ofArray(segmentOut);
  /** A batch's sequences (see {@link BatchCall}). */
  final BatchCall batch = new BatchCall();

  // The work items this thread runs.
  final BlockRows blockRows = new BlockRows();
  RowState[] heads = new RowState[0];
  float[] kt = new float[0];
  float[] keys = new float[0];
  float[] values = new float[0];
  float[] preparedKeys = new float[0];
  float[] preparedValues = new float[0];
  float[] scores = new float[0];
  /** The INT8 scales of a block's rows, {@code [head][KEY_BLOCK]}, as {@link BlockOps#widen} takes them. */
  float[] rowScales = new float[0];
  /** Where each row of one head's block starts in its storage, for {@link KvAccess#STORED_ROWS}. */
  final long[] rowAt = new long[Blocking.KEY_BLOCK];
  /** Byte ranges of {@link BlockedAttention}'s pass over a paged block: where each starts, and its length. */
  final long[] passFrom = new long[Blocking.KEY_BLOCK];
  final long[] passLength = new long[Blocking.KEY_BLOCK];
  /** Which call ({@link Call#id}, from 1) and KV head {@link #preparedKeys} and {@link #preparedValues} hold. */
  private long preparedCall;
  private int preparedHead;
  /** Scratch for one leaf operation at a time, at least {@link BlockOps#tileFloats()} once items are sized. */
  float[] tile = new float[0];

  private final LayerScratch layer = new LayerScratch();

  private Workspace() {}

  /** @return the calling thread's workspace */
  public static Workspace current() {
    return CURRENT.get();
  }

  /**
   * Marks a call of {@code activity} as running on this thread.
   *
   * @throws IllegalStateException if one is already running on it
   */
  public void enter(Activity activity) {
    int bit = 1 << activity.ordinal();
    if ((running & bit) != 0) {
      throw new IllegalStateException(activity.method + " called on a thread that is already inside "
          + activity.method + " (from an executor's execute()?)");
    }
    running |= bit;
  }

  /** Marks the call of {@code activity} as finished. */
  public void leave(Activity activity) {
    running &= ~(1 << activity.ordinal());
  }

  /**
   * A scratch tile for one leaf operation (valid until the next operation on this thread).
   *
   * @param floats how many floats it needs
   */
  private float[] rotary = new float[0];

  /**
   * Scratch for one token's rotary {@code cos} and {@code sin} (the layer's, between its projections and
   * attention, on the calling thread).
   *
   * @param floats at least this many
   * @return the buffer
   */
  public float[] rotary(int floats) {
    if (rotary.length < floats) {
      rotary = new float[floats];
    }
    return rotary;
  }

  float[] tile(int floats) {
    if (tile.length < floats) {
      tile = new float[floats];
    }
    return tile;
  }

  /** @return at least {@code floats} floats for a call's queries gathered from a segment */
  float[] segmentRows(int floats) {
    if (segmentQ.length < floats) {
      segmentQ = new float[floats];
      segmentQView = MemorySegment.ofArray(segmentQ);
    }
    return segmentQ;
  }

  /** @return {@link #segmentRows}'s array as a segment (after it was sized) */
  MemorySegment segmentRowsView() {
    return segmentQView;
  }

  /** @return {@link #segmentOut}'s array as a segment (after it was sized) */
  MemorySegment segmentOutView() {
    return segmentOutView;
  }

  /** @return at least {@code floats} floats for a call's output before it is written to a segment */
  float[] segmentOut(int floats) {
    if (segmentOut.length < floats) {
      segmentOut = new float[floats];
      segmentOutView = MemorySegment.ofArray(segmentOut);
    }
    return segmentOut;
  }

  /** Sizes the item scratch for any item of {@code plan} over {@code kvLen} keys. */
  void ensureItems(Plan plan, int kvLen) {
    BlockOps ops = plan.ops();
    int rows = plan.rowsPerItem();
    int headCount = plan.headsPerItem();
    int paddedDim = plan.paddedDim();
    int headDim = plan.spec().headDim();
    int block = Blocking.KEY_BLOCK;
    if (plan.prepareHeads()) {
      int preparedBlocks = (kvLen + block - 1) / block;
      if (preparedKeys.length < preparedBlocks * block * headDim) {
        preparedKeys = new float[preparedBlocks * block * headDim];
        forgetPrepared();
      }
      if (preparedValues.length < preparedBlocks * block * paddedDim) {
        preparedValues = new float[preparedBlocks * block * paddedDim];
        forgetPrepared();
      }
    }
    if (plan.packs()) {
      if (kt.length < headDim * block) {
        kt = new float[headDim * block];
      }
      // At most Plan.PACKED_LIMIT floats: the plan gives items fewer heads otherwise.
      if (keys.length < headCount * block * paddedDim) {
        keys = new float[headCount * block * paddedDim];
        values = new float[headCount * block * paddedDim];
      }
    }
    if (rowScales.length < headCount * block) {
      rowScales = new float[headCount * block];
    }
    if (scores.length < rows * block) {
      scores = new float[rows * block];
    }
    blockRows.ensure(rows);
    if (heads.length < headCount) {
      heads = Arrays.copyOf(heads, headCount);
    }
    int lanes = ops.sumLanes();
    for (int h = 0; h < headCount; h++) {
      if (heads[h] == null || !heads[h].fits(rows, paddedDim, lanes)) {
        heads[h] = new RowState(rows, paddedDim, lanes);
      }
    }
    tile(ops.tileFloats());
  }

  /** @return whether the prepared keys and values are KV head {@code head} of call {@code callId} */
  boolean holdsPrepared(long callId, int head) {
    return preparedCall == callId && preparedHead == head;
  }

  void markPrepared(long callId, int head) {
    preparedCall = callId;
    preparedHead = head;
  }

  private void forgetPrepared() {
    preparedCall = 0;
  }

  /**
   * Drops what an item referred to of its call (the caller's mask, another thread's partial results), so
   * that a thread keeps nothing of a call once it has run its items.
   */
  void endItem(int headCount) {
    blockRows.release();
    for (int h = 0; h < headCount; h++) {
      heads[h].release();
    }
  }

  /** Sizes the partial results of split {@code plan}: one block per (chunk, KV head). */
  void ensurePartials(Plan plan) {
    ensurePartials(partials, plan);
  }

  /** Sizes {@code p} for the partial results of split {@code plan}. */
  static void ensurePartials(Partials p, Plan plan) {
    int kvHeads = plan.spec().kvHeads();
    int group = plan.spec().groupSize();
    p.ensure(plan.chunks() * kvHeads, plan.qLen() * group, plan.paddedDim());
  }

  /**
   * The layer's intermediate results, sized for a call.
   *
   * @param queryFloats floats of the projected queries (and of the heads' outputs)
   * @param kvFloats floats of the projected keys (and values)
   * @return this thread's layer scratch
   */
  public LayerScratch layer(int queryFloats, int kvFloats) {
    layer.ensure(queryFloats, kvFloats);
    return layer;
  }

  /** A layer call's intermediate results: projected queries, keys and values, and the heads' outputs. */
  public static final class LayerScratch {
    private float[] q = new float[0];
    private float[] k = new float[0];
    private float[] v = new float[0];
    private float[] heads = new float[0];

    private LayerScratch() {}

    void ensure(int queryFloats, int kvFloats) {
      if (q.length < queryFloats) {
        q = new float[queryFloats];
        heads = new float[queryFloats];
      }
      if (k.length < kvFloats) {
        k = new float[kvFloats];
        v = new float[kvFloats];
      }
    }

    /** @return the projected queries {@code [tokens][queryHeads·headDim]} */
    public float[] queries() {
      return q;
    }

    /** @return the projected keys {@code [tokens][kvHeads·headDim]} */
    public float[] keys() {
      return k;
    }

    /** @return the projected values {@code [tokens][kvHeads·headDim]} */
    public float[] values() {
      return v;
    }

    /** @return the heads' outputs, concatenated: {@code [tokens][queryHeads·headDim]} */
    public float[] heads() {
      return heads;
    }
  }
}
