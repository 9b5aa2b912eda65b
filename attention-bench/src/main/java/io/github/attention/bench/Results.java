package io.github.attention.bench;

import java.util.List;

/** What one {@link Compare} run measured, in the units it prints: GFLOP/s, GB/s, bytes per call. */
record Results(Environment environment, Limits limits, List<Row> rows, List<LayerRow> layers,
    double seconds) {

  /** Where the numbers come from; {@code ort} names ONNX Runtime's version, or is null if it was not run. */
  record Environment(String cpu, int cores, String java, String vectorBackend, String settings, String ort) {}

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
   * absent); {@code cpuBusy} the fraction of all cores busy during the run, system-wide (0 to 1; time the
   * hypervisor stole counts as busy), and {@code cpuOthers} the part of it that was neither the comparison
   * nor its JMH fork (NaN if unknown).
   */
  record Run(double callsPerSecond, double gflops, double gflopsMin, double gflopsMax, double gbytes,
      double allocBytesPerCall, double gcAllocNorm, double cpuBusy, double cpuOthers, double wallSeconds) {

    double msPerCall() {
      return 1e3 / callsPerSecond;
    }
  }

  /**
   * One shape: both backends on one thread; where measured (else null) the vector kernel on 2 threads and
   * forced to 128-bit vectors, and ONNX Runtime on 1 and 2 threads. {@code ortNote} says why ONNX Runtime
   * was not run, or whose ORT runs these are; null for a plain ORT row.
   */
  record Row(Shape shape, Run scalar, Run vector, Run vector2, Run vector128, Run ort, Run ort2,
      String ortNote) {

    /** A row of the two backends alone. */
    Row(Shape shape, Run scalar, Run vector) {
      this(shape, scalar, vector, null, null, null, null, null);
    }

    double speedup() {
      return vector.gflops() / scalar.gflops();
    }

    /** @return the 128-bit vector kernel's speed over scalar's; NaN if not measured */
    double narrowSpeedup() {
      return vector128 == null ? Double.NaN : vector128.gflops() / scalar.gflops();
    }

    /**
     * @param threads 1 or 2
     * @return ONNX Runtime's time per call over ours on that many threads (above 1: ours is faster); NaN if
     *     either was not measured
     */
    double oursOverOrt(int threads) {
      Run ours = threads == 1 ? vector : vector2;
      Run theirs = threads == 1 ? ort : ort2;
      return ours == null || theirs == null ? Double.NaN : ours.callsPerSecond() / theirs.callsPerSecond();
    }

    double percentOfPeak(Limits limits, Run run) {
      return 100 * run.gflops() / limits.peakGflops();
    }

    /** @return the vector kernel's K/V read rate as a percentage of DRAM bandwidth; NaN unless decode */
    double percentOfDram(Limits limits) {
      return shape.decode() ? 100 * vector.gbytes() / limits.dramGbytes() : Double.NaN;
    }
  }

  /**
   * One layer workload: the layer on both backends and on 1 and 2 threads ({@code scalar2} is null when the
   * comparison left it out), and attention alone on the vector backend, 1 thread, to derive the projections'
   * speed.
   */
  record LayerRow(LayerShape shape, Run scalar, Run scalar2, Run vector, Run vector2, Run attention) {

    double speedup() {
      return vector.gflops() / scalar.gflops();
    }

    /** @return the vector layer's speed on 2 threads over 1 thread */
    double scaling() {
      return vector2.gflops() / vector.gflops();
    }

    /** @return the scalar layer's speed on 2 threads over 1 thread; NaN if not measured */
    double scalarScaling() {
      return scalar2 == null ? Double.NaN : scalar2.gflops() / scalar.gflops();
    }

    double percentOfPeak(Limits limits, Run run) {
      return 100 * run.gflops() / limits.peakGflops();
    }

    /**
     * Derived, not measured: the projections' flops over the time per call they leave, {@code 1/layer calls/s
     * − 1/attention calls/s} (vector, 1 thread). The layer's copies count as projection time.
     *
     * @return GFLOP/s of the projections; NaN if attention alone was not faster than the whole layer
     */
    double projectionGflops() {
      double seconds = 1 / vector.callsPerSecond() - 1 / attention.callsPerSecond();
      return seconds > 0 ? shape.projectionFlops() / 1e9 / seconds : Double.NaN;
    }

    double projectionPercentOfPeak(Limits limits) {
      return 100 * projectionGflops() / limits.peakGflops();
    }

    /** @return the vector layer's memory read rate (1 thread) as a percentage of DRAM bandwidth, or NaN */
    double percentOfDram(Limits limits) {
      return shape.decode() ? 100 * vector.gbytes() / limits.dramGbytes() : Double.NaN;
    }

    /** @return the most bytes per call any of the layer's runs allocated on its benchmark thread */
    double maxAllocBytesPerCall() {
      double most = Math.max(vector.allocBytesPerCall(), vector2.allocBytesPerCall());
      most = Math.max(most, Math.max(scalar.allocBytesPerCall(), attention.allocBytesPerCall()));
      return scalar2 == null ? most : Math.max(most, scalar2.allocBytesPerCall());
    }
  }
}
