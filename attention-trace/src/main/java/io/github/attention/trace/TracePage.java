package io.github.attention.trace;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.attention.layer.AttentionTrace;
import io.github.attention.layer.MultiHeadAttention;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes one self-contained HTML page (inline CSS and JavaScript, no network) that follows every token of a
 * few example sequences through a {@link MultiHeadAttention} layer, step by step, from the layer's own
 * {@link AttentionTrace}s.
 *
 * <p>Inputs are made up and deterministic, and the page says so: a token's embedding is standard normal
 * values from a seed derived from the token's text (so the same word always has the same embedding), plus
 * the sinusoidal position encoding of "Attention Is All You Need" (Vaswani et al. 2017); the weights are
 * uniform in {@code ±2/√in} from the layer seed. Numbers travel as little-endian float32 arrays in base64
 * (the page shows them to float32 precision), which keeps the largest page (64 tokens, 16 heads, d_model
 * 1024) a few MB.
 *
 * <p>Usage: {@code TracePage --out FILE [--model-dim 64] [--heads 8] [--kv-heads 2] [--head-dim D]
 * [--causal true|false] [--window W] [--seed S] [--text "name: words ..."]...} (without {@code --text}, two
 * built-in examples: a sentence and a question).
 */
public final class TracePage {

  /** At most this many tokens per sequence: every one of them is traced. */
  public static final int MAX_TOKENS = 64;

  /** The layer's shape and seed. */
  public record Config(int modelDim, int queryHeads, int kvHeads, int headDim, boolean causal, int window,
      long seed) {

    /** Checks the shape. */
    public Config {
      if (modelDim < 1 || queryHeads < 1 || kvHeads < 1 || headDim < 1 || queryHeads % kvHeads != 0
          || window < 0) {
        throw new IllegalArgumentException("invalid layer: d_model " + modelDim + ", " + queryHeads
            + " query heads, " + kvHeads + " KV heads (must divide the query heads), head width " + headDim
            + ", window " + window);
      }
    }

    /** {@return the layer: weights uniform in ±2/√in from the seed} */
    public MultiHeadAttention layer() {
      SplittableRandom random = new SplittableRandom(seed);
      MultiHeadAttention.Builder b = MultiHeadAttention.builder()
          .modelDim(modelDim).queryHeads(queryHeads).kvHeads(kvHeads).headDim(headDim).causal(causal)
          .queryWeights(uniform(random, queryHeads * headDim * modelDim, modelDim))
          .keyWeights(uniform(random, kvHeads * headDim * modelDim, modelDim))
          .valueWeights(uniform(random, kvHeads * headDim * modelDim, modelDim))
          .outputWeights(uniform(random, modelDim * queryHeads * headDim, queryHeads * headDim));
      if (window > 0) {
        b.slidingWindow(window);
      }
      return b.build();
    }
  }

  /** A named example text. */
  public record Example(String name, String text) {}

  /** The built-in examples. */
  public static final List<Example> EXAMPLES = List.of(
      new Example("sentence", "The animal didn't cross the street because it was too tired."),
      new Example("question", "Where did the cat that chased the mouse go after it ran away?"));

  private static final Pattern TOKEN = Pattern.compile("\\w+(?:'\\w+)?|[^\\w\\s]");

  private TracePage() {}

  /**
   * Writes the page.
   *
   * @param args see the class comment
   * @throws IOException if the page cannot be written
   */
  public static void main(String[] args) throws IOException {
    Path out = Path.of("trace.html");
    int modelDim = 64;
    int heads = 8;
    int kvHeads = 2;
    int headDim = 0;
    boolean causal = true;
    int window = 0;
    long seed = 1;
    List<Example> examples = new ArrayList<>();
    List<String> words = new ArrayList<>();
    for (String a : args) {
      if (!a.startsWith("--")) {
        words.add(a); // a value on its own, spaces and all
        continue;
      }
      // Maven's -Dtrace.args passes "--name value --name value" in one argument; split those.
      for (String w : a.trim().split("\\s+(?=--)")) {
        String[] kv = w.split("[=\\s]", 2);
        words.add(kv[0]);
        if (kv.length == 2) {
          words.add(kv[1].trim());
        }
      }
    }
    for (int i = 0; i < words.size(); i++) {
      String name = words.get(i);
      String value = i + 1 < words.size() ? words.get(++i) : "";
      switch (name) {
        case "--out" -> out = Path.of(value);
        case "--model-dim" -> modelDim = Integer.parseInt(value);
        case "--heads" -> heads = Integer.parseInt(value);
        case "--kv-heads" -> kvHeads = Integer.parseInt(value);
        case "--head-dim" -> headDim = Integer.parseInt(value);
        case "--causal" -> causal = Boolean.parseBoolean(value);
        case "--window" -> window = Integer.parseInt(value);
        case "--seed" -> seed = Long.parseLong(value);
        case "--text" -> {
          int colon = value.indexOf(':');
          examples.add(colon > 0 ? new Example(value.substring(0, colon).trim(), value.substring(colon + 1))
              : new Example("text " + (examples.size() + 1), value));
        }
        default -> {
          System.err.println("usage: TracePage --out FILE [--model-dim 64] [--heads 8] [--kv-heads 2]"
              + " [--head-dim D] [--causal true|false] [--window W] [--seed S] [--text \"name: words\"]...");
          System.exit(2);
        }
      }
    }
    Config config = new Config(modelDim, heads, kvHeads, headDim > 0 ? headDim : Math.max(1, modelDim / heads),
        causal, window, seed);
    String html = html(config, examples.isEmpty() ? EXAMPLES : examples);
    Files.writeString(out, html);
    System.out.printf("Wrote %s (%,d bytes): d_model %d, %d query heads over %d KV heads of %d%s.%n",
        out.toAbsolutePath(), html.getBytes(StandardCharsets.UTF_8).length, config.modelDim(),
        config.queryHeads(), config.kvHeads(), config.headDim(), config.causal() ? ", causal" : "");
  }

