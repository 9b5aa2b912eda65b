package io.github.attention.verify;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.kernel.Blocking;
import io.github.attention.kernel.Parallelism;
import io.github.attention.verify.Problems.Recipe;
import java.util.concurrent.ForkJoinPool;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * The kernel on several threads gives the single-threaded output bit for bit, on every random problem of
 * {@link Problems} (masks, causal rows, short and long key ranges; those of at most 4 query rows over more than
 * 256 keys split their keys into chunks), for both backends, through owned workers and a user's executor. The
 * output is also checked against the reference once per problem.
 */
class ThreadCountTest {

  private static final Parallelism TWO = Parallelism.threads(2);
  private static final Parallelism THREE = Parallelism.threads(3);
  private static final Parallelism POOL = Parallelism.using(new ForkJoinPool(3), 4);

  @Provide
  Arbitrary<Recipe> problems() {
    return Problems.recipes();
  }

  @Provide
  Arbitrary<AttentionKernel> kernels() {
    return Arbitraries.of(AttentionKernel.scalar(), AttentionKernel.vector());
  }

  @Property
  void threadsDoNotChangeABit(@ForAll("problems") Recipe recipe, @ForAll("kernels") AttentionKernel kernel) {
    Problem p = recipe.build();
    Statistics.label("keys split into chunks").collect(
        Blocking.splits(p.qLen(), p.kvLen(), p.spec().queryHeads(), p.spec().headDim()));
    float[] single = p.run(kernel);
    Agreement.assertWithinBound(kernel.name(), p, single, p.reference(), null);
    for (Parallelism threads : new Parallelism[] {TWO, THREE, POOL}) {
      float[] out = p.newOut();
      kernel.attend(p.spec(), p.qLen(), p.kvLen(), p.q(), p.k(), p.v(), p.mask(), out, threads);
      for (int x = 0; x < out.length; x++) {
        if (Float.floatToRawIntBits(out[x]) != Float.floatToRawIntBits(single[x])) {
          throw new AssertionError(String.format("%s on %s: out[%d] = %s (bits %08x), single-threaded %s"
              + " (bits %08x); %s", kernel.name(), threads, x, out[x], Float.floatToRawIntBits(out[x]),
              single[x], Float.floatToRawIntBits(single[x]), p));
        }
      }
    }
  }

  @AfterContainer
  static void stopThreads() {
    TWO.close();
    THREE.close();
  }
}
