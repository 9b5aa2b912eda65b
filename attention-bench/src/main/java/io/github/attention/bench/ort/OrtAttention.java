package io.github.attention.bench.ort;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.github.attention.bench.Problem;
import io.github.attention.bench.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One {@link Shape} run through ONNX Runtime's CPU attention, on the same inputs as {@link Problem}: the
 * {@code com.microsoft.MultiHeadAttention} operator for non-causal prefill, {@code
 * com.microsoft.GroupQueryAttention} (always causal) for causal prefill and for decode. The model of the one
 * node is written by {@link OnnxModel}.
 *
 * <p>Every tensor lives in a direct buffer bound once, and the outputs are pinned, so a call copies nothing
 * in or out on the Java side. Decode binds the whole cache, head-major ({@code [1][kvHeads][kvLen][headDim]},
 * the layout GroupQueryAttention requires), as both {@code past_key} and {@code present_key} (and likewise
 * for values): ONNX Runtime sees one buffer and only writes the newest token into it (its
 * "past_present_share_buffer" mode), with {@code seqlens_k = kvLen - 1}, {@code total_sequence_length =
 * kvLen}. The query and newest key/value are the problem's last token, so the computation is the kernel's.
 *
 * <p>Threads: {@code intra_op_num_threads} = the run's thread count (1 runs on the calling thread alone),
 * inter-op 1, sequential execution; ONNX Runtime's other defaults (spinning pool threads included) as a
 * user gets them.
 */
public final class OrtAttention implements AutoCloseable {

  private final Shape shape;
  private final OrtSession session;
  private final Map<String, OnnxTensor> inputs = new LinkedHashMap<>();
  private final Map<String, OnnxTensor> outputs = new LinkedHashMap<>();
  private final FloatBuffer out;