  /**
   * The page for a layer and examples.
   *
   * @param config the layer
   * @param examples the sequences (each cut to {@link #MAX_TOKENS} tokens)
   * @return the HTML
   */
  public static String html(Config config, List<Example> examples) {
    MultiHeadAttention layer = config.layer();
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("config", Map.of("modelDim", config.modelDim(), "queryHeads", config.queryHeads(),
        "kvHeads", config.kvHeads(), "headDim", config.headDim(), "causal", config.causal(),
        "window", config.window(), "seed", config.seed(), "scale", layer.spec().scale()));
    List<Object> sequences = new ArrayList<>();
    for (Example e : examples) {
      sequences.add(sequence(layer, e));
    }
    data.put("sequences", sequences);
    String json;
    try {
      json = new ObjectMapper().writeValueAsString(data);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    // Inside <script>, "</" could end the element: JSON allows the escaped "<\/" instead.
    json = json.replace("</", "<\\/");
    return template().replace("/*TRACE_DATA*/null", json);
  }

  /** The words and punctuation of a text, at most {@link #MAX_TOKENS}. */
  public static List<String> tokens(String text) {
    List<String> tokens = new ArrayList<>();
    Matcher m = TOKEN.matcher(text);
    while (m.find() && tokens.size() < MAX_TOKENS) {
      tokens.add(m.group());
    }
    if (tokens.isEmpty()) {
      throw new IllegalArgumentException("no tokens in '" + text + "'");
    }
    return tokens;
  }

  /**
   * The input embeddings of tokens: standard normal values seeded by the token's lowercased text, plus the
   * sinusoidal position encoding {@code sin(p / 10000^(2i/d))} (even columns) and {@code cos} (odd).
   *
   * @param tokens the tokens
   * @param modelDim the width
   * @return {@code [tokens][modelDim]}
   */
  public static float[] embeddings(List<String> tokens, int modelDim) {
    float[] x = new float[tokens.size() * modelDim];
    for (int t = 0; t < tokens.size(); t++) {
      SplittableRandom random = new SplittableRandom(tokens.get(t).toLowerCase(java.util.Locale.ROOT).hashCode());
      for (int c = 0; c < modelDim; c++) {
        double angle = t / Math.pow(10000, (c & ~1) / (double) modelDim);
        double position = (c & 1) == 0 ? Math.sin(angle) : Math.cos(angle);
        x[t * modelDim + c] = (float) (random.nextGaussian() + position);
      }
    }
    return x;
  }

  private static Map<String, Object> sequence(MultiHeadAttention layer, Example e) {
    List<String> tokens = tokens(e.text());
    int n = tokens.size();
    int d = layer.modelDim();
    int h = layer.queryHeads();
    int g = layer.kvHeads();
    int dim = layer.headDim();
    float[] x = embeddings(tokens, d);
    float[] q = new float[n * h * dim];
    float[] k = new float[n * g * dim];
    float[] v = new float[n * g * dim];
    float[] scaled = new float[h * n * n];
    float[] weights = new float[h * n * n];
    float[] z = new float[n * h * dim];
    float[] out = new float[n * d];
    for (int t = 0; t < n; t++) {
      AttentionTrace trace = layer.trace(x, n, t);
      if (t == 0) {
        for (AttentionTrace.KvHead kv : trace.kvHeads()) {
          double[][] keys = kv.keys();
          double[][] values = kv.values();
          for (int j = 0; j < n; j++) {
            for (int c = 0; c < dim; c++) {
              k[(j * g + kv.kvHead()) * dim + c] = (float) keys[j][c];
              v[(j * g + kv.kvHead()) * dim + c] = (float) values[j][c];
            }
          }
        }
      }
      for (AttentionTrace.QueryHead head : trace.queryHeads()) {
        int hh = head.head();
        double[] query = head.query();
        double[] s = head.scaledScores();
        double[] w = head.weights();
        double[] zh = head.output();
        for (int c = 0; c < dim; c++) {
          q[(t * h + hh) * dim + c] = (float) query[c];
          z[(t * h + hh) * dim + c] = (float) zh[c];
        }
        for (int j = 0; j < n; j++) {
          scaled[(hh * n + t) * n + j] = (float) s[j];
          weights[(hh * n + t) * n + j] = (float) w[j];
        }
      }
      double[] y = trace.output();
      for (int c = 0; c < d; c++) {
        out[t * d + c] = (float) y[c];
      }
    }
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("name", e.name());
    s.put("text", e.text());
    s.put("tokens", tokens);
    s.put("inputs", base64(x));
    s.put("q", base64(q));
    s.put("k", base64(k));
    s.put("v", base64(v));
    s.put("scaled", base64(scaled));
    s.put("weights", base64(weights));
    s.put("z", base64(z));
    s.put("out", base64(out));
    return s;
  }

  /** Little-endian float32, base64: what the page decodes into a Float32Array. */
  static String base64(float[] values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return Base64.getEncoder().encodeToString(b.array());
  }

  private static float[] uniform(SplittableRandom random, int n, int in) {
    float[] w = new float[n];
    double a = 2 / Math.sqrt(in);
    for (int i = 0; i < n; i++) {
      w[i] = (float) ((random.nextDouble() * 2 - 1) * a);
    }
    return w;
  }

  private static String template() {
    try (InputStream in = TracePage.class.getResourceAsStream("trace-page.html")) {
      if (in == null) {
        throw new IllegalStateException("trace-page.html is missing from the class path");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
