package io.github.attention.checkpoint;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SequencedSet;
import java.util.LinkedHashSet;

/**
 * One safetensors file (the Hugging Face format): an 8-byte little-endian header length {@code n}, a JSON
 * header of {@code n} bytes mapping each tensor's name to {@code {"dtype", "shape", "data_offsets": [begin,
 * end]}} (offsets into the data that follows the header) plus an optional {@code "__metadata__"} object of
 * strings, then the raw little-endian data.
 *
 * <p>The file is memory-mapped ({@link FileChannel#map(FileChannel.MapMode, long, long, Arena)}), so files
 * beyond 2 GB work and nothing is copied until a tensor is read. {@link #open} checks the whole header
 * before returning, and rejects with a {@link MalformedCheckpointException} naming the problem: a header
 * length beyond the file or above 100 MB, a header that is not UTF-8 JSON or has duplicate names, an
 * unknown dtype, a negative or non-integer dimension, offsets out of order or beyond the data, a shape whose
 * byte size does not match its range, and ranges that overlap or leave holes (the format requires the
 * data to be indexed entirely, as the reference implementation checks).
 *
 * <p>Closing unmaps the file; segments handed out by {@link #segment} are invalid afterwards. Safe for
 * concurrent reads; {@link #close} must not race them.
 */
public final class SafetensorsFile implements AutoCloseable {

  /** The largest header accepted, in bytes (the reference implementation's limit). */
  public static final long MAX_HEADER_BYTES = 100_000_000L;

  /** A tensor element type of the format, with its size in bytes. */
  public enum Dtype {
    /** Booleans, one byte. */
    BOOL(1),
    /** Unsigned 8-bit integers. */
    U8(1),
    /** Signed 8-bit integers. */
    I8(1),
    /** 8-bit floats, E5M2. */
    F8_E5M2(1),
    /** 8-bit floats, E4M3. */
    F8_E4M3(1),
    /** Signed 16-bit integers. */
    I16(2),
    /** Unsigned 16-bit integers. */
    U16(2),
    /** IEEE binary16. */
    F16(2),
    /** bfloat16: the upper half of a binary32. */
    BF16(2),
    /** Signed 32-bit integers. */
    I32(4),
    /** Unsigned 32-bit integers. */
    U32(4),
    /** IEEE binary32. */
    F32(4),
    /** IEEE binary64. */
    F64(8),
    /** Signed 64-bit integers. */
    I64(8),
    /** Unsigned 64-bit integers. */
    U64(8);

    private final int bytes;

    Dtype(int bytes) {
      this.bytes = bytes;
    }

    /** {@return bytes per element} */
    public int bytes() {
      return bytes;
    }
  }

  /**
   * One tensor's entry in the header.
   *
   * @param name its name
   * @param dtype its element type
   * @param shape its dimensions (none for a scalar)
   * @param begin its first byte, counted from the start of the data
   * @param end one past its last byte
   */
  public record TensorInfo(String name, Dtype dtype, long[] shape, long begin, long end) {

    /** Copies the shape. */
    public TensorInfo {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(dtype, "dtype");
      shape = shape.clone();
    }

    /** {@return the dimensions (a copy)} */
    @Override
    public long[] shape() {
      return shape.clone();
    }

    /** {@return the number of elements: the product of the dimensions (1 for a scalar)} */
    public long elements() {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      return n;
    }

    @Override
    public String toString() {
      return name + " " + dtype + Arrays.toString(shape);
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  private final Path file;
  private final Arena arena;
  private final MemorySegment data;
  private final Map<String, TensorInfo> tensors;
  private final Map<String, String> metadata;

  private SafetensorsFile(Path file, Arena arena, MemorySegment data, Map<String, TensorInfo> tensors,
      Map<String, String> metadata) {
    this.file = file;
    this.arena = arena;
    this.data = data;
    this.tensors = tensors;
    this.metadata = metadata;
  }

  /**
   * Maps a file and checks its header.
   *
   * @param file a {@code .safetensors} file
   * @return the open file
   * @throws MalformedCheckpointException if the file does not follow the format (see the class comment)
   * @throws IOException if it cannot be read
   */
  public static SafetensorsFile open(Path file) throws IOException {
    Arena arena = Arena.ofShared();
    try {
      MemorySegment all;
      try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
        all = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
      }
      long size = all.byteSize();
      if (size < 8) {
        throw new MalformedCheckpointException(file, "only " + size + " bytes: shorter than the 8-byte header length");
      }
      long headerBytes = all.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
      if (headerBytes < 0 || headerBytes > size - 8) {
        throw new MalformedCheckpointException(file, "header length " + Long.toUnsignedString(headerBytes)
            + " goes beyond the file (" + (size - 8) + " bytes after the length)");
      }
      if (headerBytes > MAX_HEADER_BYTES) {
        throw new MalformedCheckpointException(file, "header of " + headerBytes + " bytes exceeds the limit of "
            + MAX_HEADER_BYTES);
      }
      byte[] header = all.asSlice(8, headerBytes).toArray(ValueLayout.JAVA_BYTE);
      MemorySegment data = all.asSlice(8 + headerBytes);
      Header parsed = parse(file, header, data.byteSize());
      return new SafetensorsFile(file, arena, data, parsed.tensors, parsed.metadata);
    } catch (IOException | RuntimeException | Error e) {
      arena.close();
      throw e;
    }
  }

