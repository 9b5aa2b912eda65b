package io.github.attention.bench;

import java.util.Locale;

/** Writes {@link Results} as JSON by hand (the layout is small and fixed, not worth a library). */
final class JsonReport {

  private final StringBuilder json = new StringBuilder();

  private JsonReport() {}

  static String of(Results results) {
    return new JsonReport().write(results);
  }

  private String write(Results r) {
    Results.Environment env = r.environment();
    Results.Limits limits = r.limits();
    json.append("{\n");
    json.append("  \"environment\": {");
    field("cpu", env.cpu()).append(", ");
    field("cores", env.cores()).append(", ");
    field("java", env.java()).append(", ");
    field("vector_backend", env.vectorBackend()).append(", ");
    field("settings", env.settings()).append(", ");
    field("onnxruntime", env.ort()).append("},\n");
    json.append("  \"units\": {\"gflops\": \"GFLOP/s\", \"gbytes_per_s\": \"GB/s (1e9 bytes)\", ")
        .append("\"ms_per_call\": \"ms\", ")
        .append("\"ours_over_onnxruntime\": \"ONNX Runtime's ms per call / the vector kernel's, same thread")
        .append(" count (above 1: ours is faster)\", ")
        .append("\"alloc_bytes_per_call\": \"bytes allocated by the benchmark thread per call\", ")
        .append("\"gc_alloc_rate_norm\": \"bytes per call from JMH -prof gc, every thread of the fork\", ")
        .append("\"cpu_busy_percent\": \"all cores, system-wide, during the run (time the hypervisor stole")
        .append(" included)\", ")
        .append("\"cpu_others_percent\": \"all cores, used by processes other than the comparison and")
        .append(" its fork\", ")
        .append("\"memory_gbytes_per_s\": \"layer: weights and the K/V cached before the step;")
        .append(" attention alone: K and V (decode only)\", ")
        .append("\"derived_projection_gflops\": \"projection flops / (1/layer calls/s -")
        .append(" 1/attention calls/s), vector, 1 thread: derived from two runs, not measured\"},\n");
    json.append("  \"limits\": {");
    field("fma_peak_gflops", limits.peakGflops()).append(", ");
    field("dram_read_gbytes_per_s", limits.dramGbytes()).append("},\n");
    json.append("  \"shapes\": [\n");
    for (int i = 0; i < r.rows().size(); i++) {
      row(r.rows().get(i), limits);
      json.append(i + 1 < r.rows().size() ? ",\n" : "\n");
    }
    json.append("  ],\n");
    json.append("  \"layers\": [\n");
    for (int i = 0; i < r.layers().size(); i++) {
      layer(r.layers().get(i), limits);
      json.append(i + 1 < r.layers().size() ? ",\n" : "\n");
    }
    json.append("  ],\n");
    field("wall_seconds", r.seconds()).append("\n}\n");
    return json.toString();
  }

  private void row(Results.Row row, Results.Limits limits) {
    Shape s = row.shape();
    json.append("    {");
    field("id", s.id()).append(", ");
    field("q_len", s.qLen()).append(", ");
    field("kv_len", s.kvLen()).append(", ");
    field("query_heads", s.queryHeads()).append(", ");
    field("kv_heads", s.kvHeads()).append(", ");
    field("head_dim", s.headDim()).append(", ");
    field("causal", s.causal()).append(", ");
    field("flops_per_call", s.flops()).append(", ");
    field("kv_bytes", s.kvBytes()).append(",\n");
    json.append("      \"scalar\": ");
    run(row.scalar(), s, limits);
    json.append(",\n      \"vector\": ");
    run(row.vector(), s, limits);
    optionalRun("vector_2_threads", row.vector2(), s, limits);
    optionalRun("vector_128_bit", row.vector128(), s, limits);
    optionalRun("onnxruntime", row.ort(), s, limits);
    optionalRun("onnxruntime_2_threads", row.ort2(), s, limits);
    json.append(",\n      ");
    field("onnxruntime_note", row.ortNote()).append(", ");
    field("ours_over_onnxruntime", row.oursOverOrt(1)).append(", ");
    field("ours_over_onnxruntime_2_threads", row.oursOverOrt(2)).append(", ");
    field("speedup", row.speedup()).append(", ");
    field("speedup_128_bit", row.narrowSpeedup()).append(", ");
    field("vector_percent_of_fma_peak", row.percentOfPeak(limits, row.vector())).append(", ");
    field("vector_percent_of_dram_read", row.percentOfDram(limits)).append("}");
  }

  /** {@code ,\n "name": run} or {@code null} if it was not measured. */
  private void optionalRun(String name, Results.Run run, Shape shape, Results.Limits limits) {
    json.append(",\n      \"").append(name).append("\": ");
    if (run == null) {
      json.append("null");
    } else {
      run(run, shape, limits);
    }
  }

