package io.github.attention.bench;

import java.util.List;

/** What one {@link Compare} run measured, in the units it prints: GFLOP/s, GB/s, bytes per call. */
record Results(Environment environment, Limits limits, List<Row> rows, double seconds) {

  /** Where the numbers come from. */
  record Environment(String cpu, int cores, String java, String vectorBackend, String settings) {}

  /** This machine's measured single-thread limits. */
  record Limits(Run fma, Run dram) {

    double peakGflops() {
      return fma.gflops();
    }

    double dramGbytes() {
      return dram.gbytes();
    }
  }

  /**
   * One JMH run: calls per second, and the counters as rates; {@code gflopsMin/Max} are the slowest and
   * fastest measured iteration; {@code allocBytesPerCall} is what the benchmark thread allocated per call,
   * {@code gcAllocNorm} JMH's {@code gc.alloc.rate.norm} (every thread of the fork, harness included; NaN if
   * absent); {@code cpuBusy} the fraction of all cores busy during the run, system-wide (0 to 1).
   */
  record Run(double callsPerSecond, double gflops, double gflopsMin, double gflopsMax, double gbytes,
      double allocBytesPerCall, double gcAllocNorm, double cpuBusy, double wallSeconds) {

    double msPerCall() {
      return 1e3 / callsPerSecond;
    }
  }

  /** Both backends on one shape, and the vector kernel's speed relative to the machine's limits. */
  record Row(Shape shape, Run scalar, Run vector) {

    double speedup() {
      return vector.gflops() / scalar.gflops();
    }

    double percentOfPeak(Limits limits, Run run) {
      return 100 * run.gflops() / limits.peakGflops();
    }

    /** @return the vector kernel's K/V read rate as a percentage of DRAM bandwidth; NaN unless decode */
    double percentOfDram(Limits limits) {
      return shape.decode() ? 100 * vector.gbytes() / limits.dramGbytes() : Double.NaN;
    }
  }
}
