package io.github.attention.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterTry;
import net.jqwik.api.lifecycle.BeforeTry;

/**
 * The safetensors reader: round trips of random tensors of every float dtype, shards through an index, and
 * one example per malformed case, each rejected with a message naming the problem (and never read).
 */
class SafetensorsTest {

  private Path dir;

  @BeforeTry
  void makeDir() throws IOException {
    dir = Files.createTempDirectory("safetensors-test");
  }

  @AfterTry
  void removeDir() throws IOException {
    try (var files = Files.walk(dir)) {
      for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  /**
   * Random tensors (1 to 5, dims 0 to 4 of sizes 0 to 7, F32/F16/BF16, random metadata) read back as the
   * values the format stores: F32 bit for bit, F16 and BF16 exactly their rounding.
   */
  @Property(tries = 200)
  void randomTensorsRoundTrip(@ForAll long seed, @ForAll @IntRange(min = 1, max = 5) int count) throws IOException {
    SplittableRandom r = new SplittableRandom(seed);
    Map<String, SafetensorsWriter.Tensor> tensors = new LinkedHashMap<>();
    Map<String, float[]> expected = new LinkedHashMap<>();
    String[] dtypes = {"F32", "F16", "BF16"};
    for (int i = 0; i < count; i++) {
      long[] shape = new long[r.nextInt(5)];
      int n = 1;
      for (int d = 0; d < shape.length; d++) {
        shape[d] = r.nextInt(8);
        n *= (int) shape[d];
      }
      float[] values = new float[n];
      for (int j = 0; j < n; j++) {
        values[j] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(-3, 4)));
      }
      String dtype = dtypes[r.nextInt(3)];
      String name = "layer." + i + ".w\"\\é";
      tensors.put(name, SafetensorsWriter.floats(dtype, shape, values));
      float[] seen = values.clone();
      for (int j = 0; j < n; j++) {
        seen[j] = switch (dtype) {
          case "F16" -> Float.float16ToFloat(Float.floatToFloat16(values[j]));
          case "BF16" -> {
            int bits = Float.floatToRawIntBits(values[j]);
            yield Float.intBitsToFloat(((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16) << 16);
          }
          default -> values[j];
        };
      }
      expected.put(name, seen);
    }
    Map<String, String> metadata = r.nextBoolean() ? Map.of("format", "pt", "note", "x\"y") : Map.of();
    Path file = dir.resolve("m.safetensors");
    SafetensorsWriter.write(file, tensors, metadata);
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      assertEquals(List.copyOf(tensors.keySet()), List.copyOf(f.names()));
      assertEquals(metadata, f.metadata());
      for (Map.Entry<String, float[]> e : expected.entrySet()) {
        SafetensorsFile.TensorInfo info = f.info(e.getKey());
        assertArrayEquals(tensors.get(e.getKey()).shape(), info.shape());
        assertEquals(tensors.get(e.getKey()).dtype(), info.dtype().name());
        assertArrayEquals(e.getValue(), f.readFloats(e.getKey()));
        assertEquals(info.end() - info.begin(), f.segment(e.getKey()).byteSize());
      }
    }
  }

