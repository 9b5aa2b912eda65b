package io.github.attention.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attention.kernel.AttentionKernel;
import io.github.attention.layer.KvCache;
import io.github.attention.layer.MultiHeadAttention;
import io.github.attention.verify.ReferenceLayer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URISyntaxException;
import java.nio.ByteOrder;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The layer built from PyTorch checkpoints through the naming maps computes what PyTorch computes. The
 * fixtures (regenerate with {@code src/test/python/make_fixtures.py}, Debian's python3-torch 1.13) hold
 * float32 weights under each family's real names, an input, and PyTorch's output in float64 from exactly
 * those float32 values, so it is the exact result to double rounding.
 *
 * <p>Bound: the layer is within {@link ReferenceLayer}'s rigorous fp32 tolerance of the exact result
 * (computed on the weights as read), and PyTorch's float64 within about {@code m·2⁻⁵³} of it (m ≤ a few
 * dozen terms per sum): {@code 1e-9·termMagnitude} covers that. A wrong split or transpose of a fused
 * matrix moves outputs by O(1).
 */
class PyTorchAgreementTest {

  private static double largestErrorOverTolerance;
  private static double largestError;

  @ParameterizedTest(name = "{0} causal={1} {2}")
  @CsvSource({
      "torch_multihead.safetensors, false, scalar", "torch_multihead.safetensors, false, vector",
      "torch_multihead.safetensors, true, scalar", "torch_multihead.safetensors, true, vector",
      "gpt2.safetensors, true, scalar", "gpt2.safetensors, true, vector",
      "llama.safetensors, true, scalar", "llama.safetensors, true, vector"})
  void layerFromTheCheckpointMatchesPyTorch(String fixture, boolean causal, String backend) throws Exception {
    boolean gpt2 = fixture.startsWith("gpt2");
    boolean llama = fixture.startsWith("llama");
    try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(fixture(fixture))) {
      CheckpointLayers.Dims dims = gpt2 ? CheckpointLayers.Dims.fromConfig(fixture("gpt2-config.json"))
          : llama ? CheckpointLayers.Dims.fromConfig(fixture("llama-config.json"))
          : CheckpointLayers.Dims.of(16, 4, 4, 4);
      CheckpointLayers.LayerWeights w = CheckpointLayers.read(ckpt, gpt2 ? CheckpointLayers.Naming.GPT2
          : llama ? CheckpointLayers.Naming.LLAMA : CheckpointLayers.Naming.TORCH_MULTIHEAD, "self_attn.", 0, dims);
      MultiHeadAttention layer = w.builder().causal(causal)
          .kernel(backend.equals("vector") ? AttentionKernel.vector() : AttentionKernel.scalar()).build();
      float[] x = ckpt.readFloats("x");
      int n = x.length / dims.modelDim();
      float[] y = new float[x.length];
      layer.forward(x, n, y);
      double[] torch = doubles(ckpt.segment(gpt2 || llama ? "y" : causal ? "y_causal" : "y_full"));
      ReferenceLayer.Result ref = ReferenceLayer.forward(new ReferenceLayer.Weights(dims.modelDim(),
          dims.queryHeads(), dims.kvHeads(), dims.headDim(), causal, w.wq(), w.wk(), w.wv(), w.wo(), w.bq(), w.bk(),
          w.bv(), w.bo()), dims.rotary(), 0, null, null, 0, x, n);
      assertEquals(torch.length, y.length);
      for (int i = 0; i < y.length; i++) {
        double error = Math.abs(y[i] - torch[i]);
        double bound = ref.tolerance(i) + 1e-9 * ref.termMagnitude(i);
        int at = i;
        assertTrue(error <= bound, () -> fixture + ": y[" + at + "] = " + y[at] + ", PyTorch " + torch[at]
            + ", |error| " + error + " > bound " + bound);
        synchronized (PyTorchAgreementTest.class) {
          largestError = Math.max(largestError, error);
          largestErrorOverTolerance = Math.max(largestErrorOverTolerance, error / bound);
        }
      }
    }
  }

  @org.junit.jupiter.api.Test
  void namesAndShapesAreCheckedAndLlamaNeedsARotaryEmbedding() throws Exception {
    try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(fixture("gpt2.safetensors"))) {
      IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> CheckpointLayers.read(
          ckpt, CheckpointLayers.Naming.LLAMA, "", 0, CheckpointLayers.Dims.of(24, 3, 3, 8)));
      assertTrue(missing.getMessage().contains("has no tensor 'model.layers.0.self_attn.q_proj.weight'"),
          missing.getMessage());
      IllegalArgumentException shape = assertThrows(IllegalArgumentException.class, () -> CheckpointLayers.read(
          ckpt, CheckpointLayers.Naming.GPT2, "", 0, CheckpointLayers.Dims.of(16, 4, 4, 4)));
      assertTrue(shape.getMessage().contains("tensor 'h.0.attn.c_attn.weight' has shape [24, 72], expected [16, 48]"),
          shape.getMessage());
    }
    CheckpointLayers.LayerWeights llama = new CheckpointLayers.LayerWeights(
        CheckpointLayers.Dims.of(8, 2, 1, 4), CheckpointLayers.Naming.LLAMA, new float[32],
        new float[16], new float[16], new float[64], null, null, null, null);
    IllegalStateException e = assertThrows(IllegalStateException.class, llama::builder);
    assertTrue(e.getMessage().contains("rotates q and k"), e.getMessage());
    CheckpointLayers.Dims fromConfig = CheckpointLayers.Dims.fromConfig(fixture("llama-config.json"));
    assertEquals(new CheckpointLayers.Dims(32, 4, 2, 8, 0,
        io.github.attention.layer.RotaryEmbedding.of(10000, 8, io.github.attention.layer.RotaryEmbedding.Pairing.HALF_SPLIT)),
        fromConfig);
  }

  /** The README's example: a Llama layer from its checkpoint, a prompt, then one token through the cache. */
  @org.junit.jupiter.api.Test
  void readmeExampleDecodesWithRopeThroughACache() throws Exception {
    Path dir = fixture("llama.safetensors");
    Path config = fixture("llama-config.json");
    float[] x;
    try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
      x = c.readFloats("x");
    }
    int promptLength = 8;
    float[] outputs = new float[9 * 32];
    // ---- README example "checkpoint": begin ----
    try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
      CheckpointLayers.Dims dims = CheckpointLayers.Dims.fromConfig(config);    // heads, head_dim, rope_theta
      MultiHeadAttention layer = CheckpointLayers.read(ckpt, CheckpointLayers.Naming.LLAMA, "", 0, dims)
          .builder().causal(true).kernel(AttentionKernel.best()).build();      // RoPE from the config
      KvCache cache = layer.newCache(512);
      layer.forward(x, promptLength, cache, outputs);                         // the prompt, positions 0..7
      float[] next = java.util.Arrays.copyOfRange(x, promptLength * 32, (promptLength + 1) * 32);
      float[] y = new float[32];
      layer.forward(next, 1, cache, y);                                       // one token, position 8
      System.arraycopy(y, 0, outputs, promptLength * 32, 32);
    }
    // ---- README example "checkpoint": end ----
    try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
      CheckpointLayers.Dims dims = CheckpointLayers.Dims.fromConfig(config);
      CheckpointLayers.LayerWeights w = CheckpointLayers.read(ckpt, CheckpointLayers.Naming.LLAMA, "", 0, dims);
      double[] torch = doubles(ckpt.segment("y"));
      ReferenceLayer.Result ref = ReferenceLayer.forward(new ReferenceLayer.Weights(32, 4, 2, 8, true, w.wq(),
          w.wk(), w.wv(), w.wo(), null, null, null, null), dims.rotary(), 0, null, null, 0, x, 9);
      for (int i = 0; i < outputs.length; i++) {
        double bound = ref.tolerance(i) + 1e-9 * ref.termMagnitude(i);
        assertTrue(Math.abs(outputs[i] - torch[i]) <= bound, "y[" + i + "] = " + outputs[i] + ", PyTorch " + torch[i]);
      }
    }
  }

  /** The one call: a folder with the checkpoint and its config.json; the layer equals the one built by hand. */
  @org.junit.jupiter.api.Test
  void fromCheckpointReadsTheConfigBesideTheFile(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
    java.nio.file.Files.copy(fixture("llama.safetensors"), dir.resolve("model.safetensors"));
    java.nio.file.Files.copy(fixture("llama-config.json"), dir.resolve("config.json"));
    MultiHeadAttention layer = CheckpointLayers.fromCheckpoint(dir, 0, CheckpointLayers.Naming.LLAMA)
        .causal(true).kernel(AttentionKernel.scalar()).build();
    assertEquals(32, layer.modelDim());
    assertEquals(2, layer.kvHeads());
    assertEquals(10000, layer.rotary().theta());
    // The same layer as the one built step by step (whose outputs are checked against PyTorch above): the
    // same weights and kernel, so the same bits.
    float[] x;
    MultiHeadAttention byHand;
    try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
      x = c.readFloats("x");
      byHand = CheckpointLayers.read(c, CheckpointLayers.Naming.LLAMA, "", 0,
          CheckpointLayers.Dims.fromConfig(dir.resolve("config.json"))).builder().causal(true)
          .kernel(AttentionKernel.scalar()).build();
    }
    float[] y = new float[x.length];
    float[] expected = new float[x.length];
    layer.forward(x, 9, y);
    byHand.forward(x, 9, expected);
    org.junit.jupiter.api.Assertions.assertArrayEquals(expected, y);
    java.nio.file.Files.delete(dir.resolve("config.json"));
    assertThrows(java.io.IOException.class, () -> CheckpointLayers.fromCheckpoint(dir, 0, CheckpointLayers.Naming.LLAMA));
  }

  @AfterAll
  static void report() {
    System.out.printf("[agreement with PyTorch] largest |ours - torch| = %.3e, largest error/bound = %.3e%n",
        largestError, largestErrorOverTolerance);
  }

  private static double[] doubles(MemorySegment s) {
    return s.toArray(ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
  }

  private static Path fixture(String name) throws URISyntaxException {
    return Path.of(PyTorchAgreementTest.class.getResource("/fixtures/" + name).toURI());
  }
}
