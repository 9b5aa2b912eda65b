package io.github.attention.bench;

import java.util.Locale;

/** Formats {@link Results} as the plain-text tables {@link Compare} prints: kernels, then layers. */
final class Table {

  private static final String FORMAT = "%-29s %8s %8s %8s %8s %8s %8s %7s %7s %8s %8s %8s%n";
  private static final String ORT_FORMAT = "%-29s %8s %8s %8s %8s %8s %8s %8s  %s%n";
  private static final String LAYER_FORMAT = "%-19s %7s %7s %7s %7s %7s %7s %7s %7s %7s %6s %6s%n";

  private Table() {}

  static String of(Results r) {
    Results.Limits limits = r.limits();
    StringBuilder t = new StringBuilder();
    t.append(String.format(Locale.ROOT, "Measured limits of one core: fp32 FMA peak %.1f GFLOP/s, DRAM read"
        + " %.1f GB/s.%n%n", limits.peakGflops(), limits.dramGbytes()));
    t.append(String.format(Locale.ROOT, FORMAT, "", "scalar", "vector", "", "vector", "vector", "vector",
        "% of", "alloc", "128-bit", "128-bit", "128-bit"));
    t.append(String.format(Locale.ROOT, FORMAT, "shape", "GFLOP/s", "GFLOP/s", "speedup", "% peak",
        "ms/call", "K/V GB/s", "DRAM", "B/call", "GFLOP/s", "speedup", "B/call"));
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
          number(row.vector().allocBytesPerCall(), 0),
          row.vector128() == null ? "-" : number(row.vector128().gflops(), 1),
          row.vector128() == null ? "-" : number(row.narrowSpeedup(), 1) + "x",
          row.vector128() == null ? "-" : number(row.vector128().allocBytesPerCall(), 0)));
    }
    t.append(String.format(Locale.ROOT, "%n"
        + "speedup = vector / scalar GFLOP/s; %% peak = vector GFLOP/s / measured FMA peak;%n"
        + "K/V GB/s (decode only) = bytes of K and V per call x calls/s; %% of DRAM = that / measured read"
        + " bandwidth;%nalloc = bytes the benchmark thread allocated per vector call; 128-bit = the vector"
        + " kernel forced to 128-bit vectors%n(ARM NEON's width), speedup over scalar, bytes allocated per"
        + " call.%n"));
    if (r.environment().ort() != null) {
      t.append(String.format(Locale.ROOT, "%n"));
      ort(t, r);
    }
    if (!r.layers().isEmpty()) {
      t.append(String.format(Locale.ROOT, "%n"));
      layers(t, r);
    }
    return t.toString();
  }

  private static void ort(StringBuilder t, Results r) {
    Results.Limits limits = r.limits();
    t.append(String.format(Locale.ROOT, "Against ONNX Runtime %s (CPU, fp32, same inputs), vector kernel on 1 and"
        + " 2 threads:%n%n", r.environment().ort()));
    t.append(String.format(Locale.ROOT, ORT_FORMAT, "", "ours", "ORT", "ORT", "ours /", "ours", "ORT",
        "ours /", ""));
    t.append(String.format(Locale.ROOT, ORT_FORMAT, "shape", "ms/call", "ms/call", "% peak", "ORT",
        "2 thr.", "2 thr.", "ORT 2t", "note"));
    for (Results.Row row : r.rows()) {
      t.append(String.format(Locale.ROOT, ORT_FORMAT, row.shape().id(),
          number(row.vector().msPerCall(), 3),
          row.ort() == null ? "-" : number(row.ort().msPerCall(), 3),
          row.ort() == null ? "-" : number(row.percentOfPeak(limits, row.ort()), 1) + "%",
          ratio(row.oursOverOrt(1)),
          row.vector2() == null ? "-" : number(row.vector2().msPerCall(), 3),
          row.ort2() == null ? "-" : number(row.ort2().msPerCall(), 3),
          ratio(row.oursOverOrt(2)),
          row.ortNote() == null ? "" : row.ortNote()));
    }
    t.append(String.format(Locale.ROOT, "%n"
        + "ours / ORT = ORT's ms per call / ours (above 1: ours is faster); ORT %% peak = its GFLOP/s of the"
        + " same visible pairs%n/ measured FMA peak of one core; ORT threads = intra-op threads.%n"));
  }

  private static String ratio(double value) {
    return Double.isFinite(value) ? number(value, 2) + "x" : "-";
  }

  private static void layers(StringBuilder t, Results r) {
    Results.Limits limits = r.limits();
    t.append(String.format(Locale.ROOT, "Attention layer (four projections + attention), vector on 1 and 2"
        + " threads:%n%n"));
    t.append(String.format(Locale.ROOT, LAYER_FORMAT, "", "scalar", "vector", "vector", "", "2-thr.",
        "vector", "proj.", "proj.", "decode", "% of", "alloc"));
    t.append(String.format(Locale.ROOT, LAYER_FORMAT, "layer workload", "GFLOP/s", "GFLOP/s", "2 thr.",
        "speedup", "scaling", "% peak", "GFLOP/s", "% peak", "GB/s", "DRAM", "B/call"));
    StringBuilder scalarScaling = new StringBuilder();
    for (Results.LayerRow row : r.layers()) {
      boolean decode = row.shape().decode();
      t.append(String.format(Locale.ROOT, LAYER_FORMAT, row.shape().id(),
          number(row.scalar().gflops(), 2),
          number(row.vector().gflops(), 1),
          number(row.vector2().gflops(), 1),
          number(row.speedup(), 1) + "x",
          number(row.scaling(), 2) + "x",
          number(row.percentOfPeak(limits, row.vector()), 1) + "%",
          decode ? "-" : number(row.projectionGflops(), 1),
          decode ? "-" : number(row.projectionPercentOfPeak(limits), 1) + "%",
          decode ? number(row.vector().gbytes(), 1) : "-",
          decode ? number(row.percentOfDram(limits), 0) + "%" : "-",
          number(row.maxAllocBytesPerCall(), 0)));
      if (row.scalar2() != null) {
        scalarScaling.append(scalarScaling.isEmpty() ? "" : ", ").append(row.shape().id()).append(' ')
            .append(number(row.scalarScaling(), 2)).append('x');
      }
    }
    t.append(String.format(Locale.ROOT, "%n"
        + "GFLOP/s count the projections (2*tokens*in*out each) and attention (4*headDim per visible pair and"
        + " query head);%n"
        + "vector 1 thread unless marked: 2 thr. = on 2 threads, 2-thr. scaling = that / 1 thread; speedup ="
        + " vector / scalar;%n"
        + "%% peak = of the measured FMA peak of one core; proj. (prefill) = projection flops / (layer time -"
        + " attention-alone%ntime) per call, derived from two runs, not measured;"
        + " decode GB/s = (weights + K/V cached) bytes x calls/s;%n"
        + "%% of DRAM = that / measured read bandwidth of one core; alloc = most bytes per call the benchmark"
        + " thread allocated%nin any of the workload's runs.%n"));
    if (!scalarScaling.isEmpty()) {
      t.append(String.format(Locale.ROOT, "Scalar layer, 2 threads / 1 thread: %s.%n", scalarScaling));
    }
  }

  private static String number(double value, int decimals) {
    return Double.isFinite(value) ? String.format(Locale.ROOT, "%." + decimals + "f", value) : "n/a";
  }
}
