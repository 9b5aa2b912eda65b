package io.github.attention.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.attention.layer.MultiHeadAttention;
import io.github.attention.layer.RotaryEmbedding;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * One layer's attention weights read from a checkpoint under a model family's tensor names, rearranged to
 * {@link MultiHeadAttention}'s {@code nn.Linear} layout ({@code [out][in]}).
 *
 * <ul>
 *   <li>{@link Naming#LLAMA} (Llama, Mistral, Qwen, …): {@code model.layers.N.self_attn.{q,k,v,o}_proj.weight}
 *       (and {@code .bias} where present), already {@code [out][in]}; these models rotate q and k, so the
 *       sizes must carry a {@link RotaryEmbedding} (from {@code config.json}'s {@code rope_theta}).
 *   <li>{@link Naming#GPT2}: {@code h.N.attn.c_attn.{weight,bias}} (also under a {@code transformer.} prefix),
 *       the fused QKV of a {@code Conv1D}, stored {@code [in][3·out]} and transposed here, and
 *       {@code h.N.attn.c_proj}.
 *   <li>{@link Naming#TORCH_MULTIHEAD}: PyTorch's {@code nn.MultiheadAttention} state under a prefix
 *       ({@code {N}} in it stands for the layer index): {@code in_proj_weight} {@code [3E][E]} split into
 *       rows of q, k, v (or separate {@code q_proj_weight}, {@code k_proj_weight}, {@code v_proj_weight}),
 *       {@code in_proj_bias}, {@code out_proj.weight}, {@code out_proj.bias}.
 * </ul>
 *
 * <p>Every tensor's shape is checked against the dimensions before anything is built; a mismatch names the
 * tensor and the expected and actual shapes.
 */
public final class CheckpointLayers {

  private CheckpointLayers() {}

  /** A model family's tensor names. */
  public enum Naming {
    /** {@code model.layers.N.self_attn.{q,k,v,o}_proj}. */
    LLAMA,
    /** {@code [transformer.]h.N.attn.{c_attn,c_proj}}, Conv1D layout. */
    GPT2,
    /** {@code nn.MultiheadAttention}'s state dict, under a prefix. */
    TORCH_MULTIHEAD
  }

  /**
   * The attention's sizes.
   *
   * @param modelDim {@code d_model}
   * @param queryHeads query heads
   * @param kvHeads key/value heads
   * @param headDim the width of one head
   * @param slidingWindow the model's sliding window, 0 for none
   * @param rotary the model's rotary embedding, or null for none
   */
  public record Dims(int modelDim, int queryHeads, int kvHeads, int headDim, int slidingWindow,
      RotaryEmbedding rotary) {

    /**
     * Sizes of a model without rotary embeddings or windows.
     *
     * @param modelDim {@code d_model}
     * @param queryHeads query heads
     * @param kvHeads key/value heads
     * @param headDim the width of one head
     * @return the sizes
     */
    public static Dims of(int modelDim, int queryHeads, int kvHeads, int headDim) {
      return new Dims(modelDim, queryHeads, kvHeads, headDim, 0, null);
    }

    /**
     * The sizes from a Hugging Face {@code config.json}: {@code hidden_size} (GPT-2: {@code n_embd}),
     * {@code num_attention_heads} ({@code n_head}), {@code num_key_value_heads} (default: the query heads),
     * {@code head_dim} (default: {@code hidden_size / heads}), {@code sliding_window} (null or absent: none),
     * and with {@code rope_theta} a half-split rotary embedding (Hugging Face's pairing) of
     * {@code head_dim · partial_rotary_factor} dimensions (default 1), scaled as {@code rope_scaling} says
     * ({@code "linear"} with {@code factor}; {@code "llama3"} with {@code factor}, {@code low_freq_factor},
     * {@code high_freq_factor}, {@code original_max_position_embeddings}); other scalings are rejected.
     *
     * @param configJson the file
     * @return the sizes
     * @throws IOException if it cannot be read, is not JSON, or lacks the width or the head count
     */
    public static Dims fromConfig(Path configJson) throws IOException {
      JsonNode c = new ObjectMapper().readTree(Files.readString(configJson));
      int hidden = integer(configJson, c, "hidden_size", "n_embd", -1);
      int heads = integer(configJson, c, "num_attention_heads", "n_head", -1);
      if (hidden < 1 || heads < 1) {
        throw new IOException(configJson + ": needs hidden_size (or n_embd) and num_attention_heads (or n_head)");
      }
      int kv = integer(configJson, c, "num_key_value_heads", "num_key_value_heads", heads);
      int headDim = integer(configJson, c, "head_dim", "head_dim", hidden / heads);
      int window = integer(configJson, c, "sliding_window", "sliding_window", 0);
      JsonNode theta = c.get("rope_theta");
      RotaryEmbedding rotary = null;
      if (theta != null && theta.isNumber()) {
        JsonNode partial = c.get("partial_rotary_factor");
        int rotaryDim = partial != null && partial.isNumber() ? 2 * (int) (headDim * partial.doubleValue() / 2)
            : headDim;
        rotary = RotaryEmbedding.of(theta.doubleValue(), rotaryDim, RotaryEmbedding.Pairing.HALF_SPLIT);
        JsonNode scaling = c.get("rope_scaling");
        if (scaling != null && scaling.isObject()) {
          String type = scaling.path("rope_type").asText(scaling.path("type").asText(""));
          double factor = scaling.path("factor").asDouble(1);
          rotary = switch (type) {
            case "linear" -> rotary.withLinearScaling(factor);
            case "llama3" -> rotary.withLlama3Scaling(factor, scaling.path("low_freq_factor").asDouble(1),
                scaling.path("high_freq_factor").asDouble(4),
                scaling.path("original_max_position_embeddings").asInt(8192));
            case "default", "" -> rotary;
            default -> throw new IOException(configJson + ": rope_scaling type '" + type + "' is not supported"
                + " (linear, llama3)");
          };
        }
      }
      return new Dims(hidden, heads, kv, headDim, window, rotary);
    }

    private static int integer(Path file, JsonNode c, String name, String alias, int fallback) throws IOException {
      JsonNode n = c.get(name) != null ? c.get(name) : c.get(alias);
      if (n == null || n.isNull()) {
        return fallback;
      }
      if (!n.canConvertToInt() || !n.isIntegralNumber()) {
        throw new IOException(file + ": " + name + " is " + n + ", expected an integer");
      }
      return n.intValue();
    }
  }

  /**
   * One layer's weights, {@code [out][in]} as {@link MultiHeadAttention.Builder} takes them (biases null when
   * the checkpoint has none).
   *
   * @param dims the sizes
   * @param naming where they came from
   * @param wq {@code [queryHeads·headDim][modelDim]}
   * @param wk {@code [kvHeads·headDim][modelDim]}
   * @param wv {@code [kvHeads·headDim][modelDim]}
   * @param wo {@code [modelDim][queryHeads·headDim]}
   * @param bq or null
   * @param bk or null
   * @param bv or null
   * @param bo or null
   */
  public record LayerWeights(Dims dims, Naming naming, float[] wq, float[] wk, float[] wv, float[] wo, float[] bq,
      float[] bk, float[] bv, float[] bo) {

    /**
     * A builder holding these weights and sizes (the model's sliding window and rotary embedding included);
     * add the kernel, threads and causality (GPT-2 and decoders: causal) before {@code build()}.
     *
     * @return the builder
     * @throws IllegalStateException for {@link Naming#LLAMA} without a rotary embedding in the sizes: those
     *     models rotate q and k, and the layer would compute something else
     */
    public MultiHeadAttention.Builder builder() {
      if (naming == Naming.LLAMA && dims.rotary() == null) {
        throw new IllegalStateException("Llama-family attention rotates q and k: give Dims a RotaryEmbedding"
            + " (Dims.fromConfig reads rope_theta from config.json)");
      }
      MultiHeadAttention.Builder b = MultiHeadAttention.builder()
          .modelDim(dims.modelDim()).queryHeads(dims.queryHeads()).kvHeads(dims.kvHeads()).headDim(dims.headDim())
          .queryWeights(wq).keyWeights(wk).valueWeights(wv).outputWeights(wo)
          .queryBias(bq).keyBias(bk).valueBias(bv).outputBias(bo);
      if (dims.slidingWindow() > 0) {
        b.slidingWindow(dims.slidingWindow());
      }
      return b.rotary(dims.rotary());
    }
  }

  /**
   * The one call: opens the checkpoint at {@code path} (file, shard index or directory), takes the sizes from
   * the {@code config.json} beside it ({@link Dims#fromConfig}), reads layer {@code layer}'s attention weights
   * under {@code naming} (for {@link Naming#TORCH_MULTIHEAD}, prefix {@code "layers.{N}.self_attn."}, as
   * {@code nn.TransformerEncoder} names them), and closes the file again (the weights are copied).
   *
   * @param path the checkpoint
   * @param layer the layer index
   * @param naming the model family
   * @return a builder with the weights, sizes, window and rotary embedding set; add kernel, threads and
   *     causality
   * @throws IOException if the checkpoint or its config cannot be read, is malformed, or there is no
   *     {@code config.json} beside it
   * @throws IllegalArgumentException if a tensor is missing or has the wrong shape
   */
  public static MultiHeadAttention.Builder fromCheckpoint(Path path, int layer, Naming naming) throws IOException {
    Path folder = Files.isDirectory(path) ? path : path.toAbsolutePath().getParent();
    Path config = folder.resolve("config.json");
    if (!Files.isRegularFile(config)) {
      throw new IOException("no config.json beside " + path + " (give the sizes with CheckpointLayers.read)");
    }
    Dims dims = Dims.fromConfig(config);
    try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(path)) {
      return read(ckpt, naming, "layers.{N}.self_attn.", layer, dims).builder();
    }
  }

  /**
   * Reads layer {@code layer}'s attention weights.
   *
   * @param ckpt the checkpoint
   * @param naming the model family
   * @param prefix for {@link Naming#TORCH_MULTIHEAD}, the module's prefix (e.g. {@code "layers.{N}.self_attn."},
   *     or {@code ""}); ignored otherwise
   * @param layer the layer index
   * @param dims the sizes
   * @return the weights
   * @throws IllegalArgumentException if a tensor is missing (similar names listed) or has the wrong shape
   */
  public static LayerWeights read(SafetensorsCheckpoint ckpt, Naming naming, String prefix, int layer, Dims dims) {
    int e = dims.modelDim();
    int q = dims.queryHeads() * dims.headDim();
    int kv = dims.kvHeads() * dims.headDim();
    return switch (naming) {
      case LLAMA -> {
        String p = "model.layers." + layer + ".self_attn.";
        yield new LayerWeights(dims, naming,
            tensor(ckpt, p + "q_proj.weight", q, e), tensor(ckpt, p + "k_proj.weight", kv, e),
            tensor(ckpt, p + "v_proj.weight", kv, e), tensor(ckpt, p + "o_proj.weight", e, q),
            optional(ckpt, p + "q_proj.bias", q), optional(ckpt, p + "k_proj.bias", kv),
            optional(ckpt, p + "v_proj.bias", kv), optional(ckpt, p + "o_proj.bias", e));
      }
      case GPT2 -> {
        String p = (ckpt.contains("transformer.h." + layer + ".attn.c_attn.weight") ? "transformer." : "") + "h."
            + layer + ".attn.";
        if (q != e || kv != e) {
          throw new IllegalArgumentException("GPT-2 attention has queryHeads·headDim = kvHeads·headDim = modelDim;"
              + " got " + dims);
        }
        // Conv1D: y = x·W + b with W [in][out]; the fused output columns are q | k | v.
        float[] w = tensor(ckpt, p + "c_attn.weight", e, 3 * e);
        float[] b = optional(ckpt, p + "c_attn.bias", 3 * e);
        yield new LayerWeights(dims, naming, columns(w, e, 3 * e, 0, e), columns(w, e, 3 * e, e, e),
            columns(w, e, 3 * e, 2 * e, e), columns(tensor(ckpt, p + "c_proj.weight", e, e), e, e, 0, e),
            b == null ? null : Arrays.copyOfRange(b, 0, e), b == null ? null : Arrays.copyOfRange(b, e, 2 * e),
            b == null ? null : Arrays.copyOfRange(b, 2 * e, 3 * e), optional(ckpt, p + "c_proj.bias", e));
      }
      case TORCH_MULTIHEAD -> {
        String p = prefix.replace("{N}", Integer.toString(layer));
        float[] wq;
        float[] wk;
        float[] wv;
        if (ckpt.contains(p + "in_proj_weight")) {
          if (q != e || kv != e) {
            throw new IllegalArgumentException("a fused in_proj_weight needs queryHeads·headDim = kvHeads·headDim"
                + " = modelDim; got " + dims);
          }
          float[] w = tensor(ckpt, p + "in_proj_weight", 3 * e, e);
          wq = Arrays.copyOfRange(w, 0, e * e);
          wk = Arrays.copyOfRange(w, e * e, 2 * e * e);
          wv = Arrays.copyOfRange(w, 2 * e * e, 3 * e * e);
        } else {
          wq = tensor(ckpt, p + "q_proj_weight", q, e);
          wk = tensor(ckpt, p + "k_proj_weight", kv, e);
          wv = tensor(ckpt, p + "v_proj_weight", kv, e);
        }
        float[] b = optional(ckpt, p + "in_proj_bias", q + 2 * kv);
        yield new LayerWeights(dims, naming, wq, wk, wv, tensor(ckpt, p + "out_proj.weight", e, q),
            b == null ? null : Arrays.copyOfRange(b, 0, q), b == null ? null : Arrays.copyOfRange(b, q, q + kv),
            b == null ? null : Arrays.copyOfRange(b, q + kv, q + 2 * kv), optional(ckpt, p + "out_proj.bias", e));
      }
    };
  }

  /** A 2-D tensor of the given shape, as fp32. */
  private static float[] tensor(SafetensorsCheckpoint ckpt, String name, long rows, long cols) {
    long[] shape = ckpt.info(name).shape();
    if (shape.length != 2 || shape[0] != rows || shape[1] != cols) {
      throw new IllegalArgumentException("tensor '" + name + "' has shape " + Arrays.toString(shape)
          + ", expected [" + rows + ", " + cols + "]");
    }
    return ckpt.readFloats(name);
  }

  /** A 1-D tensor of the given length as fp32, or null if the checkpoint has none. */
  private static float[] optional(SafetensorsCheckpoint ckpt, String name, long length) {
    if (!ckpt.contains(name)) {
      return null;
    }
    long[] shape = ckpt.info(name).shape();
    if (shape.length != 1 || shape[0] != length) {
      throw new IllegalArgumentException("tensor '" + name + "' has shape " + Arrays.toString(shape)
          + ", expected [" + length + "]");
    }
    return ckpt.readFloats(name);
  }

  /** Columns {@code [from, from+count)} of a row-major {@code [rows][cols]} matrix, transposed: {@code [count][rows]}. */
  private static float[] columns(float[] m, int rows, int cols, int from, int count) {
    float[] t = new float[count * rows];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < count; c++) {
        t[c * rows + r] = m[r * cols + from + c];
      }
    }
    return t;
  }
}
