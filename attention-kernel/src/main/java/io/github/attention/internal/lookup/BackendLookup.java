package io.github.attention.internal.lookup;

import io.github.attention.internal.core.Backend;
import io.github.attention.internal.core.BlockedAttention;
import io.github.attention.internal.scalar.ScalarBackend;
import io.github.attention.internal.vector.VectorBackend;
import io.github.attention.kernel.AttentionKernel;
import java.lang.System.Logger.Level;
import java.util.Optional;

/**
 * Chooses a backend, and hands out the kernels built on them, without linking any Vector API class until it
 * is known to be usable: a JVM started without the Vector API incubator module still loads the
 * library (the idea of Lucene's vectorization provider lookup). The same lookup tells a layer which backend
 * its kernel runs on, so that its projections run there too.
 */
public final class BackendLookup {

  // 128-bit vectors (ARM NEON, SSE-only x86) already run every shape several times faster than scalar code.
  private static final int MIN_USEFUL_BITS = 128;

  private static final BlockedAttention SCALAR = new BlockedAttention(ScalarBackend.INSTANCE);
  /**
   * The vector kernel once it exists. Here, not in {@link VectorHolder}: reading a field of the holder would
   * initialize it, and so link the Vector API.
   */
  private static volatile BlockedAttention vectorIssued;

  private BackendLookup() {}

  /** @return the scalar kernel */
  public static AttentionKernel scalar() {
    return SCALAR;
  }

  /**
   * @return the vector kernel
   * @throws UnsupportedOperationException if the incubator module is not readable
   */
  public static AttentionKernel vector() {
    if (!vectorModuleReadable()) {
      throw new UnsupportedOperationException("the vector kernel needs the " + VectorBackend.MODULE
          + " module: start the JVM with --add-modules " + VectorBackend.MODULE);
    }
    return VectorHolder.KERNEL;
  }

  /** @return the vector kernel where it is usable and worth it, else the scalar one (the reason is logged once) */
  public static AttentionKernel best() {
    return Best.KERNEL;
  }

  /**
   * The backend a layer built with {@code kernel} runs its projections on: the kernel's own when it is one
   * this lookup handed out, else the backend of {@link #best()} (another implementation of
   * {@link AttentionKernel} says nothing about matrix products).
   *
   * @param kernel an attention kernel, not null
   * @return its backend
   */
  public static Backend backendOf(AttentionKernel kernel) {
    if (kernel == SCALAR) {
      return SCALAR.backend();
    }
    BlockedAttention vector = vectorIssued;
    if (vector != null && kernel == vector) {
      return vector.backend();
    }
    return Best.KERNEL.backend();
  }

  private static boolean vectorModuleReadable() {
    Optional<Module> module = ModuleLayer.boot().findModule(VectorBackend.MODULE);
    return module.isPresent() && BackendLookup.class.getModule().canRead(module.get());
  }

  /** Initialized on first use only, after the module check, so that the vector backend links only then. */
  private static final class VectorHolder {
    static final BlockedAttention KERNEL = issue();

    private static BlockedAttention issue() {
      BlockedAttention kernel = new BlockedAttention(VectorBackend.INSTANCE);
      vectorIssued = kernel;
      return kernel;
    }
  }

  private static final class Best {
    static final BlockedAttention KERNEL = choose();

    private static BlockedAttention choose() {
      System.Logger log = System.getLogger("io.github.attention.kernel");
      if (!vectorModuleReadable()) {
        log.log(Level.INFO, "Vector API not enabled, using the scalar attention kernel; start the JVM with"
            + " --add-modules " + VectorBackend.MODULE + " for the SIMD kernel");
        return SCALAR;
      }
      String vmInfo = System.getProperty("java.vm.info", "");
      if (vmInfo.contains("interpreted mode")) {
        log.log(Level.WARNING, "the JVM runs in interpreted mode, where the Vector API is very slow;"
            + " using the scalar attention kernel");
        return SCALAR;
      }
      int bits = VectorBackend.bits();
      if (bits < MIN_USEFUL_BITS) {
        String which = System.getProperty(VectorBackend.BITS_PROPERTY) != null
            ? "the vector species (-D" + VectorBackend.BITS_PROPERTY + ")" : "the preferred vector species";
        log.log(Level.WARNING, which + " is only " + bits + " bits wide (at least " + MIN_USEFUL_BITS
            + " needed to beat scalar code); using the scalar attention kernel");
        return SCALAR;
      }
      return VectorHolder.KERNEL;
    }
  }
}
