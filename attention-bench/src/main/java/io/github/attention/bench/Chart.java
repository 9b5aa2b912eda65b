package io.github.attention.bench;

import java.util.Locale;

/**
 * Draws {@link Results} as one self-contained SVG (no scripts, no external fonts or styles): per shape, the
 * vector kernel's speedup over the scalar one, and how close each kernel gets to this machine's measured
 * limit (FMA peak for every shape, DRAM read bandwidth for decode); then, in a section of their own, the
 * layer workloads, with the 2-thread scaling and the projections' derived share.
 */
final class Chart {

  private static final int WIDTH = 1000;
  private static final int TOP = 118;
  private static final int ROW = 66;
  /** Height of the layer section's heading, from the end of the kernels' rows to its first row. */
  private static final int LAYER_HEAD = 94;
  private static final int LAYER_ROW = 80;
  private static final int LABEL_X = 20;
  private static final int SPEED_X = 275;
  private static final int SPEED_W = 240;
  private static final int PCT_X = 600;
  private static final int PCT_W = 330;
  private static final String VECTOR = "#2b6cb0";
  private static final String SCALAR = "#a0aec0";
  private static final String DRAM = "#dd6b20";
  private static final String TWO_THREADS = "#319795";
  private static final String PROJECTIONS = "#805ad5";
  private static final String NARROW = "#90cdf4";
  private static final String ORT = "#38a169";

  private final StringBuilder svg = new StringBuilder();

  private Chart() {}

  static String of(Results results) {
    return new Chart().draw(results);
  }

