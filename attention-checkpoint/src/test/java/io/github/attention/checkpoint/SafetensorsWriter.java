package io.github.attention.checkpoint;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Test support: writes safetensors files, well-formed from tensors, or with a header given verbatim (for the
 * malformed cases). Written independently of the reader (its own JSON by hand) so that a round trip tests
 * both against the format, not against each other's bugs alone.
 */
final class SafetensorsWriter {

  /** A tensor to write: dtype name, shape, and its raw little-endian bytes. */
  record Tensor(String dtype, long[] shape, byte[] bytes) {}

  private SafetensorsWriter() {}

  /** Floats as F32, F16 or BF16 bytes (F16 and BF16 rounded to nearest even, as torch does). */
  static Tensor floats(String dtype, long[] shape, float[] values) {
    int size = dtype.equals("F32") ? 4 : 2;
    ByteBuffer b = ByteBuffer.allocate(values.length * size).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      switch (dtype) {
        case "F32" -> b.putFloat(v);
        case "F16" -> b.putShort(Float.floatToFloat16(v));
        case "BF16" -> {
          int bits = Float.floatToRawIntBits(v);
          b.putShort((short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16));
        }
        default -> throw new IllegalArgumentException(dtype);
      }
    }
    return new Tensor(dtype, shape, b.array());
  }

  /** Writes tensors back to back in the given order, with optional metadata. */
  static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
    StringBuilder json = new StringBuilder("{");
    if (!metadata.isEmpty()) {
      json.append("\"__metadata__\":{");
      String sep = "";
      for (Map.Entry<String, String> e : metadata.entrySet()) {
        json.append(sep).append(quote(e.getKey())).append(':').append(quote(e.getValue()));
        sep = ",";
      }
      json.append('}');
    }
    long at = 0;
    ByteArrayOutputStream data = new ByteArrayOutputStream();
    for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
      Tensor t = e.getValue();
      json.append(json.length() > 1 ? "," : "").append(quote(e.getKey())).append(":{\"dtype\":\"")
          .append(t.dtype()).append("\",\"shape\":[");
      for (int i = 0; i < t.shape().length; i++) {
        json.append(i > 0 ? "," : "").append(t.shape()[i]);
      }
      json.append("],\"data_offsets\":[").append(at).append(',').append(at + t.bytes().length).append("]}");
      at += t.bytes().length;
      data.writeBytes(t.bytes());
    }
    json.append('}');
    raw(file, json.toString(), data.toByteArray());
  }

  /** A file of the given header text and data, the header length written as the format says. */
  static void raw(Path file, String header, byte[] data) throws IOException {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    raw(file, h.length, h, data);
  }

  /** A file whose length field says {@code declared}, whatever the header's real size. */
  static void raw(Path file, long declared, byte[] header, byte[] data) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(declared).put(header).put(data);
    Files.write(file, b.array());
  }

  private static String quote(String s) {
    StringBuilder q = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> q.append("\\\"");
        case '\\' -> q.append("\\\\");
        default -> {
          if (c < 0x20) {
            q.append(String.format("\\u%04x", (int) c));
          } else {
            q.append(c);
          }
        }
      }
    }
    return q.append('"').toString();
  }

  static Map<String, Tensor> of(Object... nameTensor) {
    Map<String, Tensor> m = new LinkedHashMap<>();
    for (int i = 0; i < nameTensor.length; i += 2) {
      m.put((String) nameTensor[i], (Tensor) nameTensor[i + 1]);
    }
    return m;
  }
}
