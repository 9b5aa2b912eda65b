package io.github.attention.bench;

import java.io.File;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Two or more builds of the kernel in one JVM, their calls alternated one by one on the same shapes: the way
 * to measure a change of a few percent on a shared, noisy machine, where separate runs of one build differ by
 * more than that. Each build is a {@code benchmarks.jar} (or a class path of the bench and kernel classes)
 * loaded by its own class loader, so each has its own classes, its own JIT-compiled code and its own
 * {@link Problem} inputs (made from the same seed). After a warm-up, every round calls each (build, shape)
 * once in turn and records its time; the report gives each one's minimum, first quartile and median, and each
 * later build's speedup over the first per shape (the first's time over its own).
 *
 * <p>Two copies of one build measured this way differ by up to 1.4–1.9% in a run (AMD EPYC Zen 4): repeat a
 * run before believing a smaller difference. Shapes alternated in one JVM share compiled code whose profile
 * mixes them, so compare shapes with each other from JMH forks (the quick comparison), not from here.
 *
 * <p>Usage: {@code java --add-modules jdk.incubator.vector -cp benchmarks.jar
 * io.github.attention.bench.SideBySide a.jar,b.jar shape,shape,... [seconds] [threads]} (defaults 60 s, 1
 * thread; class paths within one build separated by the platform's path separator). Each build keeps its
 * own inputs: a decode-32k shape's take 256 MiB or more per build, so give {@code -Xmx} room.
 */
public final class SideBySide {

  /** One build's kernel on one shape, called through that build's own classes. */
  private record Runner(String build, String shape, Object problem, Object kernel, Object parallelism,
      Method run) {

    void call() {
      try {
        run.invoke(problem, kernel, parallelism);
      } catch (IllegalAccessException e) {
        throw new IllegalStateException(e);
      } catch (InvocationTargetException e) {
        throw new IllegalStateException("build " + build + ", shape " + shape, e.getCause());
      }
    }
  }

  /** Per (build, shape) timings of one run, in nanoseconds per call, sorted. */
  record Timings(String build, String shape, long[] nanos) {

    long quantile(double q) {
      return nanos[(int) Math.min(nanos.length - 1, Math.floor(q * nanos.length))];
    }
  }

  private SideBySide() {}

  /**
   * Runs the comparison and prints its report.
   *
   * @param args builds (comma-separated), shape ids (comma-separated), then optionally seconds and threads
   * @throws Exception if a build cannot be loaded or a call fails
   */
  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: SideBySide build,build,... shape,shape,... [seconds] [threads]");
      System.exit(2);
    }
    List<String> builds = Arrays.asList(args[0].split(","));
    List<String> shapes = Arrays.asList(args[1].split(","));
    double seconds = args.length > 2 ? Double.parseDouble(args[2]) : 60;
    int threads = args.length > 3 ? Integer.parseInt(args[3]) : 1;
    System.out.print(report(run(builds, shapes, 3, seconds, threads), shapes.size()));
  }

  /**
   * Measures every (build, shape) pair, the builds in the order given, each shape's calls alternated.
   *
   * @param builds class paths of the builds (jars or directories, separated by the path separator)
   * @param shapes {@link Shape} ids
   * @param warmupSeconds time of the untimed rounds
   * @param seconds time of the timed rounds
   * @param threads the kernel's threads (1: {@code Parallelism.single()})
   * @return the timings, build-major: all shapes of the first build, then of the second, ...
   * @throws IllegalArgumentException if there is no build or no shape, threads or seconds are out of range,
   *     or a build's path does not exist
   * @throws IllegalStateException if setting a shape up fails in a build (an unknown shape id, say), naming
   *     the build
   * @throws ReflectiveOperationException if a build lacks the bench or kernel classes
   * @throws MalformedURLException if a path cannot be a URL
   */
  static List<Timings> run(List<String> builds, List<String> shapes, double warmupSeconds, double seconds,
      int threads) throws ReflectiveOperationException, MalformedURLException {
    if (builds.isEmpty() || shapes.isEmpty()) {
      throw new IllegalArgumentException("builds and shapes: at least one each, got " + builds.size() + " and "
          + shapes.size());
    }
    if (threads < 1) {
      throw new IllegalArgumentException("threads: at least 1, got " + threads);
    }
    if (!(seconds > 0) || !(warmupSeconds >= 0)) {
      throw new IllegalArgumentException("seconds: more than 0 (warm-up: at least 0), got " + seconds + " ("
          + warmupSeconds + ")");
    }
    List<Runner> runners = new ArrayList<>();
    for (int b = 0; b < builds.size(); b++) {
      String build = builds.get(b);
      String[] entries = build.split(File.pathSeparator);
      URL[] urls = new URL[entries.length];
      for (int i = 0; i < entries.length; i++) {
        Path entry = Path.of(entries[i]);
        if (!Files.exists(entry)) {
          throw new IllegalArgumentException("build " + (b + 1) + ": no such file or directory: " + entry);
        }
        urls[i] = entry.toUri().toURL();
      }
      // The platform loader as parent: the JDK's modules (the Vector API among them) are shared, no class
      // of the kernel or the bench is.
      ClassLoader loader = new URLClassLoader(urls, ClassLoader.getPlatformClassLoader());
      try {
        runners.addAll(runners(loader, name(b, build), shapes, threads));
      } catch (InvocationTargetException e) {
        throw new IllegalStateException("build " + (b + 1) + " (" + build + "): " + e.getCause(), e.getCause());
      }
    }
    long warmEnd = System.nanoTime() + (long) (warmupSeconds * 1e9);
    do {
      runners.forEach(Runner::call);
    } while (System.nanoTime() < warmEnd);
    List<List<Long>> times = new ArrayList<>();
    runners.forEach(r -> times.add(new ArrayList<>()));
    long end = System.nanoTime() + (long) (seconds * 1e9);
    do {
      for (int i = 0; i < runners.size(); i++) {
        long start = System.nanoTime();
        runners.get(i).call();
        times.get(i).add(System.nanoTime() - start);
      }
    } while (System.nanoTime() < end);
    List<Timings> result = new ArrayList<>();
    for (int i = 0; i < runners.size(); i++) {
      long[] nanos = times.get(i).stream().mapToLong(Long::longValue).sorted().toArray();
      result.add(new Timings(runners.get(i).build(), runners.get(i).shape(), nanos));
    }
    return result;
  }

  /** The build's runners, one per shape, made with the build's own classes. */
  private static List<Runner> runners(ClassLoader loader, String name, List<String> shapes, int threads)
      throws ReflectiveOperationException {
    Class<?> shapeClass = loader.loadClass("io.github.attention.bench.Shape");
    Class<?> problemClass = loader.loadClass("io.github.attention.bench.Problem");
    Class<?> kernelClass = loader.loadClass("io.github.attention.kernel.AttentionKernel");
    Class<?> parallelismClass = loader.loadClass("io.github.attention.kernel.Parallelism");
    Object kernel = kernelClass.getMethod("vector").invoke(null);
    Object parallelism = threads == 1 ? parallelismClass.getMethod("single").invoke(null)
        : parallelismClass.getMethod("threads", int.class).invoke(null, threads);
    Method run = problemClass.getMethod("run", kernelClass, parallelismClass);
    List<Runner> runners = new ArrayList<>();
    for (String id : shapes) {
      Object shape = shapeClass.getMethod("byId", String.class).invoke(null, id);
      Object problem = problemClass.getMethod("of", shapeClass).invoke(null, shape);
      runners.add(new Runner(name, id, problem, kernel, parallelism, run));
    }
    return runners;
  }

  /**
   * The report: a line per (build, shape) with its calls and ms per call, then each later build's speedup
   * over the first on each shape, by median, first quartile and minimum.
   *
   * @param timings as {@link #run} returns them
   * @param shapes shapes per build
   * @return the report's text
   */
  static String report(List<Timings> timings, int shapes) {
    StringBuilder out = new StringBuilder();
    for (Timings t : timings) {
      out.append(String.format(Locale.ROOT, "%-24s %-30s calls %6d  ms: min %9.4f  q1 %9.4f  median %9.4f%n",
          t.build(), t.shape(), t.nanos().length, t.quantile(0) / 1e6, t.quantile(0.25) / 1e6,
          t.quantile(0.5) / 1e6));
    }
    for (int b = shapes; b < timings.size(); b++) {
      Timings first = timings.get(b % shapes);
      Timings other = timings.get(b);
      out.append(String.format(Locale.ROOT, "%s over %s, %-30s speedup: median %.3f  q1 %.3f  min %.3f%n",
          other.build(), first.build(), other.shape(), ratio(first, other, 0.5), ratio(first, other, 0.25),
          ratio(first, other, 0)));
    }
    return out.toString();
  }

  private static double ratio(Timings first, Timings other, double q) {
    return (double) first.quantile(q) / other.quantile(q);
  }

  /** The build's number and its first entry's file name: builds of one name (benchmarks.jar) stay apart. */
  private static String name(int index, String build) {
    Path file = Path.of(build.split(File.pathSeparator)[0]).getFileName();
    return (index + 1) + ":" + (file == null ? build : file.toString());
  }
}
