package io.github.attention.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;

/** The comparison's outputs, from made-up numbers: well-formed, complete, and honest about missing values. */
class ReportTest {

  private static Results sample() {
    Results.Run scalar = new Results.Run(1, 5, 4.5, 5.5, 0.5, 0, 120, 0.5, 0.01, 3);
    Results.Run vector = new Results.Run(30, 150, 140, 160, 12, Double.NaN, 40, 0.5, Double.NaN, 5);
    Results.Limits limits = new Results.Limits(new Results.Run(100, 262, 260, 264, 0, 0, 0, 0.5, 0, 3),
        new Results.Run(1, 0, 0, 0, 40, 0, 0, 0.5, 0, 3));
    // Layer calls: 25 ms in all, 5 ms of attention alone, so the projections take 20 ms.
    Results.Run layerScalar = new Results.Run(0.5, 2.5, 2.4, 2.6, 0.1, 0, 900, 0.5, 0, 9);
    Results.Run layerVector = new Results.Run(40, 175, 170, 180, 8, 0, 50, 0.5, 0, 9);
    Results.Run layerVector2 = new Results.Run(72, 315, 300, 320, 14, 0, 60, 1, 0, 9);
    Results.Run attention = new Results.Run(200, 100, 90, 110, 20, 0, 10, 0.5, 0, 9);
    List<Results.LayerRow> layers = new ArrayList<>();
    for (LayerShape shape : LayerShape.values()) {
      // The first workload's scalar layer on 2 threads was left out.
      Results.Run scalar2 = shape.ordinal() == 0 ? null : layerScalar;
      layers.add(new Results.LayerRow(shape, layerScalar, scalar2, layerVector, layerVector2, attention));
    }
    // prefill-1k alone has the 2-thread, 128-bit and ORT runs: ORT 40 calls/s on 1 thread (ours 30), 50 on 2
    // (ours 60); 128-bit 60 GFLOP/s, allocating 96 bytes per call.
    Results.Run vector2 = new Results.Run(60, 300, 290, 310, 24, 0, 40, 1, 0, 5);
    Results.Run vector128 = new Results.Run(12, 60, 58, 62, 4.8, 96, 40, 0.5, 0, 5);
    Results.Run ort = new Results.Run(40, 200, 190, 210, 16, 0, 4000, 0.5, 0, 4);
    Results.Run ort2 = new Results.Run(50, 250, 240, 260, 20, 0, 4000, 1, 0, 4);
    List<Results.Row> rows = Arrays.stream(Shape.values())
        .map(s -> s == Shape.PREFILL_1K ? new Results.Row(s, scalar, vector, vector2, vector128, ort, ort2, null)
            : new Results.Row(s, scalar, vector, null, null, null, null, "not for ORT"))
        .toList();
    return new Results(new Results.Environment("Test CPU <&>", 2, "JDK 25", "vector-512", "short \"runs\"",
        "1.23.2"), limits, rows, layers, 60);
  }

  @Test
  void projectionsAreDerivedFromTheLayerAndAttentionAlone() {
    Results.LayerRow prefill = sample().layers().get(LayerShape.LAYER_PREFILL_512.ordinal());
    // 2·512·1024·4096 projection flops in 25 ms − 5 ms.
    assertEquals(4.294967296 / 0.020, prefill.projectionGflops(), 1e-9);
    assertEquals(1.8, prefill.scaling(), 1e-12);
    assertTrue(Double.isNaN(prefill.scalarScaling()));
    assertTrue(Double.isNaN(prefill.percentOfDram(sample().limits())));
  }

  @Test
  void oursOverOrtIsTheirTimeOverOurs() {
    Results.Row prefill = sample().rows().get(Shape.PREFILL_1K.ordinal());
    assertEquals(0.75, prefill.oursOverOrt(1), 1e-12);
    assertEquals(1.2, prefill.oursOverOrt(2), 1e-12);
    assertEquals(12, prefill.narrowSpeedup(), 1e-12);
    Results.Row decode = sample().rows().get(Shape.DECODE_4K_GQA.ordinal());
    assertTrue(Double.isNaN(decode.oursOverOrt(1)) && Double.isNaN(decode.narrowSpeedup()));
  }

  @Test
  void ortTableShowsBothThreadCountsAndTheNotes() {
    String table = Table.of(sample());
    assertTrue(table.contains("Against ONNX Runtime 1.23.2"));
    List<String> prefill = table.lines().filter(line -> line.startsWith("prefill-1k ")).toList();
    assertEquals(2, prefill.size()); // the kernels' table and ORT's
    // ours 33.3 ms, ORT 25 ms, ORT at 76.3% of peak (200 of 262 GFLOP/s), 0.75x; 2 threads 16.7 / 20 ms, 1.2x.
    assertEquals(List.of("33.333", "25.000", "76.3%", "0.75x", "16.667", "20.000", "1.20x"),
        Arrays.asList(prefill.get(1).substring("prefill-1k".length()).trim().split("\\s+")));
    String kernels = prefill.get(0);
    assertTrue(kernels.endsWith(" 60.0    12.0x       96"), kernels);
    assertTrue(table.lines().anyMatch(line -> line.startsWith("decode-4k-gqa ") && line.endsWith("not for ORT")));
    Results full = sample();
    Results withoutOrt = new Results(new Results.Environment("cpu", 2, "JDK 25", "vector-512", "s", null),
        full.limits(), full.rows(), full.layers(), 60);
    assertFalse(Table.of(withoutOrt).contains("ONNX Runtime"));
    assertTrue(JsonReport.of(withoutOrt).contains("\"onnxruntime\": null},"));
  }

