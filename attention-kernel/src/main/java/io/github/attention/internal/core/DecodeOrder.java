package io.github.attention.internal.core;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * </table>
 *
 * Zen 4's prefetchers do not stream the address-order pattern, whose accesses jump a token stride (4 KiB at
 * 8 heads × 128) between rows; Intel's do, and then overlap memory with arithmetic, which a separate read
 * pass cannot (Java has no prefetch instruction). Not measured on Zen 5 yet. The order is chosen once per JVM
 * by {@link #forThisMachine}.
 */
public enum DecodeOrder {

  /**
   * Token-major blocks are computed straight from memory, {@link BlockOps#keyStep()} keys of every head at a
   * time for the scores and then 16 keys of every head at a time for the values, so that the block is read
   * in address order while the tiles compute. Head-major blocks are read once (K and V) and then computed
   * head by head.
   */
  ADDRESS_ORDER,

  /**
   * The block's keys are read once in address order, which streams them into L2, and every head's scores
   * computed from there; then the same for its values.
   */
  READ_THEN_COMPUTE;

  /** System property that overrides the choice: {@code address_order} or {@code read_then_compute}. */
  public static final String PROPERTY = "io.github.attention.decodeOrder";

  private static final DecodeOrder CHOSEN = choose(System.getProperty(PROPERTY), vendor());

  /**
   * @return {@link #PROPERTY}'s order if it names one; else {@link #ADDRESS_ORDER} on an Intel processor
   *     (vendor {@code GenuineIntel} in {@code /proc/cpuinfo}) and {@link #READ_THEN_COMPUTE} elsewhere, which
   *     relies on no prefetcher behaviour
   */
  public static DecodeOrder forThisMachine() {
    return CHOSEN;
  }

  /**
   * @param forced the value of {@link #PROPERTY}, or null
   * @param vendor the processor vendor, if known
   * @return the order {@link #forThisMachine} gives for them
   */
  static DecodeOrder choose(String forced, Optional<String> vendor) {
    if (forced != null) {
      try {
        return valueOf(forced.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        System.getLogger("io.github.attention.kernel").log(Level.WARNING, "-D" + PROPERTY + "=" + forced
            + " names no decoding order (address_order or read_then_compute); choosing by processor");
      }
    }
    return vendor.filter("GenuineIntel"::equals).isPresent() ? ADDRESS_ORDER : READ_THEN_COMPUTE;
  }

  /** The processor vendor as Linux reports it, if it does. */
  private static Optional<String> vendor() {
    Path cpuinfo = Path.of("/proc/cpuinfo");
    if (!Files.isReadable(cpuinfo)) {
      return Optional.empty();
    }
    try (Stream<String> lines = Files.lines(cpuinfo)) {
      return lines.filter(line -> line.startsWith("vendor_id"))
          .findFirst()
          .map(line -> line.substring(line.indexOf(':') + 1).trim());
    } catch (IOException | UncheckedIOException | SecurityException e) {
      return Optional.empty();
    }
  }
}
