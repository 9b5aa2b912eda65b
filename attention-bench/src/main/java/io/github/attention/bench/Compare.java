package io.github.attention.bench;

import io.github.attention.kernel.AttentionKernel;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import io.github.attention.bench.ort.OrtAttention;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
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
 * on the scalar and the vector kernel (and the vector kernel forced to 128-bit vectors, the width of ARM
 * NEON), then, for the shapes ONNX Runtime can run, the vector kernel on 2 threads and ONNX Runtime on 1
 * and 2 ({@link OrtBench}), then every {@link LayerShape} (the layer on the vector backend with 1 and 2
 * threads and on the scalar one with 1 and 2, and attention alone), each in its own JMH fork with short
 * iterations, and prints three tables. Writes {@code results.json}, {@code chart.svg} and JMH's own output
 * of every run ({@code logs/}) to the output directory.
 *
 * <p>Usage: {@code java --add-modules jdk.incubator.vector -cp benchmarks.jar:onnxruntime.jar
 * io.github.attention.bench.Compare [--out DIR] [--shapes id,id,...|none] [--layers id,id,...|none]
 * [--ort on|off] [--narrow on|off]} ({@code --name=value} works too, and so do several options in one
 * argument, separated by spaces, as Maven's {@code -Dcompare.args} passes them). {@code --ort off} leaves
 * ONNX Runtime out (it is also left out, with a message, when its jar is not on the class path); {@code
 * --narrow off} leaves the 128-bit runs out. The default output directory is {@code compare/} next to the
 * jar.
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
  // ONNX Runtime is compiled ahead of time: one warmup fills its arena and spins up its pool.
  private static final Iterations ORT = new Iterations(2, 500, 3, 1000);
  // A layer's first calls are slower still, and on 2 threads the JIT shares the cores with the workers:
  // one more warmup, one measurement fewer.
  private static final Iterations LAYER_VECTOR = new Iterations(5, 500, 3, 1000);
  // A scalar layer prefill takes ~1.4 s a call (OSR compiles its loops during the first): every iteration
  // is a single call.
  private static final Iterations LAYER_SCALAR = new Iterations(1, 500, 2, 1000);

  /** The kernel's property forcing a narrower vector species (see {@link AttentionKernel#vector()}). */
  private static final String BITS_PROPERTY = "attention.vector.bits";
  private static final PrintStream OUT = System.out;
  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
  private static final int CORES = Runtime.getRuntime().availableProcessors();
  // Other processes using more than this fraction of all cores during a run have disturbed it.
  private static final double OTHERS_LIMIT = 0.2;
  // Linux reports CPU times in /proc in ticks of 1/USER_HZ s, and USER_HZ is 100 on every architecture.
  private static final double TICKS_PER_SECOND = 100;

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
   * @param args {@code [--out DIR] [--shapes id,id,...|none] [--layers id,id,...|none]}
   * @throws Exception if a benchmark fails or the results cannot be written
   */
  public static void main(String[] args) throws Exception {
    Path outDir = defaultOutDir();
    List<Shape> shapes = List.of(Shape.values());
    List<LayerShape> layers = List.of(LayerShape.values());
    boolean ort = true;
    boolean narrow = true;
    // Maven's -Dcompare.args passes all its options as one argument: split before each "--" (not at every
    // space, which a path may hold).
    String[] words = Arrays.stream(args)
        .flatMap(a -> Arrays.stream(a.trim().split("\\s+(?=--)")))
        .toArray(String[]::new);
    for (int i = 0; i < words.length; i++) {
      // "--name value" or "--name=value".
      String[] arg = words[i].split("=|\\s+", 2); // "--name value" in one word, as Maven passes it
      String value = arg.length == 2 ? arg[1] : i + 1 < words.length ? words[++i] : "";
      switch (arg[0]) {
        case "" -> { } // an empty -Dcompare.args
        case "--out" -> outDir = Path.of(value);
        case "--shapes" -> shapes = ids(value).stream().map(Shape::byId).toList();
        case "--layers" -> layers = ids(value).stream().map(LayerShape::byId).toList();
        case "--ort" -> ort = onOff(arg[0], value);
        case "--narrow" -> narrow = onOff(arg[0], value);
        default -> usage();
      }
    }
    try {
      AttentionKernel.vector();
    } catch (UnsupportedOperationException e) {
      System.err.println(e.getMessage());
      System.exit(2);
    }
    String ortVersion = null;
    if (ort) {
      ortVersion = ortVersion();
      if (ortVersion == null) {
        System.err.println("ONNX Runtime is not on the class path: comparing without it (run through Maven's"
            + " -Pcompare, which puts it there, or add onnxruntime.jar to -cp)");
      }
    }
    new Compare(outDir).run(shapes, layers, ortVersion, narrow);
  }

  private static void usage() {
    System.err.println("usage: Compare [--out DIR] [--shapes " + Shape.ids() + "|none] [--layers "
        + LayerShape.ids() + "|none] [--ort on|off] [--narrow on|off]");
    System.exit(2);
  }

  private static boolean onOff(String option, String value) {
    return switch (value) {
      case "on", "true" -> true;
      case "off", "false" -> false;
      default -> {
        System.err.println(option + " takes on or off, got '" + value + "'");
        usage();
        yield false;
      }
    };
  }

  /** ONNX Runtime's version from its jar's manifest (or "?"), or null if it is not on the class path. */
  private static String ortVersion() {
    try {
      Class<?> c = Class.forName("ai.onnxruntime.OrtEnvironment", false, Compare.class.getClassLoader());
      String v = c.getPackage().getImplementationVersion();
      return v != null ? v : "?";
    } catch (ClassNotFoundException | LinkageError e) {
      return null;
    }
  }

  /** The ids of a comma-separated list; none for {@code none}. */
  private static List<String> ids(String list) {
    return list.equals("none") ? List.of() : Arrays.stream(list.split(",")).map(String::trim).toList();
  }

  private void run(List<Shape> shapes, List<LayerShape> layers, String ortVersion, boolean narrow)
      throws RunnerException, IOException {
    long start = System.nanoTime();
    Results.Environment env = new Results.Environment(cpuModel(), CORES, "JDK " + Runtime.version(),
        AttentionKernel.vector().name(), "vector " + VECTOR + ", scalar " + SCALAR
        + (ortVersion == null ? "" : ", ONNX Runtime " + ORT) + ", machine limits " + MACHINE
        + "; layers: vector " + LAYER_VECTOR + ", scalar " + LAYER_SCALAR, ortVersion);
    OUT.printf(Locale.ROOT, "Attention kernels, scalar vs %s, on %s (%d cores), %s%n", env.vectorBackend(),
        env.cpu(), env.cores(), env.java());
    OUT.printf(Locale.ROOT, "Short JMH runs, one fork each: %s.%nJMH's output: %s%n%n", env.settings(), logs);
    Files.createDirectories(logs);
    try (var old = Files.newDirectoryStream(logs, "*.log")) {
      for (Path log : old) {
        Files.delete(log); // a previous run's, perhaps of other shapes
      }
    }
    // ORT rows: the vector kernel on 2 threads and ORT on 1 and 2; a shape reusing another's ORT runs (measured
    // in this comparison) adds only its own 2-thread run.
    int ortRuns = 0;
    for (Shape sh : shapes) {
      if (ortVersion != null && OrtAttention.unsupported(sh) == null) {
        ortRuns += sameOrtRun(sh) == sh ? 3 : shapes.indexOf(sameOrtRun(sh)) >= 0 ? 1 : 0;
      }
    }
    total = 2 + (narrow ? 3 : 2) * shapes.size() + ortRuns + 5 * layers.size();

    Results.Run fma = machine("fmaPeak", "fp32 FMA peak", false);
    Results.Run dram = machine("dramRead", "DRAM read", true);
    Results.Limits limits = new Results.Limits(fma, dram);
    List<Results.Row> rows = new ArrayList<>();
    Map<Shape, Results.Row> byShape = new EnumMap<>(Shape.class);
    for (Shape shape : shapes) {
      Results.Run scalar = attention(shape, "scalar", 1, 0, SCALAR);
      Results.Run vector = attention(shape, "vector", 1, 0, VECTOR);
      Results.Run vector128 = narrow ? attention(shape, "vector", 1, 128, VECTOR) : null;
      Results.Run vector2 = null;
      Results.Run ort = null;
      Results.Run ort2 = null;
      String note = ortVersion == null ? "ONNX Runtime not run" : OrtAttention.unsupported(shape);
      Shape same = sameOrtRun(shape);
      if (note == null && same != shape) {
        // Its ORT problem is another shape's: measured there, not again.
        Results.Row other = byShape.get(same);
        note = other == null || other.ort() == null
            ? "ORT's runs would be " + same.id() + "'s (its cache is head-major already): run that shape too"
            : "ORT's runs of " + same.id() + " (its cache is head-major already)";
        if (other != null) {
          vector2 = other.vector2() == null ? null : attention(shape, "vector", 2, 0, VECTOR);
          ort = other.ort();
          ort2 = other.ort2();
        }
      } else if (note == null) {
        vector2 = attention(shape, "vector", 2, 0, VECTOR);
        ort = ort(shape, 1);
        ort2 = ort(shape, 2);
      }
      Results.Row row = new Results.Row(shape, scalar, vector, vector2, vector128, ort, ort2, note);
      byShape.put(shape, row);
      rows.add(row);
    }
    List<Results.LayerRow> layerRows = new ArrayList<>();
    for (LayerShape shape : layers) {
      Results.Run vector = layer(shape, "layer", "vector", 1, LAYER_VECTOR);
      Results.Run vector2 = layer(shape, "layer", "vector", 2, LAYER_VECTOR);
      Results.Run attention = layer(shape, "attention", "vector", 1, LAYER_VECTOR);
      Results.Run scalar = layer(shape, "layer", "scalar", 1, LAYER_SCALAR);
      Results.Run scalar2 = layer(shape, "layer", "scalar", 2, LAYER_SCALAR);
      layerRows.add(new Results.LayerRow(shape, scalar, scalar2, vector, vector2, attention));
    }
    Results results = new Results(env, limits, rows, layerRows, (System.nanoTime() - start) / 1e9);

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
    return measure(label(what, "vector", ""), bandwidth, 1,
        options(MachineBench.class, benchmark, MACHINE, benchmark));
  }

  /**
   * {@link AttentionBench} on one backend and thread count; {@code bits} 128 forces the vector kernel's
   * species to 128-bit vectors, 0 leaves the preferred one.
   */
  private Results.Run attention(Shape shape, String backend, int threads, int bits, Iterations iterations)
      throws RunnerException {
    String detail = (bits > 0 ? bits + "-bit " : "") + (threads > 1 ? threads + " thr." : "");
    ChainedOptionsBuilder options = options(AttentionBench.class, "attend", iterations,
        shape.id() + "-" + backend + (bits > 0 ? "-" + bits : "") + "-" + threads + "t")
        .param("shape", shape.id())
        .param("backend", backend)
        .param("threads", Integer.toString(threads));
    if (bits > 0) {
      options.jvmArgsAppend("-D" + BITS_PROPERTY + "=" + bits);
    }
    return measure(label(shape.id(), backend, detail.trim()), false, threads, options);
  }

  /** {@link OrtBench} on one shape and thread count. */
  private Results.Run ort(Shape shape, int threads) throws RunnerException {
    ChainedOptionsBuilder options = options(OrtBench.class, "attend", ORT,
        shape.id() + "-ort-" + threads + "t")
        .param("shape", shape.id())
        .param("threads", Integer.toString(threads));
    return measure(label(shape.id(), "ORT", threads > 1 ? threads + " thr." : ""), false, threads, options);
  }

  /**
   * The shape whose ONNX Runtime run is this one's: the fp32 token-major shape of the same sizes for the
   * head-major view (ONNX Runtime takes its cache head-major in every case), else the shape itself.
   */
  static Shape sameOrtRun(Shape shape) {
    if (shape.storage() != Shape.KvStorage.HEAD_MAJOR) {
      return shape;
    }
    for (Shape s : Shape.values()) {
      if (s.storage() == Shape.KvStorage.ARRAYS && s.variant() == shape.variant() && s.qLen() == shape.qLen()
          && s.kvLen() == shape.kvLen() && s.queryHeads() == shape.queryHeads()
          && s.kvHeads() == shape.kvHeads() && s.headDim() == shape.headDim() && s.causal() == shape.causal()) {
        return s;
      }
    }
    return shape;
  }

  /** {@link LayerBench}'s {@code method} ("layer" or "attention") on one backend and thread count. */
  private Results.Run layer(LayerShape shape, String method, String backend, int threads,
      Iterations iterations) throws RunnerException {
    String what = method.equals("attention") ? "attention" : threads == 1 ? "1 thread" : threads + " threads";
    ChainedOptionsBuilder options = options(LayerBench.class, method, iterations,
        shape.id() + "-" + backend + "-" + (method.equals("attention") ? "attention" : threads + "t"))
        .param("workload", shape.id())
        .param("backend", backend)
        .param("threads", Integer.toString(threads));
    return measure(label(shape.id(), backend, what), false, threads, options);
  }

  private static String label(String what, String backend, String detail) {
    return String.format(Locale.ROOT, "%-29s %-7s %-13s", what, backend, detail);
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

  /**
   * Runs one fork. Whether others shared the machine is judged from the CPU time they took: all cores' busy
   * time (what the hypervisor stole from this virtual machine included) minus this process's and the fork's
   * own (JIT and GC threads included), so that runs on several threads, which keep every core busy
   * themselves, are judged as fairly as single-threaded ones.
   */
  private Results.Run measure(String label, boolean bandwidth, int threads, ChainedOptionsBuilder options)
      throws RunnerException {
    Options built = options.build();
    OUT.printf(Locale.ROOT, "[%2d/%d] %s ... ", ++done, total, label);
    OUT.flush();
    long start = System.nanoTime();
    double ownBefore = ownCpuSeconds();
    long[] ticksBefore = systemTicks();
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
    double others = Double.NaN;
    long[] ticksAfter = systemTicks();
    if (ticksBefore != null && ticksAfter != null && ticksAfter[0] > ticksBefore[0]) {
      double ticks = ticksAfter[0] - ticksBefore[0];
      busy = 1 - (ticksAfter[1] - ticksBefore[1]) / ticks;
      others = Math.max(0, busy - (ownCpuSeconds() - ownBefore) * TICKS_PER_SECOND / ticks);
    }
    Result<?> gflop = secondary(result, "gflop");
    double callsPerSecond = result.getPrimaryResult().getScore();
    Results.Run run = new Results.Run(callsPerSecond, gflop.getScore(), gflop.getStatistics().getMin(),
        gflop.getStatistics().getMax(), score(result, "gbytes"), score(result, "allocBytes") / callsPerSecond,
        score(result, "gc.alloc.rate.norm"), busy, others, seconds);
    // Without the fork's CPU time (not Linux), expect the benchmark's threads and 0.2 of the machine more.
    boolean disturbed = Double.isNaN(others)
        ? busy > Math.min(0.95, (double) threads / CORES + OTHERS_LIMIT)
        : others > OTHERS_LIMIT;
    disturbedRuns += disturbed ? 1 : 0;
    if (bandwidth) {
      OUT.printf(Locale.ROOT, "%7.1f GB/s   ", run.gbytes());
    } else {
      OUT.printf(Locale.ROOT, "%7.1f GFLOP/s", run.gflops());
    }
    OUT.printf(Locale.ROOT, " (%4.1f s, CPU %3.0f%% busy, others %s%s)%n", seconds, 100 * busy,
        Double.isNaN(others) ? "?" : String.format(Locale.ROOT, "%.0f%%", 100 * others),
        disturbed ? " !" : "");
    return run;
  }

  /**
   * Ticks of all cores since boot, from the first line of {@code /proc/stat}: all of them (user, nice,
   * system, idle, iowait, irq, softirq, steal; guest time is already in user), and the idle ones (idle and
   * iowait). Null where it cannot be read.
   */
  private static long[] systemTicks() {
    try (var lines = Files.lines(Path.of("/proc/stat"))) {
      String[] fields = lines.findFirst().orElseThrow().trim().split("\\s+");
      long all = 0;
      for (int i = 1; i <= 8; i++) {
        all += Long.parseLong(fields[i]);
      }
      return new long[] {all, Long.parseLong(fields[4]) + Long.parseLong(fields[5])};
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /**
   * CPU seconds used so far by this process and by its finished children, the JMH forks (their user and
   * system times, which Linux adds to the parent's {@code cutime} and {@code cstime} once it has waited for
   * them); NaN where {@code /proc/self/stat} cannot be read.
   */
  private static double ownCpuSeconds() {
    try {
      String stat = Files.readString(Path.of("/proc/self/stat"));
      // Fields after the parenthesized command name, from field 3 (state): cutime and cstime are 16 and 17.
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      double children = (Long.parseLong(fields[13]) + Long.parseLong(fields[14])) / TICKS_PER_SECOND;
      return OS.getProcessCpuTime() / 1e9 + children;
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
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