  @Test
  void jsonHasEveryShapeAndNullForMissingValues() {
    String json = JsonReport.of(sample());
    for (Shape shape : Shape.values()) {
      assertTrue(json.contains("\"id\": \"" + shape.id() + "\""), shape.id());
    }
    assertTrue(json.contains("\"alloc_bytes_per_call\": null"));
    assertTrue(json.contains("\"settings\": \"short \\\"runs\\\"\""));
    assertFalse(json.contains("NaN") || json.contains("Infinity"));
    assertEquals(count(json, '{'), count(json, '}'));
    assertEquals(count(json, '['), count(json, ']'));
    assertTrue(json.contains("\"speedup\": 30,"));
    for (LayerShape shape : LayerShape.values()) {
      assertTrue(json.contains("\"id\": \"" + shape.id() + "\""), shape.id());
    }
    assertTrue(json.contains("\"scalar_2_threads\": null,"));
    assertTrue(json.contains("\"derived_projection_gflops\": 214.748,"));
    assertTrue(json.contains("\"vector_2_thread_scaling\": 1.8,"));
    assertTrue(json.contains("\"cpu_others_percent\": null"));
    assertTrue(json.contains("\"ours_over_onnxruntime\": 0.75, \"ours_over_onnxruntime_2_threads\": 1.2,"));
    assertTrue(json.contains("\"onnxruntime_2_threads\": null,"));
    assertTrue(json.contains("\"onnxruntime_note\": \"not for ORT\""));
    assertTrue(json.contains("\"onnxruntime\": \"1.23.2\""));
  }

  @Test
  void chartIsWellFormedSvg() throws Exception {
    String svg = Chart.of(sample());
    var document = DocumentBuilderFactory.newInstance().newDocumentBuilder()
        .parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
    assertEquals("svg", document.getDocumentElement().getNodeName());
    for (Shape shape : Shape.values()) {
      assertTrue(svg.contains(">" + shape.id() + "<"), shape.id());
    }
    for (LayerShape shape : LayerShape.values()) {
      assertTrue(svg.contains(">" + shape.id() + "<"), shape.id());
    }
    assertTrue(svg.contains("1.80\u00d7 on 2 threads"));
    assertTrue(svg.contains(">0.75\u00d7 ORT<"));
    assertTrue(svg.contains(">12.0\u00d7 (128-bit)<"));
    assertTrue(svg.contains(">ORT: n/a<"));
    assertFalse(svg.contains("NaN"));
  }

  @Test
  void tableHasARowPerShape() {
    String table = Table.of(sample());
    for (Shape shape : Shape.values()) {
      assertTrue(table.lines().anyMatch(line -> line.startsWith(shape.id() + " ")), shape.id());
    }
    assertTrue(table.contains("30.0x"));
    for (LayerShape shape : LayerShape.values()) {
      assertTrue(table.lines().anyMatch(line -> line.startsWith(shape.id() + " ")), shape.id());
    }
    String prefill = table.lines().filter(line -> line.startsWith("layer-prefill-512 ")).findFirst()
        .orElseThrow();
    // scalar, vector 1 and 2 threads, speedup, scaling, % peak, derived projections and their % peak, no
    // decode columns, alloc.
    assertEquals(
        List.of("2.50", "175.0", "315.0", "70.0x", "1.80x", "66.8%", "214.7", "82.0%", "-", "-", "0"),
        Arrays.asList(prefill.substring("layer-prefill-512".length()).trim().split("\\s+")));
    assertTrue(table.contains("Scalar layer, 2 threads / 1 thread: layer-decode-4k 1.00x."));
  }

  @Test
  void tablesWithoutLayersOrShapes() {
    Results full = sample();
    Results kernelsOnly = new Results(full.environment(), full.limits(), full.rows(), List.of(), 60);
    assertFalse(Table.of(kernelsOnly).contains("layer-"));
    assertFalse(Chart.of(kernelsOnly).contains("layer-"));
    Results layersOnly = new Results(full.environment(), full.limits(), List.of(), full.layers(), 60);
    assertTrue(Table.of(layersOnly).contains("layer-decode-4k "));
    assertTrue(JsonReport.of(layersOnly).contains("\"shapes\": [\n  ],"));
  }

  private static long count(String s, char c) {
    return s.chars().filter(x -> x == c).count();
  }
}