  private OrtAttention(Shape shape, Problem problem, int threads) throws OrtException {
    this.shape = shape;
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    int s = shape.qLen();
    int l = shape.kvLen();
    int h = shape.queryHeads();
    int hkv = shape.kvHeads();
    int d = shape.headDim();
    List<OnnxModel.Value> graphInputs = new ArrayList<>();
    List<OnnxModel.Value> graphOutputs = new ArrayList<>();
    List<String> nodeInputs;
    Map<String, Number> attributes = new LinkedHashMap<>();
    attributes.put("num_heads", (long) h);
    String op;
    out = floats(s * h * d);
    graphOutputs.add(new OnnxModel.Value("output", OnnxModel.FLOAT, 1, s, (long) h * d));
    outputs.put("output", OnnxTensor.createTensor(env, out, new long[] {1, s, (long) h * d}));
    if (!shape.causal()) {
      op = "MultiHeadAttention";
      nodeInputs = List.of("query", "key", "value");
      input(env, graphInputs, "query", problem.q(), 1, s, (long) h * d);
      input(env, graphInputs, "key", problem.k(), 1, l, (long) hkv * d);
      input(env, graphInputs, "value", problem.v(), 1, l, (long) hkv * d);
    } else {
      op = "GroupQueryAttention";
      attributes.put("kv_num_heads", (long) hkv);
      int window = shape.variant().window();
      if (window > 0) {
        attributes.put("local_window_size", (long) window - 1); // ORT's window excludes the query's own key
      }
      if (shape.variant() == Shape.Variant.SOFTCAP_50) {
        attributes.put("softcap", 50f);
      }
      nodeInputs = new ArrayList<>(List.of("query", "key", "value", "", "", "seqlens_k",
          "total_sequence_length"));
      input(env, graphInputs, "query", problem.q(), 1, s, (long) h * d);
      int newTokens = shape.decode() ? 1 : l;
      int first = l - newTokens;
      input(env, graphInputs, "key", rows(problem.k(), first, l, hkv * d), 1, newTokens, (long) hkv * d);
      input(env, graphInputs, "value", rows(problem.v(), first, l, hkv * d), 1, newTokens, (long) hkv * d);
      long[] cache = {1, hkv, l, d};
      if (shape.decode()) {
        nodeInputs.set(3, "past_key");
        nodeInputs.set(4, "past_value");
        FloatBuffer pastKey = floats(headMajor(problem.k(), l, hkv, d));
        FloatBuffer pastValue = floats(headMajor(problem.v(), l, hkv, d));
        graphInputs.add(new OnnxModel.Value("past_key", OnnxModel.FLOAT, cache));
        graphInputs.add(new OnnxModel.Value("past_value", OnnxModel.FLOAT, cache));
        inputs.put("past_key", OnnxTensor.createTensor(env, pastKey, cache));
        inputs.put("past_value", OnnxTensor.createTensor(env, pastValue, cache));
        // The same memory again as the outputs: ORT then shares the buffer instead of copying the past.
        outputs.put("present_key", OnnxTensor.createTensor(env, pastKey, cache));
        outputs.put("present_value", OnnxTensor.createTensor(env, pastValue, cache));
      } else {
        outputs.put("present_key", OnnxTensor.createTensor(env, floats(l * hkv * d), cache));
        outputs.put("present_value", OnnxTensor.createTensor(env, floats(l * hkv * d), cache));
      }
      graphOutputs.add(new OnnxModel.Value("present_key", OnnxModel.FLOAT, cache));
      graphOutputs.add(new OnnxModel.Value("present_value", OnnxModel.FLOAT, cache));
      graphInputs.add(new OnnxModel.Value("seqlens_k", OnnxModel.INT32, 1));
      graphInputs.add(new OnnxModel.Value("total_sequence_length", OnnxModel.INT32, 1));
      inputs.put("seqlens_k", OnnxTensor.createTensor(env, ints(l - 1), new long[] {1}));
      inputs.put("total_sequence_length", OnnxTensor.createTensor(env, ints(l), new long[] {1}));
    }
    List<String> nodeOutputs = new ArrayList<>(outputs.keySet());
    byte[] model = OnnxModel.microsoftNode(op, nodeInputs, nodeOutputs, attributes, graphInputs, graphOutputs);
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setIntraOpNumThreads(threads);
      options.setInterOpNumThreads(1);
      options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
      session = env.createSession(model, options);
    }
  }

  /**
   * Why ONNX Runtime cannot run a shape as the kernel does, or null if it can.
   *
   * @param shape the shape
   * @return the reason, or null
   */
  public static String unsupported(Shape shape) {
    if (!shape.causal() && shape.kvHeads() != shape.queryHeads()) {
      return "ORT's MultiHeadAttention has no grouped-query heads";
    }
    if (shape.causal() && shape.qLen() > 1 && shape.qLen() != shape.kvLen()) {
      return "chunked causal prefill (queries over a longer cache) is not modelled here";
    }
    return switch (shape.storage()) {
      case BF16, F16, INT8, PAGED_BF16 -> "ORT's CPU attention takes fp32 K/V with fp32 queries";
      case ARRAYS, HEAD_MAJOR -> shape.variant() == Shape.Variant.SINKS_ALIBI
          ? "ORT's CPU attention has no ALiBi with sinks"
          : !shape.causal() && shape.variant() != Shape.Variant.NONE ? "no non-causal variants in ORT"
          : null;
    };
  }

  /**
   * Builds the session and binds the problem's inputs.
   *
   * @param problem the inputs (their shape must be supported, see {@link #unsupported})
   * @param threads ONNX Runtime's intra-op threads
   * @return the bound session
   * @throws OrtException if ONNX Runtime rejects the model
   * @throws IllegalArgumentException if the shape is not supported
   */
  public static OrtAttention of(Problem problem, int threads) throws OrtException {
    String why = unsupported(problem.shape());
    if (why != null) {
      throw new IllegalArgumentException(problem.shape() + ": " + why);
    }
    return new OrtAttention(problem.shape(), problem, threads);
  }

  /**
   * One call of the session over the bound buffers.
   *
   * @throws OrtException if the run fails
   */
  public void run() throws OrtException {
    session.run(inputs, outputs).close(); // closes nothing of ours: every output is pinned
  }

  /** @return the output of the last {@link #run}, {@code [qLen][queryHeads][headDim]}, copied */
  public float[] output() {
    float[] copy = new float[out.capacity()];
    out.get(0, copy);
    return copy;
  }

  /** @return the shape */
  public Shape shape() {
    return shape;
  }

  @Override
  public void close() throws OrtException {
    session.close();
    for (OnnxTensor t : inputs.values()) {
      t.close();
    }
    for (OnnxTensor t : outputs.values()) {
      t.close();
    }
  }

  private void input(OrtEnvironment env, List<OnnxModel.Value> graphInputs, String name, float[] values,
      long... dims) throws OrtException {
    graphInputs.add(new OnnxModel.Value(name, OnnxModel.FLOAT, dims));
    inputs.put(name, OnnxTensor.createTensor(env, floats(values), dims));
  }

  /** Rows {@code [from, to)} of a row-major array of rows of {@code width}. */
  private static float[] rows(float[] values, int from, int to, int width) {
    float[] part = new float[(to - from) * width];
    System.arraycopy(values, from * width, part, 0, part.length);
    return part;
  }

  /** {@code [tokens][heads][dim]} as {@code [heads][tokens][dim]}. */
  private static float[] headMajor(float[] tokenMajor, int tokens, int heads, int dim) {
    float[] hm = new float[tokenMajor.length];
    for (int t = 0; t < tokens; t++) {
      for (int h = 0; h < heads; h++) {
        System.arraycopy(tokenMajor, (t * heads + h) * dim, hm, (h * tokens + t) * dim, dim);
      }
    }
    return hm;
  }

  private static FloatBuffer floats(int n) {
    return ByteBuffer.allocateDirect(n * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
  }

  private static FloatBuffer floats(float[] values) {
    FloatBuffer b = floats(values.length);
    b.put(0, values);
    return b;
  }

  private static IntBuffer ints(int value) {
    IntBuffer b = ByteBuffer.allocateDirect(Integer.BYTES).order(ByteOrder.nativeOrder()).asIntBuffer();
    b.put(0, value);
    return b;
  }
}