  private record Header(Map<String, TensorInfo> tensors, Map<String, String> metadata) {}

  private static Header parse(Path file, byte[] header, long dataBytes) throws MalformedCheckpointException {
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(header)).toString();
    } catch (CharacterCodingException e) {
      throw new MalformedCheckpointException(file, "header is not UTF-8", e);
    }
    JsonNode root;
    try {
      root = JSON.readTree(text);
    } catch (JacksonException e) {
      throw new MalformedCheckpointException(file, "header is not valid JSON (or repeats a name): "
          + e.getOriginalMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new MalformedCheckpointException(file, "header is not a JSON object");
    }
    Map<String, TensorInfo> tensors = new LinkedHashMap<>();
    Map<String, String> metadata = Map.of();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String name = e.getKey();
      JsonNode entry = e.getValue();
      if (name.equals("__metadata__")) {
        metadata = metadata(file, entry);
        continue;
      }
      tensors.put(name, tensor(file, name, entry, dataBytes));
    }
    checkCoverage(file, tensors, dataBytes);
    return new Header(Collections.unmodifiableMap(tensors), metadata);
  }

  private static Map<String, String> metadata(Path file, JsonNode entry) throws MalformedCheckpointException {
    if (!entry.isObject()) {
      throw new MalformedCheckpointException(file, "__metadata__ is not an object of strings");
    }
    Map<String, String> m = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = entry.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()) {
        throw new MalformedCheckpointException(file, "__metadata__." + e.getKey() + " is not a string");
      }
      m.put(e.getKey(), e.getValue().textValue());
    }
    return Collections.unmodifiableMap(m);
  }

  private static TensorInfo tensor(Path file, String name, JsonNode entry, long dataBytes)
      throws MalformedCheckpointException {
    if (!entry.isObject()) {
      throw new MalformedCheckpointException(file, "tensor '" + name + "' is not an object");
    }
    JsonNode dtypeNode = entry.get("dtype");
    if (dtypeNode == null || !dtypeNode.isTextual()) {
      throw new MalformedCheckpointException(file, "tensor '" + name + "' has no dtype string");
    }
    Dtype dtype;
    try {
      dtype = Dtype.valueOf(dtypeNode.textValue());
    } catch (IllegalArgumentException e) {
      throw new MalformedCheckpointException(file, "tensor '" + name + "' has unknown dtype '"
          + dtypeNode.textValue() + "', expected one of " + Arrays.toString(Dtype.values()));
    }
    JsonNode shapeNode = entry.get("shape");
    if (shapeNode == null || !shapeNode.isArray()) {
      throw new MalformedCheckpointException(file, "tensor '" + name + "' has no shape array");
    }
    long[] shape = new long[shapeNode.size()];
    long bytes = dtype.bytes();
    for (int i = 0; i < shape.length; i++) {
      JsonNode d = shapeNode.get(i);
      if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() < 0) {
        throw new MalformedCheckpointException(file, "tensor '" + name + "' has dimension " + i + " = " + d
            + ": expected a non-negative integer");
      }
      shape[i] = d.longValue();
      try {
        bytes = Math.multiplyExact(bytes, shape[i]);
      } catch (ArithmeticException overflow) {
        throw new MalformedCheckpointException(file, "tensor '" + name + "' shape " + shapeNode
            + " overflows 64-bit sizes");
      }
    }
    JsonNode offsets = entry.get("data_offsets");
    if (offsets == null || !offsets.isArray() || offsets.size() != 2 || !offsets.get(0).canConvertToLong()
        || !offsets.get(1).canConvertToLong() || !offsets.get(0).isIntegralNumber()
        || !offsets.get(1).isIntegralNumber()) {
      throw new MalformedCheckpointException(file, "tensor '" + name + "' needs data_offsets [begin, end] of"
          + " integers, got " + offsets);
    }
    long begin = offsets.get(0).longValue();
    long end = offsets.get(1).longValue();
    if (begin < 0 || end < begin) {
      throw new MalformedCheckpointException(file, "tensor '" + name + "' has data_offsets [" + begin + ", "
          + end + "]: expected 0 <= begin <= end");
    }
    if (end > dataBytes) {
      throw new MalformedCheckpointException(file, "tensor '" + name + "' ends at byte " + end
          + ", beyond the " + dataBytes + " bytes of data");
    }
    if (end - begin != bytes) {
      throw new MalformedCheckpointException(file, "tensor '" + name + "' is " + dtype + shapeNode + " = "
          + bytes + " bytes, but its data_offsets [" + begin + ", " + end + "] hold " + (end - begin));
    }
    return new TensorInfo(name, dtype, shape, begin, end);
  }

  /** Sorted by offset, the ranges must tile the data exactly: no overlap, no hole, nothing after. */
  private static void checkCoverage(Path file, Map<String, TensorInfo> tensors, long dataBytes)
      throws MalformedCheckpointException {
    List<TensorInfo> byOffset = new ArrayList<>(tensors.values());
    byOffset.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
    long at = 0;
    TensorInfo previous = null;
    for (TensorInfo t : byOffset) {
      if (t.begin() < at) {
        throw new MalformedCheckpointException(file, "tensors '" + previous.name() + "' [" + previous.begin()
            + ", " + previous.end() + ") and '" + t.name() + "' [" + t.begin() + ", " + t.end() + ") overlap");
      }
      if (t.begin() > at) {
        throw new MalformedCheckpointException(file, "bytes [" + at + ", " + t.begin() + ") of the data belong"
            + " to no tensor (before '" + t.name() + "')");
      }
      at = t.end();
      previous = t;
    }
    if (at != dataBytes) {
      throw new MalformedCheckpointException(file, "bytes [" + at + ", " + dataBytes + ") at the end of the"
          + " data belong to no tensor");
    }
  }

  /** {@return the file} */
  public Path file() {
    return file;
  }

  /** {@return the tensor names, in header order} */
  public SequencedSet<String> names() {
    return Collections.unmodifiableSequencedSet(new LinkedHashSet<>(tensors.keySet()));
  }

  /** {@return the header's {@code __metadata__} (empty without one)} */
  public Map<String, String> metadata() {
    return metadata;
  }

  /**
   * Whether the file holds a tensor.
   *
   * @param name the tensor's name
   * @return whether it is in the header
   */
  public boolean contains(String name) {
    return tensors.containsKey(name);
  }

  /**
   * One tensor's entry.
   *
   * @param name the tensor's name
   * @return its dtype, shape and byte range
   * @throws IllegalArgumentException if the file has no such tensor (the message lists similar names)
   */
  public TensorInfo info(String name) {
    TensorInfo t = tensors.get(Objects.requireNonNull(name, "name"));
    if (t == null) {
      throw new IllegalArgumentException(file + " has no tensor '" + name + "'" + similar(name, tensors.keySet()));
    }
    return t;
  }

  /**
   * A tensor's raw bytes, without copying (little-endian, row-major); valid until {@link #close}.
   *
   * @param name the tensor's name
   * @return a read-only slice of the mapped file
   * @throws IllegalArgumentException if the file has no such tensor
   * @throws IllegalStateException if the file is closed
   */
  public MemorySegment segment(String name) {
    TensorInfo t = info(name);
    return data.asSlice(t.begin(), t.end() - t.begin());
  }

  /**
   * A tensor's values as fp32, row-major: F32 as stored, F16 and BF16 widened exactly.
   *
   * @param name the tensor's name
   * @return a new array of {@link TensorInfo#elements()} values
   * @throws IllegalArgumentException if the file has no such tensor, or it has more elements than a Java
   *     array holds
   * @throws UnsupportedOperationException if its dtype is not F32, F16 or BF16
   * @throws IllegalStateException if the file is closed
   */
  public float[] readFloats(String name) {
    TensorInfo t = info(name);
    long n = t.elements();
    if (n > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("tensor '" + name + "' has " + n + " elements, more than a float[]"
          + " holds; read it through segment()");
    }
    MemorySegment s = segment(name);
    float[] out = new float[(int) n];
    switch (t.dtype()) {
      case F32 -> MemorySegment.copy(s, F32, 0, out, 0, out.length);
      case F16 -> {
        for (int i = 0; i < out.length; i++) {
          out[i] = Float.float16ToFloat(s.getAtIndex(I16, i));
        }
      }
      case BF16 -> {
        for (int i = 0; i < out.length; i++) {
          out[i] = Float.intBitsToFloat(s.getAtIndex(I16, i) << 16);
        }
      }
      default -> throw new UnsupportedOperationException("tensor '" + name + "' is " + t.dtype()
          + "; only F32, F16 and BF16 read as fp32");
    }
    return out;
  }

  /** Unmaps the file. */
  @Override
  public void close() {
    arena.close();
  }

  @Override
  public String toString() {
    return "SafetensorsFile[" + file + ", " + tensors.size() + " tensors]";
  }

  /** Up to five known names closest to {@code name} (edit distance, then containment), as a message tail. */
  static String similar(String name, java.util.Collection<String> known) {
    List<String> ranked = new ArrayList<>(known);
    ranked.sort(Comparator.comparingInt((String k) -> distance(name, k)).thenComparing(k -> k));
    List<String> close = ranked.stream().filter(k -> distance(name, k) <= Math.max(3, name.length() / 3)
        || k.contains(name) || name.contains(k)).limit(5).toList();
    return close.isEmpty() ? " (it has " + known.size() + " tensors)" : "; similar: " + String.join(", ", close);
  }

  /** Levenshtein distance. */
  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
