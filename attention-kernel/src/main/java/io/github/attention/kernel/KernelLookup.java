package io.github.attention.kernel;

import java.lang.System.Logger.Level;
import java.util.Optional;

/**
 * Chooses a backend without linking any Vector API class until it is known to be usable, so that a JVM
 * started without {@code --add-modules jdk.incubator.vector} still loads this library (the same idea as
 * Lucene's vectorization provider lookup).
 */
final class KernelLookup {

  static final String VECTOR_MODULE = "jdk.incubator.vector";
  private static final int MIN_USEFUL_BITS = 256;

  private KernelLookup() {}

  static AttentionKernel scalar() {
    return ScalarAttention.INSTANCE;
  }

  static AttentionKernel vector() {
    if (!vectorModuleReadable()) {
      throw new UnsupportedOperationException(
          "the vector kernel needs the " + VECTOR_MODULE + " module: start the JVM with --add-modules "
              + VECTOR_MODULE);
    }
    return VectorHolder.INSTANCE;
  }

  static AttentionKernel best() {
    return Best.INSTANCE;
  }

  static boolean vectorModuleReadable() {
    Optional<Module> module = ModuleLayer.boot().findModule(VECTOR_MODULE);
    return module.isPresent() && KernelLookup.class.getModule().canRead(module.get());
  }

  /** Initialized on first use only, after the module check, so the class below links only then. */
  private static final class VectorHolder {
    static final AttentionKernel INSTANCE = new VectorAttention();
  }

  private static final class Best {
    static final AttentionKernel INSTANCE = choose();

    private static AttentionKernel choose() {
      System.Logger log = System.getLogger("io.github.attention.kernel");
      if (!vectorModuleReadable()) {
        log.log(Level.INFO, "Vector API not enabled, using the scalar attention kernel; start the JVM with"
            + " --add-modules " + VECTOR_MODULE + " for the SIMD kernel");
        return ScalarAttention.INSTANCE;
      }
      String vmInfo = System.getProperty("java.vm.info", "");
      if (vmInfo.contains("interpreted mode")) {
        log.log(Level.WARNING, "the JVM runs in interpreted mode, where the Vector API is very slow;"
            + " using the scalar attention kernel");
        return ScalarAttention.INSTANCE;
      }
      int bits = VectorAttention.vectorBits();
      if (bits < MIN_USEFUL_BITS) {
        String which = System.getProperty(VectorAttention.BITS_PROPERTY) != null
            ? "the vector species (-D" + VectorAttention.BITS_PROPERTY + ")" : "the preferred vector species";
        log.log(Level.WARNING, which + " is only " + bits + " bits wide (at least " + MIN_USEFUL_BITS
            + " needed to beat scalar code); using the scalar attention kernel");
        return ScalarAttention.INSTANCE;
      }
      return VectorHolder.INSTANCE;
    }
  }
}
