package io.github.attention.verify;

import java.util.Map;
import java.util.TreeMap;

/**
 * The largest errors seen per backend, for the report: {@code |error| / A} (relative to the magnitude
 * {@code A_d} of the visible value rows, also in units of u = 2⁻²⁴) and {@code |error| / tolerance} (how
 * close to the derived bound the kernels come). The relative error is also grouped by the row's score
 * uncertainty {@link ErrorBound#scoreUncertainty}: rows whose float scores are uncertain by more than
 * about 1e-2 (scores of 1e4, wide heads) may legitimately swap near-tied keys, and would otherwise hide
 * the accuracy of ordinary rows. Relative errors are only taken where {@code A_d ≥ 2⁻¹⁰²}, above the
 * subnormal floor.
 */
final class ErrorStats {

  private static final double[] UNCERTAINTY_LIMITS = {1e-6, 1e-4, 1e-2, Double.POSITIVE_INFINITY};
  private static final String[] UNCERTAINTY_NAMES = {"score uncertainty <= 1e-6", "<= 1e-4", "<= 1e-2",
      "> 1e-2"};

  private final String title;
  /** Per backend: max err/A per uncertainty group, max err/tol, count. */
  private final Map<String, double[]> byBackend = new TreeMap<>();

  ErrorStats(String title) {
    this.title = title;
  }

  /**
   * Values below this are (nearly) subnormal in float, where rounding errors are absolute (the bound's
   * {@code MIN_NORMAL} floor), so an error relative to them says nothing: {@code u·A ≥ MIN_NORMAL}.
   */
  private static final double SMALLEST_RELATIVE = Float.MIN_NORMAL / 0x1p-24;

  /** Records one compared coordinate; {@code magnitude} is A_d. */
  synchronized void record(String backend, double error, double magnitude, double tolerance,
      double scoreUncertainty) {
    double[] s = byBackend.computeIfAbsent(backend, b -> new double[UNCERTAINTY_LIMITS.length + 2]);
    if (magnitude >= SMALLEST_RELATIVE) {
      int group = 0;
      while (scoreUncertainty > UNCERTAINTY_LIMITS[group]) {
        group++;
      }
      s[group] = Math.max(s[group], error / magnitude);
    }
    s[UNCERTAINTY_LIMITS.length] = Math.max(s[UNCERTAINTY_LIMITS.length], error / tolerance);
    s[UNCERTAINTY_LIMITS.length + 1]++;
  }

  @Override
  public String toString() {
    return title;
  }

  /** Prints one line per backend to System.out and forgets what was recorded. */
  synchronized void printAndReset() {
    byBackend.forEach((backend, s) -> {
      StringBuilder line = new StringBuilder(String.format("[error stats] %s, %s: max |err|/tol = %.3e;"
          + " max |err|/A", title, backend, s[UNCERTAINTY_LIMITS.length]));
      for (int g = 0; g < UNCERTAINTY_LIMITS.length; g++) {
        line.append(String.format(" %s: %.2e (%.1f u)%s", UNCERTAINTY_NAMES[g], s[g], s[g] / 0x1p-24,
            g + 1 < UNCERTAINTY_LIMITS.length ? "," : ";"));
      }
      line.append(String.format(" %d coordinates", (long) s[UNCERTAINTY_LIMITS.length + 1]));
      System.out.println(line);
    });
    byBackend.clear();
  }
}
