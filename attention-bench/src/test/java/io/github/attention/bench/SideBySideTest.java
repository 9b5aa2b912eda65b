package io.github.attention.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.kernel.AttentionKernel;
import java.io.File;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Two copies of this build side by side, briefly: each loaded on its own, timed, and reported. */
class SideBySideTest {

  private static String thisBuild() throws Exception {
    Path bench = Path.of(Shape.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    Path kernel = Path.of(AttentionKernel.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    return bench + File.pathSeparator + kernel;
  }

  @Test
  void timesEveryBuildOnEveryShapeInItsOwnClasses() throws Exception {
    String build = thisBuild();
    List<SideBySide.Timings> timings = SideBySide.run(List.of(build, build), List.of("odd-head"), 0, 0.3, 1);
    assertEquals(2, timings.size());
    assertEquals("1:" + Path.of(build.split(File.pathSeparator)[0]).getFileName(), timings.get(0).build());
    assertTrue(timings.get(1).build().startsWith("2:"), timings.get(1).build());
    for (SideBySide.Timings t : timings) {
      assertEquals("odd-head", t.shape());
      assertTrue(t.nanos().length >= 1, "at least one timed call");
      assertTrue(t.quantile(0) > 0 && t.quantile(0) <= t.quantile(0.5), "sorted positive times");
    }
    String report = SideBySide.report(timings, 1);
    assertTrue(report.contains("2:") && report.contains("over 1:") && report.contains("speedup: median"),
        report);
  }

  /** Two builds × two shapes with known times: each later build's line pairs it with the first's shape. */
  @Test
  void reportsEachShapeOfALaterBuildAgainstTheSameShapeOfTheFirst() {
    List<SideBySide.Timings> timings = List.of(
        new SideBySide.Timings("1:a", "s", new long[] {4_000_000, 4_000_000, 4_000_000, 4_000_000}),
        new SideBySide.Timings("1:a", "t", new long[] {9_000_000, 9_000_000, 9_000_000, 9_000_000}),
        new SideBySide.Timings("2:b", "s", new long[] {1_000_000, 2_000_000, 2_000_000, 8_000_000}),
        new SideBySide.Timings("2:b", "t", new long[] {3_000_000, 3_000_000, 3_000_000, 3_000_000}));
    String report = SideBySide.report(timings, 2);
    // s: 4 ms against b's minimum 1, first quartile 2, median 2; t: 9 against 3 throughout.
    assertTrue(report.contains("2:b over 1:a, s") && report.matches("(?s).*2:b over 1:a, s +speedup: median 2\\.000"
        + "  q1 2\\.000  min 4\\.000.*"), report);
    assertTrue(report.matches("(?s).*2:b over 1:a, t +speedup: median 3\\.000  q1 3\\.000  min 3\\.000.*"), report);
    assertTrue(report.contains("calls      4  ms: min    1.0000  q1    2.0000  median    2.0000"), report);
  }

  @Test
  void rejectsWhatItCannotRun() throws Exception {
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> SideBySide.run(List.of("/no/such/benchmarks.jar"), List.of("odd-head"), 0, 1, 1));
    assertTrue(missing.getMessage().contains("build 1") && missing.getMessage().contains("/no/such"),
        missing.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> SideBySide.run(List.of(thisBuild()), List.of("odd-head"), 0, 0, 1));
    IllegalStateException unknown = assertThrows(IllegalStateException.class,
        () -> SideBySide.run(List.of(thisBuild()), List.of("no-such-shape"), 0, 1, 1));
    assertTrue(unknown.getMessage().contains("build 1"), unknown.getMessage());
    assertThrows(IllegalArgumentException.class, () -> SideBySide.run(List.of(), List.of("odd-head"), 0, 1, 1));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SideBySide.run(List.of(thisBuild()), List.of("odd-head"), 0, 1, 0));
    assertTrue(e.getMessage().contains("threads"), e.getMessage());
  }
}
