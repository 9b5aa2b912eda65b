package io.github.attention.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;

/** The comparison's outputs, from made-up numbers: well-formed, complete, and honest about missing values. */
class ReportTest {

  private static Results sample() {
    Results.Run scalar = new Results.Run(1, 5, 4.5, 5.5, 0.5, 0, 120, 0.5, 3);
    Results.Run vector = new Results.Run(30, 150, 140, 160, 12, Double.NaN, 40, 0.5, 5);
    Results.Limits limits = new Results.Limits(new Results.Run(100, 262, 260, 264, 0, 0, 0, 0.5, 3),
        new Results.Run(1, 0, 0, 0, 40, 0, 0, 0.5, 3));
    return new Results(new Results.Environment("Test CPU <&>", 2, "JDK 25", "vector-512", "short \"runs\""),
        limits, Arrays.stream(Shape.values()).map(s -> new Results.Row(s, scalar, vector)).toList(), 60);
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
    assertFalse(svg.contains("NaN"));
  }

  @Test
  void tableHasARowPerShape() {
    String table = Table.of(sample());
    for (Shape shape : Shape.values()) {
      assertTrue(table.lines().anyMatch(line -> line.startsWith(shape.id() + " ")), shape.id());
    }
    assertTrue(table.contains("30.0x"));
  }

  private static long count(String s, char c) {
    return s.chars().filter(x -> x == c).count();
  }
}
