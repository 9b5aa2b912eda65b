package io.github.attention.bench;

import io.github.attention.kernel.AttentionKernel;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * The short comparison: measures this machine's FMA peak and DRAM read bandwidth, then every {@link Shape}
 * on the scalar and the vector kernel, each in its own JMH fork with short iterations, and prints a table.
 * Writes {@code results.json}, {@code chart.svg} and JMH's own output of every run ({@code logs/}) to the
 * output directory.
 *
 * <p>Usage: {@code java --add-modules jdk.incubator.vector -cp benchmarks.jar
 * io.github.attention.bench.Compare [--out DIR] [--shapes id,id,...]} ({@code --name=value} works too). The
 * default output directory is {@code compare/} next to the jar.
 */
public final class Compare {

  /** Warmup and measurement iterations of one run. */
  private record Iterations(int warmups, int warmupMillis, int measurements, int measurementMillis) {

    @Override
    public String toString() {
      return String.format(Locale.ROOT, "%dx%.1fs warmup + %dx%.1fs", warmups, warmupMillis / 1e3,
          measurements, measurementMillis / 1e3);
    }
  }

  // The vector kernel's first call runs unoptimized Vector API code (about a second); C2 needs another second
  // or two of warmup after that, so several short warmup iterations.
  private static final Iterations VECTOR = new Iterations(4, 500, 4, 1000);
  // The scalar kernel is ~25x slower (a prefill-2k call takes ~2 s, so each of its iterations is one call)
  // but compiles quickly: two short warmups, two measurements.
  private static final Iterations SCALAR = new Iterations(2, 1000, 2, 1000);
  private static final Iterations MACHINE = new Iterations(2, 500, 3, 500);

  private static final PrintStream OUT = System.out;
  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
  // One benchmark thread keeps 1/cores of the machine busy; JIT, GC and JMH add a little. Much more than
  // that means other processes shared the machine during the run.
  private static final double BUSY_LIMIT =
      Math.min(0.95, 1.0 / Runtime.getRuntime().availableProcessors() + 0.2);

  private final Path outDir;
  private final Path logs;
  private int done;
  private int total;
  private int disturbedRuns;

  private Compare(Path outDir) {
    this.outDir = outDir;
    this.logs = outDir.resolve("logs");
  }

  /**
   * Runs the comparison.
   *
   * @param args {@code [--out DIR] [--shapes id,id,...]}
   * @throws Exception if a benchmark fails or the results cannot be written
   */
  public static void main(String[] args) throws Exception {
    Path outDir = defaultOutDir();
    List<Shape> shapes = List.of(Shape.values());
    for (int i = 0; i < args.length; i++) {
      // "--name value" or "--name=value" (Maven's -Dcompare.args passes a single argument).
      String[] arg = args[i].trim().split("=", 2);
      String value = arg.length == 2 ? arg[1] : i + 1 < args.length ? args[++i] : "";
      switch (arg[0]) {
        case "" -> { } // an empty -Dcompare.args
        case "--out" -> outDir = Path.of(value);
        case "--shapes" ->
            shapes = Arrays.stream(value.split(",")).map(String::trim).map(Shape::byId).toList();
        default -> {
          System.err.println("usage: Compare [--out DIR] [--shapes " + Shape.ids() + "]");
          System.exit(2);
        }
      }
    }
    try {
      AttentionKernel.vector();
    } catch (UnsupportedOperationException e) {
      System.err.println(e.getMessage());
      System.exit(2);
    }
    new Compare(outDir).run(shapes);
  }

  private void run(List<Shape> shapes) throws RunnerException, IOException {
    long start = System.nanoTime();
    Results.Environment env = new Results.Environment(cpuModel(), Runtime.getRuntime().availableProcessors(),
        "JDK " + Runtime.version(), AttentionKernel.vector().name(),
        "vector " + VECTOR + ", scalar " + SCALAR + ", machine limits " + MACHINE);
    OUT.printf(Locale.ROOT, "Attention kernels, scalar vs %s, on %s (%d cores), %s%n", env.vectorBackend(),
        env.cpu(), env.cores(), env.java());
    OUT.printf(Locale.ROOT, "Short JMH runs, one fork each: %s.%nJMH's output: %s%n%n", env.settings(), logs);
    Files.createDirectories(logs);
    try (var old = Files.newDirectoryStream(logs, "*.log")) {
      for (Path log : old) {
        Files.delete(log); // a previous run's, perhaps of other shapes
      }
    }
    total = 2 + 2 * shapes.size();

    Results.Run fma = machine("fmaPeak", "fp32 FMA peak", false);
    Results.Run dram = machine("dramRead", "DRAM read", true);
    Results.Limits limits = new Results.Limits(fma, dram);
    List<Results.Row> rows = new ArrayList<>();
    for (Shape shape : shapes) {
      Results.Run scalar = attention(shape, "scalar", SCALAR);
      Results.Run vector = attention(shape, "vector", VECTOR);
      rows.add(new Results.Row(shape, scalar, vector));
    }
    Results results = new Results(env, limits, rows, (System.nanoTime() - start) / 1e9);

    OUT.println();
    OUT.print(Table.of(results));
    Path json = outDir.resolve("results.json");
    Path chart = outDir.resolve("chart.svg");
    Files.writeString(json, JsonReport.of(results));
    Files.writeString(chart, Chart.of(results));
    if (disturbedRuns > 0) {
      OUT.printf(Locale.ROOT, "%nWARNING: other processes were using the CPU during %d run(s) marked '!'."
          + " Those numbers may be low (the JIT, caches and memory bandwidth were shared):"
          + " rerun on an idle machine.%n", disturbedRuns);
    }
    OUT.printf(Locale.ROOT, "%nWrote %s and %s (%.0f s in all).%n", json, chart, results.seconds());
  }

