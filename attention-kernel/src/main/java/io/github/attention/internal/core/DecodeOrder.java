package io.github.attention.internal.core;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The order in which a decoding item reads fp32 K and V in place, block by block. Both orders compute the
 * same tiles in the same order per head, so they give the same bits; they differ only in how the block's
 * memory is touched, and the two processor kinds measured rank them oppositely (decode-32k-gqa, one thread,
 * best of 3, alternating runs in one session each):
 *
 * <table>
 *   <caption>calls/s</caption>
 *   <tr><th>machine</th><th>{@link #ADDRESS_ORDER}</th><th>{@link #READ_THEN_COMPUTE}</th></tr>
 *   <tr><td>Intel Xeon (AVX-512, 2 MiB L2)</td><td>38.9 (2 threads: 88.6)</td>
 *       <td>not measured; head by head after one pass over K and V: 35.0–37.0 (73.5–77.2)</td></tr>
 *   <tr><td>AMD EPYC Zen 4 (family 25 model 17, 1 MiB L2)</td><td>30.6–34.2 (2 threads: 54.7–63.2)</td>
 *       <td>45.1–49.1 (82.4–85.0); head by head after one pass over K and V: 44.9–46.6 (77.7–80.1)</td></tr>
 *   <tr><td>AMD EPYC Zen 3 (family 25 model 1, AVX2 only, 1 MiB L2; median ms per call turned into
 *       calls/s, two runs each)</td><td>31.9, 28.2 (2 threads: 53.8, 58.6)</td>
 *       <td>23.0, 20.8 (35.1, 37.4)</td></tr>
 * </table>
 *
 * Zen 4's prefetchers do not stream the address-order pattern, whose accesses jump a token stride (4 KiB at
 * 8 heads × 128) between rows; Intel's do, and then overlap memory with arithmetic, which a separate read
 * pass cannot (Java has no prefetch instruction). Zen 3's rank them as Intel's do; what separates Zen 3 from
 * Zen 4 here is not established, so the rule goes by what tells the two apart, AVX-512. Not measured on Zen
 * 5 yet (it has AVX-512, so it reads first). The order is chosen once per JVM
 * by {@link #forThisMachine}.
 */
public enum DecodeOrder {

  /**
   * Token-major blocks are computed straight from memory, {@link BlockOps#addressOrderScoreKeys()} keys of
   * every head at a time for the scores and then {@link BlockOps#addressOrderValueKeys()} keys of every head
   * at a time for the values, so that the block is read in address order while the tiles compute.
   * Head-major blocks are read once (K and V) and then computed head by head.
   */
  ADDRESS_ORDER,

  /**
   * The block's keys are read once in address order, which streams them into L2, and every head's scores
   * computed from there; then the same for its values.
   */
  READ_THEN_COMPUTE;

  /** System property that overrides the choice: {@code address_order} or {@code read_then_compute}. */
  public static final String PROPERTY = "io.github.attention.decodeOrder";

  private static final DecodeOrder CHOSEN =
      choose(System.getProperty(PROPERTY), cpuinfo("vendor_id"), cpuinfo("flags")
          .map(flags -> Arrays.asList(flags.split("\\s+")).contains("avx512f")).orElse(false));

  /**
   * @return {@link #PROPERTY}'s order if it names one; else {@link #ADDRESS_ORDER} on an Intel processor
   *     (vendor {@code GenuineIntel} in {@code /proc/cpuinfo}) and on an AMD one without AVX-512 (measured
   *     on Zen 3), {@link #READ_THEN_COMPUTE} on AMD with AVX-512 (Zen 4) and elsewhere, where it relies on
   *     no prefetcher behaviour
   */
  public static DecodeOrder forThisMachine() {
    return CHOSEN;
  }

  /**
   * @param forced the value of {@link #PROPERTY}, or null
   * @param vendor the processor vendor, if known
   * @param avx512 whether the processor has AVX-512 ({@code avx512f} among its flags)
   * @return the order {@link #forThisMachine} gives for them
   */
  static DecodeOrder choose(String forced, Optional<String> vendor, boolean avx512) {
    if (forced != null) {
      try {
        return valueOf(forced.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        System.getLogger("io.github.attention.kernel").log(Level.WARNING, "-D" + PROPERTY + "=" + forced
            + " names no decoding order (address_order or read_then_compute); choosing by processor");
      }
    }
    String v = vendor.orElse("");
    return v.equals("GenuineIntel") || v.equals("AuthenticAMD") && !avx512 ? ADDRESS_ORDER : READ_THEN_COMPUTE;
  }

  /** The first value of {@code field} in {@code /proc/cpuinfo}, if Linux reports it. */
  private static Optional<String> cpuinfo(String field) {
    Path cpuinfo = Path.of("/proc/cpuinfo");
    if (!Files.isReadable(cpuinfo)) {
      return Optional.empty();
    }
    try (Stream<String> lines = Files.lines(cpuinfo)) {
      return lines.filter(line -> line.startsWith(field))
          .findFirst()
          .map(line -> line.substring(line.indexOf(':') + 1).trim());
    } catch (IOException | UncheckedIOException | SecurityException e) {
      return Optional.empty();
    }
  }
}