  private void run(Results.Run run, Shape shape, Results.Limits limits) {
    json.append("{");
    field("gflops", run.gflops()).append(", ");
    field("gflops_min", run.gflopsMin()).append(", ");
    field("gflops_max", run.gflopsMax()).append(", ");
    field("ms_per_call", run.msPerCall()).append(", ");
    field("kv_gbytes_per_s", shape.decode() ? run.gbytes() : Double.NaN).append(", ");
    runTail(run, limits);
  }

  private void layer(Results.LayerRow row, Results.Limits limits) {
    LayerShape s = row.shape();
    json.append("    {");
    field("id", s.id()).append(", ");
    field("model_dim", s.modelDim()).append(", ");
    field("query_heads", s.queryHeads()).append(", ");
    field("kv_heads", s.kvHeads()).append(", ");
    field("head_dim", s.headDim()).append(", ");
    field("causal", true).append(", ");
    field("tokens", s.tokens()).append(", ");
    field("cached_tokens", s.cached()).append(",\n      ");
    field("flops_per_call", s.flops()).append(", ");
    field("projection_flops_per_call", s.projectionFlops()).append(", ");
    field("attention_flops_per_call", s.attentionFlops()).append(", ");
    field("memory_bytes_per_call", s.decode() ? s.memoryBytes() : Double.NaN).append(",\n");
    layerRun("scalar_1_thread", row.scalar(), s, limits);
    layerRun("scalar_2_threads", row.scalar2(), s, limits);
    layerRun("vector_1_thread", row.vector(), s, limits);
    layerRun("vector_2_threads", row.vector2(), s, limits);
    layerRun("vector_attention_alone_1_thread", row.attention(), s, limits);
    json.append("      ");
    field("speedup", row.speedup()).append(", ");
    field("vector_2_thread_scaling", row.scaling()).append(", ");
    field("scalar_2_thread_scaling", row.scalarScaling()).append(", ");
    field("vector_percent_of_fma_peak", row.percentOfPeak(limits, row.vector())).append(",\n      ");
    field("derived_projection_gflops", row.projectionGflops()).append(", ");
    field("derived_projection_percent_of_fma_peak", row.projectionPercentOfPeak(limits)).append(", ");
    field("vector_percent_of_dram_read", row.percentOfDram(limits)).append("}");
  }

  /** A layer run, or null if it was left out; its GB/s are bytes from memory (decode only). */
  private void layerRun(String name, Results.Run run, LayerShape shape, Results.Limits limits) {
    json.append("      \"").append(name).append("\": ");
    if (run == null) {
      json.append("null,\n");
      return;
    }
    json.append("{");
    field("gflops", run.gflops()).append(", ");
    field("gflops_min", run.gflopsMin()).append(", ");
    field("gflops_max", run.gflopsMax()).append(", ");
    field("ms_per_call", run.msPerCall()).append(", ");
    field("memory_gbytes_per_s", shape.decode() ? run.gbytes() : Double.NaN).append(", ");
    runTail(run, limits);
    json.append(",\n");
  }

  private void runTail(Results.Run run, Results.Limits limits) {
    field("percent_of_fma_peak", 100 * run.gflops() / limits.peakGflops()).append(", ");
    field("alloc_bytes_per_call", run.allocBytesPerCall()).append(", ");
    field("gc_alloc_rate_norm", run.gcAllocNorm()).append(", ");
    field("cpu_busy_percent", 100 * run.cpuBusy()).append(", ");
    field("cpu_others_percent", 100 * run.cpuOthers()).append("}");
  }

  private StringBuilder field(String name, String value) {
    if (value == null) {
      return json.append('"').append(name).append("\": null");
    }
    json.append('"').append(name).append("\": \"");
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '"' -> json.append("\\\"");
        case '\\' -> json.append("\\\\");
        default -> {
          if (c < 0x20) {
            json.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
          } else {
            json.append(c);
          }
        }
      }
    }
    return json.append('"');
  }

  private StringBuilder field(String name, double value) {
    json.append('"').append(name).append("\": ");
    if (!Double.isFinite(value)) {
      return json.append("null"); // JSON has no NaN: "not applicable / not measured"
    }
    if (value == Math.rint(value) && Math.abs(value) < 1e15) {
      return json.append((long) value);
    }
    return json.append(String.format(Locale.ROOT, "%.6g", value).replaceFirst("\\.?0+(e|$)", "$1"));
  }

  private StringBuilder field(String name, long value) {
    return json.append('"').append(name).append("\": ").append(value);
  }

  private StringBuilder field(String name, boolean value) {
    return json.append('"').append(name).append("\": ").append(value);
  }
}