  private Results.Run machine(String benchmark, String what, boolean bandwidth) throws RunnerException {
    return measure(String.format(Locale.ROOT, "%-19s %-7s", what, "vector"), bandwidth,
        options(MachineBench.class, benchmark, MACHINE, benchmark));
  }

  private Results.Run attention(Shape shape, String backend, Iterations iterations) throws RunnerException {
    ChainedOptionsBuilder options = options(AttentionBench.class, "attend", iterations,
        shape.id() + "-" + backend)
        .param("shape", shape.id())
        .param("backend", backend);
    return measure(String.format(Locale.ROOT, "%-19s %-7s", shape.id(), backend), false, options);
  }

  private ChainedOptionsBuilder options(Class<?> benchmarkClass, String method, Iterations it, String name) {
    return new OptionsBuilder()
        .include("^" + Pattern.quote(benchmarkClass.getName() + "." + method) + "$")
        .warmupIterations(it.warmups())
        .warmupTime(TimeValue.milliseconds(it.warmupMillis()))
        .measurementIterations(it.measurements())
        .measurementTime(TimeValue.milliseconds(it.measurementMillis()))
        .forks(1)
        .addProfiler(GCProfiler.class)
        .shouldFailOnError(true)
        .output(logs.resolve(name + ".log").toString());
  }

  private Results.Run measure(String label, boolean bandwidth, ChainedOptionsBuilder options)
      throws RunnerException {
    Options built = options.build();
    OUT.printf(Locale.ROOT, "[%2d/%d] %s ... ", ++done, total, label);
    OUT.flush();
    long start = System.nanoTime();
    OS.getCpuLoad(); // starts the window that the call after the run averages over
    RunResult result;
    try {
      result = new Runner(built).runSingle();
    } catch (RunnerException e) {
      OUT.println("FAILED");
      System.err.println("The benchmark failed; JMH's output, with the exception, is in "
          + built.getOutput().orElse("the JMH log"));
      throw e;
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    double busy = OS.getCpuLoad();
    Result<?> gflop = secondary(result, "gflop");
    double callsPerSecond = result.getPrimaryResult().getScore();
    Results.Run run = new Results.Run(callsPerSecond, gflop.getScore(), gflop.getStatistics().getMin(),
        gflop.getStatistics().getMax(), score(result, "gbytes"), score(result, "allocBytes") / callsPerSecond,
        score(result, "gc.alloc.rate.norm"), busy, seconds);
    boolean disturbed = busy > BUSY_LIMIT;
    disturbedRuns += disturbed ? 1 : 0;
    if (bandwidth) {
      OUT.printf(Locale.ROOT, "%7.1f GB/s   ", run.gbytes());
    } else {
      OUT.printf(Locale.ROOT, "%7.1f GFLOP/s", run.gflops());
    }
    OUT.printf(Locale.ROOT, " (%4.1f s, CPU %3.0f%% busy%s)%n", seconds, 100 * busy, disturbed ? " !" : "");
    return run;
  }

  private static Result<?> secondary(RunResult result, String name) {
    return result.getSecondaryResults().get(name); // JMH's map is raw-typed
  }

  private static double score(RunResult result, String name) {
    Result<?> r = secondary(result, name);
    return r == null ? Double.NaN : r.getScore();
  }

  /** {@code compare/} beside the jar (or the classes directory) this class was loaded from. */
  private static Path defaultOutDir() throws URISyntaxException {
    Path location = Path.of(Compare.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    return location.toAbsolutePath().getParent().resolve("compare");
  }

  private static String cpuModel() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).trim();
        }
      }
    } catch (IOException | RuntimeException e) {
      // Not Linux: fall through to the architecture.
    }
    return System.getProperty("os.arch");
  }
}
