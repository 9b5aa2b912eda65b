package io.github.attention.bench;

import io.github.attention.kernel.AttentionBatch;
import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.AttentionSpec;
import io.github.attention.kernel.KvTensor;
import io.github.attention.kernel.Parallelism;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * batch-decode-16x2k: one decoding step of 16 sequences in one call, each one query token over its own 2048
 * cached tokens, 32 query heads sharing 8 KV heads of 128, K and V bf16 in one paged pool (16-token blocks,
 * each sequence's blocks shuffled). Reports calls/s, GFLOP/s and K/V GB/s (bytes as stored).
 *
 * <p>Not final: JMH generates subclasses of state classes.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {
    "--add-modules", "jdk.incubator.vector", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 2)
public class BatchBench {

  static final int SEQUENCES = 16;
  static final int CACHED = 2048;
  static final int BLOCK_TOKENS = 16;
  static final AttentionSpec SPEC = AttentionSpec.of(32, 8, 128);

  /** Threads of the call. */
  @Param({"1", "2"})
  public int threads = 1;

  /** {@code scalar} or {@code vector}. */
  @Param({"vector"})
  public String backend = "vector";

  AttentionKernel kernel;
  AttentionBatch batch;
  private Parallelism parallelism;
  private double gflopPerCall;
  private double gbytesPerCall;

  /** Builds the pool, the tables and the batch. */
  @Setup(Level.Trial)
  public void setup() {
    kernel = backend.equals("scalar") ? AttentionKernel.scalar() : AttentionKernel.vector();
    parallelism = threads == 1 ? Parallelism.single() : Parallelism.threads(threads);
    SplittableRandom random = new SplittableRandom(Problem.SEED);
    int row = SPEC.kvHeads() * SPEC.headDim();
    int blocksPerSequence = CACHED / BLOCK_TOKENS;
    int poolBlocks = SEQUENCES * blocksPerSequence;
    short[] keys = new short[poolBlocks * BLOCK_TOKENS * row];
    short[] values = new short[keys.length];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = (short) (Float.floatToRawIntBits((float) random.nextGaussian()) >>> 16);
      values[i] = (short) (Float.floatToRawIntBits((float) random.nextGaussian()) >>> 16);
    }
    KvTensor keyPool = KvTensor.bf16(keys, poolBlocks * BLOCK_TOKENS, SPEC.kvHeads(), SPEC.headDim());
    KvTensor valuePool = KvTensor.bf16(values, poolBlocks * BLOCK_TOKENS, SPEC.kvHeads(), SPEC.headDim());
    int[] order = new int[poolBlocks];
    for (int b = 0; b < poolBlocks; b++) {
      order[b] = b;
    }
    for (int b = poolBlocks - 1; b > 0; b--) {
      int other = random.nextInt(b + 1);
      int swap = order[b];
      order[b] = order[other];
      order[other] = swap;
    }
    batch = new AttentionBatch();
    int width = SPEC.queryHeads() * SPEC.headDim();
    for (int s = 0; s < SEQUENCES; s++) {
      int[] table = java.util.Arrays.copyOfRange(order, s * blocksPerSequence, (s + 1) * blocksPerSequence);
      float[] q = new float[width];
      for (int x = 0; x < width; x++) {
        q[x] = (float) random.nextGaussian();
      }
      batch.set(s, 1, CACHED, q, KvTensor.paged(keyPool, BLOCK_TOKENS, table),
          KvTensor.paged(valuePool, BLOCK_TOKENS, table), null, new float[width]);
    }
    gflopPerCall = 4.0 * SPEC.headDim() * SPEC.queryHeads() * CACHED * SEQUENCES / 1e9;
    gbytesPerCall = 2.0 * CACHED * row * Short.BYTES * SEQUENCES / 1e9;
  }

  /** Stops the worker threads, if any. */
  @TearDown(Level.Trial)
  public void tearDown() {
    parallelism.close();
  }

  /**
   * One decoding step of the 16 sequences.
   *
   * @param work counts flops and K/V bytes
   * @return the first sequence's output
   */
  @Benchmark
  public float[] decodeStep(WorkCounters work) {
    kernel.attend(SPEC, batch, parallelism);
    work.gflop += gflopPerCall;
    work.gbytes += gbytesPerCall;
    return batch.out(0);
  }
}
