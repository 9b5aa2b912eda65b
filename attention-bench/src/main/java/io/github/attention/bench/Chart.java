package io.github.attention.bench;

import java.util.Locale;

/**
 * Draws {@link Results} as one self-contained SVG (no scripts, no external fonts or styles): per shape, the
 * vector kernel's speedup over the scalar one, and how close each kernel gets to this machine's measured
 * limit (FMA peak for every shape, DRAM read bandwidth for decode).
 */
final class Chart {

  private static final int WIDTH = 1000;
  private static final int TOP = 118;
  private static final int ROW = 66;
  private static final int LABEL_X = 20;
  private static final int SPEED_X = 275;
  private static final int SPEED_W = 240;
  private static final int PCT_X = 600;
  private static final int PCT_W = 330;
  private static final String VECTOR = "#2b6cb0";
  private static final String SCALAR = "#a0aec0";
  private static final String DRAM = "#dd6b20";

  private final StringBuilder svg = new StringBuilder();

  private Chart() {}

  static String of(Results results) {
    return new Chart().draw(results);
  }

  private String draw(Results r) {
    Results.Limits limits = r.limits();
    int rows = r.rows().size();
    int height = TOP + rows * ROW + 110;
    double maxSpeedup = 1;
    double maxPercent = 100;
    for (Results.Row row : r.rows()) {
      maxSpeedup = Math.max(maxSpeedup, finite(row.speedup()));
      maxPercent = Math.max(maxPercent, finite(row.percentOfPeak(limits, row.vector())));
      maxPercent = Math.max(maxPercent, finite(row.percentOfDram(limits)));
    }
    double speedStep = niceCeiling(maxSpeedup * 1.08 / 6);
    double speedAxis = Math.ceil(maxSpeedup * 1.08 / speedStep) * speedStep;
    double pctAxis = Math.ceil(maxPercent / 25) * 25;

    svg.append(String.format(Locale.ROOT,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\""
            + " font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
        WIDTH, height, WIDTH, height));
    svg.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
        WIDTH, height));
    text(LABEL_X, 30, 19, "bold", "#1a202c", "start",
        "Attention kernels, fp32, one thread: Vector API vs scalar");
    Results.Environment env = r.environment();
    text(LABEL_X, 52, 12, "normal", "#4a5568", "start", env.cpu() + " \u00b7 " + env.java() + " \u00b7 "
        + env.vectorBackend());
    text(LABEL_X, 70, 12, "normal", "#4a5568", "start", String.format(Locale.ROOT,
        "Measured limits of one core: %.0f GFLOP/s fp32 FMA peak, %.1f GB/s streaming DRAM read",
        limits.peakGflops(), limits.dramGbytes()));

    text(SPEED_X, TOP - 20, 13, "bold", "#1a202c", "start", "Speedup of vector over scalar");
    text(PCT_X, TOP - 20, 13, "bold", "#1a202c", "start", "% of the machine's measured limit");
    axis(SPEED_X, SPEED_W, speedAxis, speedStep, rows, true);
    axis(PCT_X, PCT_W, pctAxis, 25, rows, false);

    for (int i = 0; i < rows; i++) {
      Results.Row row = r.rows().get(i);
      Shape s = row.shape();
      int y = TOP + i * ROW;
      if (i % 2 == 1) {
        svg.append(String.format(Locale.ROOT,
            "<rect x=\"0\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#000\" fill-opacity=\"0.03\"/>\n",
            y, WIDTH, ROW));
      }
      text(LABEL_X, y + 26, 14, "bold", "#1a202c", "start", s.id());
      text(LABEL_X, y + 44, 11, "normal", "#4a5568", "start", String.format(Locale.ROOT,
          "q %d \u00d7 kv %d, heads %d/%d, d %d%s", s.qLen(), s.kvLen(), s.queryHeads(), s.kvHeads(),
          s.headDim(), s.causal() ? ", causal" : ""));

      double speedup = row.speedup();
      bar(SPEED_X, y + 21, 22, SPEED_W * finite(speedup) / speedAxis, VECTOR,
          String.format(Locale.ROOT, "%.1f\u00d7", speedup));

      boolean decode = s.decode();
      int barH = decode ? 13 : 17;
      int y0 = y + (decode ? 10 : 15);
      double vectorPct = row.percentOfPeak(limits, row.vector());
      double scalarPct = row.percentOfPeak(limits, row.scalar());
      bar(PCT_X, y0, barH, PCT_W * finite(vectorPct) / pctAxis, VECTOR,
          String.format(Locale.ROOT, "%.1f%%  (%.0f GFLOP/s)", vectorPct, row.vector().gflops()));
      bar(PCT_X, y0 + barH + 3, barH, PCT_W * finite(scalarPct) / pctAxis, SCALAR,
          String.format(Locale.ROOT, "%.1f%%", scalarPct));
      if (decode) {
        double dramPct = row.percentOfDram(limits);
        bar(PCT_X, y0 + 2 * (barH + 3), barH, PCT_W * finite(dramPct) / pctAxis, DRAM,
            String.format(Locale.ROOT, "%.0f%%  (%.1f GB/s K/V)", dramPct, row.vector().gbytes()));
      }
    }

    int legendY = TOP + rows * ROW + 24;
    legend(SPEED_X, legendY, VECTOR, "vector kernel, of FMA peak");
    legend(SPEED_X + 200, legendY, SCALAR, "scalar kernel, of FMA peak");
    legend(SPEED_X + 400, legendY, DRAM, "vector K/V read, of DRAM read bandwidth (decode)");
    text(LABEL_X, legendY + 36, 11, "normal", "#4a5568", "start",
        "GFLOP/s count 4\u00b7headDim flops per visible (query, key) pair and query head; the vector kernel's"
            + " GB/s count the bytes of K and V once per call. All numbers are in results.json.");
    text(LABEL_X, legendY + 54, 11, "normal", "#4a5568", "start",
        "Short JMH runs, one fork each: " + r.environment().settings() + ".");
    svg.append("</svg>\n");
    return svg.toString();
  }

  private void axis(int x, int width, double max, double step, int rows, boolean times) {
    int y0 = TOP;
    int y1 = TOP + rows * ROW;
    for (int tick = 0; tick * step <= max * (1 + 1e-9); tick++) {
      double v = tick * step;
      double gx = x + width * v / max;
      boolean mark = !times && v == 100;
      svg.append(String.format(Locale.ROOT,
          "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" stroke-width=\"%s\"%s/>\n",
          gx, y0 - 6, gx, y1, mark ? "#718096" : "#e2e8f0", mark ? "1.5" : "1",
          mark ? " stroke-dasharray=\"4 3\"" : ""));
      text(gx, y0 - 8, 10, "normal", "#718096", "middle",
          times ? tick(v) + "\u00d7" : String.format(Locale.ROOT, "%.0f%%", v));
    }
  }

  private static String tick(double v) {
    if (v == Math.rint(v)) {
      return String.format(Locale.ROOT, "%.0f", v);
    }
    return String.format(Locale.ROOT, "%.2f", v).replaceFirst("0+$", "");
  }

  private void bar(double x, double y, double h, double w, String color, String label) {
    svg.append(String.format(Locale.ROOT,
        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" rx=\"2\"/>\n",
        x, y, Math.max(w, 1), h, color));
    text(x + Math.max(w, 1) + 5, y + h / 2 + 4, 11, "normal", "#1a202c", "start", label);
  }

  private void legend(int x, int y, String color, String label) {
    svg.append(String.format(Locale.ROOT,
        "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\" rx=\"2\"/>\n", x, y - 6, color));
    text(x + 17, y + 4, 11, "normal", "#1a202c", "start", label);
  }

  private void text(double x, double y, int size, String weight, String color, String anchor, String s) {
    svg.append(String.format(Locale.ROOT,
        "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" font-weight=\"%s\" fill=\"%s\" text-anchor=\"%s\">",
        x, y, size, weight, color, anchor));
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '<' -> svg.append("&lt;");
        case '>' -> svg.append("&gt;");
        case '&' -> svg.append("&amp;");
        default -> svg.append(c);
      }
    }
    svg.append("</text>\n");
  }

  private static double finite(double v) {
    return Double.isFinite(v) ? Math.max(v, 0) : 0;
  }

  /** The smallest round number (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten) at least {@code v}. */
  static double niceCeiling(double v) {
    double p = Math.pow(10, Math.floor(Math.log10(v)));
    for (double m : new double[] {1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10}) {
      if (m * p >= v) {
        return m * p;
      }
    }
    return 10 * p;
  }
}
