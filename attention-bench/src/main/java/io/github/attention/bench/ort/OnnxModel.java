package io.github.attention.bench.ort;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * Writes the ONNX model of a graph with one node, in the protobuf wire format of {@code onnx.proto}
 * ({@code ModelProto}), so the benchmark needs no model files and no protobuf library. Only the handful of
 * fields such a model uses are written: the IR version, the opset imports, the graph's node, inputs and
 * outputs (tensor types with fixed shapes), and the node's integer and float attributes.
 *
 * <p>Wire format, from the protobuf encoding guide: each field is a varint key {@code (number << 3) |
 * wireType} followed by a varint (type 0), four little-endian bytes (type 5) or a varint length and that
 * many bytes (type 2: strings and nested messages).
 */
public final class OnnxModel {

  /** {@code TensorProto.DataType.FLOAT}. */
  public static final int FLOAT = 1;
  /** {@code TensorProto.DataType.INT32}. */
  public static final int INT32 = 6;

  // ONNX IR version 8 (ONNX 1.10 on), which every ONNX Runtime since 1.10 reads.
  private static final int IR_VERSION = 8;
  private static final int DEFAULT_OPSET = 17;
  private static final String MICROSOFT = "com.microsoft";

  /** A graph input or output: its name, element type and fixed shape. */
  public record Value(String name, int elementType, long... dims) {}

  private OnnxModel() {}

  /**
   * The model of one node of the {@code com.microsoft} domain, whose graph inputs and outputs are the given
   * values.
   *
   * @param opType the operator, e.g. {@code MultiHeadAttention}
   * @param nodeInputs the node's inputs in the operator's order; an empty name skips an optional input
   * @param nodeOutputs the node's outputs
   * @param attributes {@code Long} (INT) or {@code Float} (FLOAT) attributes by name
   * @param inputs the graph inputs (every non-empty node input)
   * @param outputs the graph outputs
   * @return the serialized {@code ModelProto}
   */
  public static byte[] microsoftNode(String opType, List<String> nodeInputs, List<String> nodeOutputs,
      Map<String, Number> attributes, List<Value> inputs, List<Value> outputs) {
    Proto node = new Proto();
    nodeInputs.forEach(name -> node.string(1, name));
    nodeOutputs.forEach(name -> node.string(2, name));
    node.string(3, opType + "_0");
    node.string(4, opType);
    attributes.forEach((name, value) -> node.message(5, attribute(name, value)));
    node.string(7, MICROSOFT);

    Proto graph = new Proto();
    graph.message(1, node);
    graph.string(2, "attention");
    inputs.forEach(v -> graph.message(11, valueInfo(v)));
    outputs.forEach(v -> graph.message(12, valueInfo(v)));

    Proto model = new Proto();
    model.varint(1, IR_VERSION);
    model.string(2, "attention-bench");
    model.message(7, graph);
    model.message(8, new Proto().string(1, "").varint(2, DEFAULT_OPSET));
    model.message(8, new Proto().string(1, MICROSOFT).varint(2, 1));
    return model.bytes();
  }

  /** {@code AttributeProto}: name (1), f (2) or i (3), type (20: FLOAT = 1, INT = 2). */
  private static Proto attribute(String name, Number value) {
    Proto a = new Proto().string(1, name);
    if (value instanceof Float f) {
      a.fixed32(2, Float.floatToRawIntBits(f)).varint(20, 1);
    } else if (value instanceof Long || value instanceof Integer) {
      a.varint(3, value.longValue()).varint(20, 2);
    } else {
      throw new IllegalArgumentException("attribute " + name + ": expected a Float or a Long, got " + value);
    }
    return a;
  }

  /** {@code ValueInfoProto}: name (1), type (2: TypeProto.tensor_type (1): elem_type (1), shape (2)). */
  private static Proto valueInfo(Value v) {
    Proto shape = new Proto();
    for (long dim : v.dims()) {
      shape.message(1, new Proto().varint(1, dim)); // TensorShapeProto.Dimension.dim_value
    }
    Proto tensor = new Proto().varint(1, v.elementType()).message(2, shape);
    return new Proto().string(1, v.name()).message(2, new Proto().message(1, tensor));
  }

  /** One protobuf message being written. */
  private static final class Proto {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Proto varint(int field, long value) {
      key(field, 0);
      rawVarint(value);
      return this;
    }

    Proto fixed32(int field, int bits) {
      key(field, 5);
      for (int i = 0; i < 4; i++) {
        out.write(bits >>> (8 * i));
      }
      return this;
    }

    Proto string(int field, String s) {
      return bytes(field, s.getBytes(StandardCharsets.UTF_8));
    }

    Proto message(int field, Proto m) {
      return bytes(field, m.bytes());
    }

    private Proto bytes(int field, byte[] b) {
      key(field, 2);
      rawVarint(b.length);
      out.writeBytes(b);
      return this;
    }

    byte[] bytes() {
      return out.toByteArray();
    }

    private void key(int field, int wireType) {
      rawVarint((long) field << 3 | wireType);
    }

    /** Seven bits a byte, least significant first, the high bit set on every byte but the last. */
    private void rawVarint(long value) {
      while ((value & ~0x7FL) != 0) {
        out.write((int) (value & 0x7F) | 0x80);
        value >>>= 7;
      }
      out.write((int) value);
    }
  }
}
