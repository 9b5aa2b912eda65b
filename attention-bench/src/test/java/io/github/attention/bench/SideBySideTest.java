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

  @Test
  void rejectsWhatItCannotRun() {
    assertThrows(IllegalArgumentException.class, () -> SideBySide.run(List.of(), List.of("odd-head"), 0, 0, 1));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SideBySide.run(List.of(thisBuild()), List.of("odd-head"), 0, 0, 0));
    assertTrue(e.getMessage().contains("threads"), e.getMessage());
  }
}