  private String draw(Results r) {
    Results.Limits limits = r.limits();
    int rows = r.rows().size();
    int layers = r.layers().size();
    int kernelsEnd = TOP + rows * ROW;
    int layerTop = kernelsEnd + LAYER_HEAD;
    int end = layers == 0 ? kernelsEnd : layerTop + layers * LAYER_ROW;
    int height = end + (layers == 0 ? 130 : 190);
    double maxSpeedup = 1;
    double maxPercent = 100;
    for (Results.Row row : r.rows()) {
      maxSpeedup = Math.max(maxSpeedup, finite(row.speedup()));
      maxSpeedup = Math.max(maxSpeedup, Math.max(finite(row.narrowSpeedup()), finite(row.oursOverOrt(1))));
      maxPercent = Math.max(maxPercent, finite(row.percentOfPeak(limits, row.vector())));
      maxPercent = Math.max(maxPercent, finite(row.percentOfDram(limits)));
    }
    for (Results.LayerRow row : r.layers()) {
      maxSpeedup = Math.max(maxSpeedup, Math.max(finite(row.speedup()), finite(row.scaling())));
      maxPercent = Math.max(maxPercent, finite(row.percentOfPeak(limits, row.vector())));
      maxPercent = Math.max(maxPercent, finite(twoCorePercent(row, limits)));
      maxPercent = Math.max(maxPercent, finite(row.projectionPercentOfPeak(limits)));
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

    text(SPEED_X, TOP - 20, 13, "bold", "#1a202c", "start", "Speedup over scalar; ours over ORT");
    text(PCT_X, TOP - 20, 13, "bold", "#1a202c", "start", "% of the machine's measured limit");
    axis(SPEED_X, SPEED_W, speedAxis, speedStep, TOP, kernelsEnd, true);
    axis(PCT_X, PCT_W, pctAxis, 25, TOP, kernelsEnd, false);

    for (int i = 0; i < rows; i++) {
      Results.Row row = r.rows().get(i);
      Shape s = row.shape();
      int y = TOP + i * ROW;
      shade(i, y, ROW);
      text(LABEL_X, y + 26, 14, "bold", "#1a202c", "start", s.id());
      text(LABEL_X, y + 44, 11, "normal", "#4a5568", "start", String.format(Locale.ROOT,
          "q %d \u00d7 kv %d, heads %d/%d, d %d%s", s.qLen(), s.kvLen(), s.queryHeads(), s.kvHeads(),
          s.headDim(), s.causal() ? ", causal" : ""));

      double speedup = row.speedup();
      bar(SPEED_X, y + 9, 14, SPEED_W * finite(speedup) / speedAxis, VECTOR,
          String.format(Locale.ROOT, "%.1f\u00d7", speedup));
      double narrow = row.narrowSpeedup();
      bar(SPEED_X, y + 26, 14, SPEED_W * finite(narrow) / speedAxis, NARROW,
          Double.isFinite(narrow) ? String.format(Locale.ROOT, "%.1f\u00d7 (128-bit)", narrow) : "");
      double overOrt = row.oursOverOrt(1);
      bar(SPEED_X, y + 43, 14, SPEED_W * finite(overOrt) / speedAxis, ORT,
          Double.isFinite(overOrt) ? String.format(Locale.ROOT, "%.2f\u00d7 ORT", overOrt)
              : row.ortNote() != null && r.environment().ort() != null ? "ORT: n/a" : "");

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

    if (layers > 0) {
      text(LABEL_X, kernelsEnd + 34, 16, "bold", "#1a202c", "start",
          "Attention layer, fp32: four projections + attention, vector on 1 and 2 threads");
      text(SPEED_X, layerTop - 20, 13, "bold", "#1a202c", "start", "Speedup; 2 threads over 1");
      text(PCT_X, layerTop - 20, 13, "bold", "#1a202c", "start", "% of the machine's measured limit");
      axis(SPEED_X, SPEED_W, speedAxis, speedStep, layerTop, end, true);
      axis(PCT_X, PCT_W, pctAxis, 25, layerTop, end, false);
      for (int i = 0; i < layers; i++) {
        layerRow(r.layers().get(i), limits, i, layerTop + i * LAYER_ROW, speedAxis, pctAxis);
      }
    }

    int legendY = end + 24;
    legend(SPEED_X, legendY, VECTOR, "vector (1 thread), of FMA peak");
    legend(SPEED_X + 200, legendY, SCALAR, "scalar (1 thread), of FMA peak");
    legend(SPEED_X + 400, legendY, DRAM, "vector bytes read, of DRAM read bandwidth (decode)");
    legend(SPEED_X, legendY + 20, NARROW, "vector forced to 128-bit, over scalar");
    legend(SPEED_X + 400, legendY + 20, ORT, "ONNX Runtime's time / ours, 1 thread (above 1: ours faster)");
    int notesY = legendY + 56;
    if (layers > 0) {
      legend(SPEED_X, legendY + 40, TWO_THREADS, "vector layer on 2 threads (% of 2 \u00d7 FMA peak)");
      legend(SPEED_X + 400, legendY + 40, PROJECTIONS, "projections alone, derived (prefill)");
      notesY += 20;
    }
    text(LABEL_X, notesY, 11, "normal", "#4a5568", "start",
        "GFLOP/s count 4\u00b7headDim flops per visible (query, key) pair and query head; the vector kernel's"
            + " GB/s count the bytes of K and V once per call. All numbers are in results.json.");
    if (layers > 0) {
      notesY += 18;
      text(LABEL_X, notesY, 11, "normal", "#4a5568", "start",
          "Layers add 2\u00b7tokens\u00b7in\u00b7out flops per projection; their decode GB/s count every"
              + " weight and the K/V cached before the step. Projections alone:");
      notesY += 18;
      text(LABEL_X, notesY, 11, "normal", "#4a5568", "start",
          "their flops over the layer's time minus attention's (measured alone on the same shape), vector,"
              + " 1 thread \u2014 derived from two runs, not measured.");
    }
    // One line per group of settings ("kernels; layers"): all on one line would not fit.
    String[] settings = r.environment().settings().split("; ");
    for (int i = 0; i < settings.length; i++) {
      notesY += 18;
      String line = (i == 0 ? "Short JMH runs, one fork each: " : "") + settings[i];
      text(LABEL_X, notesY, 11, "normal", "#4a5568", "start", line + (i + 1 < settings.length ? ";" : "."));
    }
    svg.append("</svg>\n");
    return svg.toString();
  }

  private void layerRow(Results.LayerRow row, Results.Limits limits, int i, int y, double speedAxis,
      double pctAxis) {
    LayerShape s = row.shape();
    shade(i, y, LAYER_ROW);
    text(LABEL_X, y + 26, 14, "bold", "#1a202c", "start", s.id());
    text(LABEL_X, y + 44, 11, "normal", "#4a5568", "start", s.decode()
        ? String.format(Locale.ROOT, "1 token after %d cached, causal", s.cached())
        : String.format(Locale.ROOT, "%d tokens, causal", s.tokens()));
    text(LABEL_X, y + 60, 11, "normal", "#4a5568", "start", String.format(Locale.ROOT,
        "d_model %d, heads %d/%d, d %d", s.modelDim(), s.queryHeads(), s.kvHeads(), s.headDim()));

    bar(SPEED_X, y + 14, 20, SPEED_W * finite(row.speedup()) / speedAxis, VECTOR,
        String.format(Locale.ROOT, "%.1f\u00d7", row.speedup()));
    bar(SPEED_X, y + 42, 20, SPEED_W * finite(row.scaling()) / speedAxis, TWO_THREADS,
        String.format(Locale.ROOT, "%.2f\u00d7 on 2 threads", row.scaling()));

    int barH = 13;
    int y0 = y + 8;
    double vectorPct = row.percentOfPeak(limits, row.vector());
    double twoPct = twoCorePercent(row, limits);
    double scalarPct = row.percentOfPeak(limits, row.scalar());
    bar(PCT_X, y0, barH, PCT_W * finite(vectorPct) / pctAxis, VECTOR,
        String.format(Locale.ROOT, "%.1f%%  (%.0f GFLOP/s)", vectorPct, row.vector().gflops()));
    bar(PCT_X, y0 + barH + 3, barH, PCT_W * finite(twoPct) / pctAxis, TWO_THREADS,
        String.format(Locale.ROOT, "%.1f%%  (%.0f GFLOP/s)", twoPct, row.vector2().gflops()));
    bar(PCT_X, y0 + 2 * (barH + 3), barH, PCT_W * finite(scalarPct) / pctAxis, SCALAR,
        String.format(Locale.ROOT, "%.1f%%", scalarPct));
    if (s.decode()) {
      double dramPct = row.percentOfDram(limits);
      bar(PCT_X, y0 + 3 * (barH + 3), barH, PCT_W * finite(dramPct) / pctAxis, DRAM,
          String.format(Locale.ROOT, "%.0f%%  (%.1f GB/s)", dramPct, row.vector().gbytes()));
    } else {
      double projectionPct = row.projectionPercentOfPeak(limits);
      bar(PCT_X, y0 + 3 * (barH + 3), barH, PCT_W * finite(projectionPct) / pctAxis, PROJECTIONS,
          String.format(Locale.ROOT, "%.1f%%  (%.0f GFLOP/s)", projectionPct, row.projectionGflops()));
    }
  }

  /** The 2-thread layer against twice one core's measured peak (both cores alike). */
  private static double twoCorePercent(Results.LayerRow row, Results.Limits limits) {
    return 100 * row.vector2().gflops() / (2 * limits.peakGflops());
  }

  private void shade(int i, int y, int height) {
    if (i % 2 == 1) {
      svg.append(String.format(Locale.ROOT,
          "<rect x=\"0\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#000\" fill-opacity=\"0.03\"/>\n",
          y, WIDTH, height));
    }
  }

  private void axis(int x, int width, double max, double step, int y0, int y1, boolean times) {
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
    // A label that would run off the right edge goes inside the bar instead (~6.5 px per character).
    if (x + w + 5 + 6.5 * label.length() > WIDTH) {
      text(x + w - 5, y + h / 2 + 4, 11, "normal", "white", "end", label);
    } else {
      text(x + Math.max(w, 1) + 5, y + h / 2 + 4, 11, "normal", "#1a202c", "start", label);
    }
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
