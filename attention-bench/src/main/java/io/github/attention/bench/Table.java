package io.github.attention.bench;

import java.util.Locale;

/** Formats {@link Results} as the plain-text table {@link Compare} prints. */
final class Table {

  private static final String FORMAT = "%-19s %8s %8s %8s %8s %8s %8s %7s %7s%n";

  private Table() {}

  static String of(Results r) {
    Results.Limits limits = r.limits();
    StringBuilder t = new StringBuilder();
    t.append(String.format(Locale.ROOT, "Measured limits of one core: fp32 FMA peak %.1f GFLOP/s, DRAM read"
        + " %.1f GB/s.%n%n", limits.peakGflops(), limits.dramGbytes()));
    t.append(String.format(Locale.ROOT, FORMAT, "", "scalar", "vector", "", "vector", "vector", "vector",
        "% of", "alloc"));
    t.append(String.format(Locale.ROOT, FORMAT, "shape", "GFLOP/s", "GFLOP/s", "speedup", "% peak",
        "ms/call", "K/V GB/s", "DRAM", "B/call"));
    for (Results.Row row : r.rows()) {
      boolean decode = row.shape().decode();
      t.append(String.format(Locale.ROOT, FORMAT, row.shape().id(),
          number(row.scalar().gflops(), 2),
          number(row.vector().gflops(), 1),
          number(row.speedup(), 1) + "x",
          number(row.percentOfPeak(limits, row.vector()), 1) + "%",
          number(row.vector().msPerCall(), 3),
          decode ? number(row.vector().gbytes(), 1) : "-",
          decode ? number(row.percentOfDram(limits), 0) + "%" : "-",
          number(row.vector().allocBytesPerCall(), 0)));
    }
    t.append(String.format(Locale.ROOT, "%n"
        + "speedup = vector / scalar GFLOP/s; %% peak = vector GFLOP/s / measured FMA peak;%n"
        + "K/V GB/s (decode only) = bytes of K and V per call x calls/s; %% of DRAM = that / measured read"
        + " bandwidth;%nalloc = bytes the benchmark thread allocated per vector call.%n"));
    return t.toString();
  }

  private static String number(double value, int decimals) {
    return Double.isFinite(value) ? String.format(Locale.ROOT, "%." + decimals + "f", value) : "n/a";
  }
}