  @Example
  void shardsAreFollowedThroughTheIndex() throws IOException {
    SafetensorsWriter.write(dir.resolve("model-00001-of-00002.safetensors"), SafetensorsWriter.of(
        "a", SafetensorsWriter.floats("F32", new long[] {2}, new float[] {1, 2})), Map.of());
    SafetensorsWriter.write(dir.resolve("model-00002-of-00002.safetensors"), SafetensorsWriter.of(
        "b", SafetensorsWriter.floats("BF16", new long[] {1, 2}, new float[] {3, -4})), Map.of());
    Files.writeString(dir.resolve(SafetensorsCheckpoint.INDEX), "{\"metadata\":{\"total_size\":12},"
        + "\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00002-of-00002.safetensors\"}}");
    try (SafetensorsCheckpoint c = SafetensorsCheckpoint.open(dir)) {
      assertEquals(List.of("a", "b"), List.copyOf(c.names()));
      assertArrayEquals(new float[] {1, 2}, c.readFloats("a"));
      assertArrayEquals(new float[] {3, -4}, c.readFloats("b"));
      IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> c.readFloats("bb"));
      assertTrue(missing.getMessage().contains("similar: b"), missing.getMessage());
    }
    // The index names a tensor its shard does not hold.
    Files.writeString(dir.resolve(SafetensorsCheckpoint.INDEX),
        "{\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\",\"c\":\"model-00002-of-00002.safetensors\"}}");
    expectMalformed(() -> SafetensorsCheckpoint.open(dir), "tensor 'c' is not in its shard");
    Files.writeString(dir.resolve(SafetensorsCheckpoint.INDEX), "{\"weight_map\":{\"a\":\"../x.safetensors\"}}");
    expectMalformed(() -> SafetensorsCheckpoint.open(dir), "not a file name beside the index");
  }

  @Example
  void aMissingTensorListsSimilarNames() throws IOException {
    Path file = dir.resolve("m.safetensors");
    SafetensorsWriter.write(file, SafetensorsWriter.of(
        "model.layers.0.self_attn.q_proj.weight", SafetensorsWriter.floats("F32", new long[] {1}, new float[] {1}),
        "model.layers.0.self_attn.k_proj.weight", SafetensorsWriter.floats("F32", new long[] {1}, new float[] {2}),
        "lm_head.weight", SafetensorsWriter.floats("F32", new long[] {1}, new float[] {3})), Map.of());
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> f.readFloats("model.layers.0.self_attn.v_proj.weight"));
      assertTrue(e.getMessage().contains("has no tensor 'model.layers.0.self_attn.v_proj.weight'; similar: "
          + "model.layers.0.self_attn.k_proj.weight, model.layers.0.self_attn.q_proj.weight"), e.getMessage());
    }
  }

  @Example
  void otherDtypesAreListedButNotReadAsFloats() throws IOException {
    Path file = dir.resolve("m.safetensors");
    SafetensorsWriter.write(file, SafetensorsWriter.of("ids",
        new SafetensorsWriter.Tensor("I64", new long[] {2}, new byte[16])), Map.of());
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      assertEquals(SafetensorsFile.Dtype.I64, f.info("ids").dtype());
      UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> f.readFloats("ids"));
      assertTrue(e.getMessage().contains("is I64; only F32, F16 and BF16"), e.getMessage());
    }
  }

  // --- malformed files: one example per case -------------------------------------------------------

  @Example
  void shorterThanTheLengthField() throws IOException {
    Path file = dir.resolve("m.safetensors");
    Files.write(file, new byte[5]);
    expectMalformed(file, "shorter than the 8-byte header length");
  }

  @Example
  void headerLengthBeyondTheFile() throws IOException {
    Path file = dir.resolve("m.safetensors");
    SafetensorsWriter.raw(file, 1000, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]);
    expectMalformed(file, "header length 1000 goes beyond the file (2 bytes after the length)");
    SafetensorsWriter.raw(file, -1, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]);
    expectMalformed(file, "header length 18446744073709551615 goes beyond the file");
  }

  @Example
  void headerAboveTheLimit() throws IOException {
    Path file = dir.resolve("m.safetensors");
    // A sparse file: the length field says 100 MB + 1 and the file is that long.
    long declared = SafetensorsFile.MAX_HEADER_BYTES + 1;
    try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.CREATE_NEW,
        java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.SPARSE)) {
      java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      b.putLong(declared).flip();
      ch.write(b);
      ch.write(java.nio.ByteBuffer.wrap(new byte[] {'}'}), 8 + declared - 1);
    }
    expectMalformed(file, "exceeds the limit of 100000000");
  }

  @Example
  void headerNotJson() throws IOException {
    expectMalformedHeader("{\"a\": {\"dtype\": \"F32\",", "header is not valid JSON");
    expectMalformedHeader("[1, 2]", "header is not a JSON object");
    Path file = dir.resolve("bad-utf8.safetensors");
    SafetensorsWriter.raw(file, 3, new byte[] {'{', (byte) 0xC3, '}'}, new byte[0]);
    expectMalformed(file, "header is not UTF-8");
  }

  @Example
  void duplicateNames() throws IOException {
    expectMalformedHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
        + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8], "Duplicate field 'a'");
  }

  @Example
  void unknownDtype() throws IOException {
    expectMalformedHeader("{\"a\":{\"dtype\":\"F24\",\"shape\":[1],\"data_offsets\":[0,3]}}", new byte[3],
        "tensor 'a' has unknown dtype 'F24'");
  }

  @Example
  void shapeNotMatchingTheByteRange() throws IOException {
    expectMalformedHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", new byte[20],
        "tensor 'a' is F32[2,3] = 24 bytes, but its data_offsets [0, 20] hold 20");
    expectMalformedHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", new byte[4],
        "dimension 0 = -1: expected a non-negative integer");
    expectMalformedHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,4]}}",
        new byte[4], "overflows 64-bit sizes");
  }

  @Example
  void offsetsOutOfRange() throws IOException {
    expectMalformedHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[4],
        "tensor 'a' ends at byte 8, beyond the 4 bytes of data");
    expectMalformedHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", new byte[8],
        "expected 0 <= begin <= end");
    expectMalformedHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", new byte[4],
        "needs data_offsets [begin, end]");
  }

  @Example
  void overlappingRangesAndHoles() throws IOException {
    expectMalformedHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8],
        "tensors 'a' [0, 8) and 'b' [4, 8) overlap");
    expectMalformedHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8],
        "bytes [0, 4) of the data belong to no tensor");
    expectMalformedHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[12],
        "bytes [4, 12) at the end of the data belong to no tensor");
  }

  @Example
  void unorderedRangesAreFineWhenTheyTile() throws IOException {
    // Header order need not be byte order: b's bytes come first.
    Path file = dir.resolve("m.safetensors");
    byte[] data = new byte[8];
    java.nio.ByteBuffer.wrap(data).order(java.nio.ByteOrder.LITTLE_ENDIAN).putFloat(2f).putFloat(1f);
    SafetensorsWriter.raw(file, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
        + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", data);
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      assertArrayEquals(new float[] {1f}, f.readFloats("a"));
      assertArrayEquals(new float[] {2f}, f.readFloats("b"));
    }
  }

  @Example
  void badMetadata() throws IOException {
    expectMalformedHeader("{\"__metadata__\":{\"format\":1}}", "__metadata__.format is not a string");
    expectMalformedHeader("{\"__metadata__\":[]}", "__metadata__ is not an object of strings");
  }

  private void expectMalformedHeader(String header, String message) throws IOException {
    expectMalformedHeader(header, new byte[0], message);
  }

  private void expectMalformedHeader(String header, byte[] data, String message) throws IOException {
    Path file = dir.resolve("h" + header.hashCode() + ".safetensors");
    SafetensorsWriter.raw(file, header, data);
    expectMalformed(file, message);
  }

  private static void expectMalformed(Path file, String message) {
    expectMalformed(() -> SafetensorsFile.open(file), message);
  }

  private interface Opener {
    AutoCloseable open() throws IOException;
  }

  private static void expectMalformed(Opener opener, String message) {
    MalformedCheckpointException e = assertThrows(MalformedCheckpointException.class, () -> {
      try (AutoCloseable c = opener.open()) {
        // opened: the assertion fails
      }
    });
    assertTrue(e.getMessage().contains(message), () -> "expected '" + message + "' in: " + e.getMessage());
  }
}
