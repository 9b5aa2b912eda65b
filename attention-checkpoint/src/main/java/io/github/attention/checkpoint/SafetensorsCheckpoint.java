package io.github.attention.checkpoint;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SequencedSet;
import java.util.stream.Stream;

/**
 * A checkpoint of one or more safetensors files: a single file, or the shards that a Hugging Face
 * {@code model.safetensors.index.json} lists in its {@code "weight_map": {tensor: shard file}}. Tensors are
 * looked up by name across the shards; every shard is opened (memory-mapped) and checked by
 * {@link SafetensorsFile#open}, and every name of the index must be in the shard it names.
 */
public final class SafetensorsCheckpoint implements AutoCloseable {

  /** The shard index's usual name. */
  public static final String INDEX = "model.safetensors.index.json";

  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  private final Path location;
  private final List<SafetensorsFile> shards;
  private final Map<String, SafetensorsFile> byName;

  private SafetensorsCheckpoint(Path location, List<SafetensorsFile> shards, Map<String, SafetensorsFile> byName) {
    this.location = location;
    this.shards = shards;
    this.byName = byName;
  }

  /**
   * Opens a checkpoint.
   *
   * @param path a {@code .safetensors} file, a shard index ({@code *.index.json}), or a directory holding
   *     {@value #INDEX}, or else {@code model.safetensors}, or else exactly one {@code .safetensors} file
   * @return the open checkpoint
   * @throws MalformedCheckpointException if a file does not follow its format, or the index names a tensor
   *     its shard does not hold, or two shards hold the same name
   * @throws IOException if a file cannot be read, or a directory holds no checkpoint
   */
  public static SafetensorsCheckpoint open(Path path) throws IOException {
    if (Files.isDirectory(path)) {
      if (Files.isRegularFile(path.resolve(INDEX))) {
        return open(path.resolve(INDEX));
      }
      if (Files.isRegularFile(path.resolve("model.safetensors"))) {
        return open(path.resolve("model.safetensors"));
      }
      List<Path> files;
      try (Stream<Path> list = Files.list(path)) {
        files = list.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
      }
      if (files.size() != 1) {
        throw new IOException(path + ": expected " + INDEX + ", model.safetensors or a single .safetensors file,"
            + " found " + files.size() + " .safetensors files");
      }
      return open(files.get(0));
    }
    if (path.getFileName().toString().endsWith(".json")) {
      return sharded(path);
    }
    SafetensorsFile file = SafetensorsFile.open(path);
    Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
    for (String name : file.names()) {
      byName.put(name, file);
    }
    return new SafetensorsCheckpoint(path, List.of(file), byName);
  }

  private static SafetensorsCheckpoint sharded(Path index) throws IOException {
    JsonNode root;
    try {
      root = JSON.readTree(Files.readString(index));
    } catch (JacksonException e) {
      throw new MalformedCheckpointException(index, "not valid JSON (or repeats a name): " + e.getOriginalMessage(), e);
    }
    JsonNode map = root == null ? null : root.get("weight_map");
    if (map == null || !map.isObject()) {
      throw new MalformedCheckpointException(index, "no \"weight_map\" object");
    }
    Map<String, SafetensorsFile> open = new LinkedHashMap<>();
    Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
    List<SafetensorsFile> shards = new ArrayList<>();
    try {
      for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!e.getValue().isTextual()) {
          throw new MalformedCheckpointException(index, "weight_map." + e.getKey() + " is not a file name");
        }
        String shardName = e.getValue().textValue();
        // Shards sit beside the index: a plain file name, never a path that could leave the folder.
        if (shardName.isEmpty() || shardName.contains("/") || shardName.contains("\\") || shardName.equals("..")
            || shardName.equals(".")) {
          throw new MalformedCheckpointException(index, "shard '" + shardName + "' is not a file name beside the"
              + " index");
        }
        Path shardPath = index.resolveSibling(shardName);
        SafetensorsFile shard = open.get(shardName);
        if (shard == null) {
          shard = SafetensorsFile.open(shardPath);
          open.put(shardName, shard);
          shards.add(shard);
        }
        if (!shard.contains(e.getKey())) {
          throw new MalformedCheckpointException(index, "tensor '" + e.getKey() + "' is not in its shard "
              + shardName + SafetensorsFile.similar(e.getKey(), shard.names()));
        }
        byName.put(e.getKey(), shard);
      }
    } catch (IOException | RuntimeException e) {
      shards.forEach(SafetensorsFile::close);
      throw e;
    }
    return new SafetensorsCheckpoint(index, Collections.unmodifiableList(shards), byName);
  }

  /** {@return the path it was opened from} */
  public Path location() {
    return location;
  }

  /** {@return every tensor name, in index (or header) order} */
  public SequencedSet<String> names() {
    return Collections.unmodifiableSequencedSet(new LinkedHashSet<>(byName.keySet()));
  }

  /**
   * Whether the checkpoint holds a tensor.
   *
   * @param name the name
   * @return whether it does
   */
  public boolean contains(String name) {
    return byName.containsKey(name);
  }

  /**
   * One tensor's entry.
   *
   * @param name the name
   * @return its dtype, shape and byte range in its shard
   * @throws IllegalArgumentException if there is no such tensor (the message lists similar names)
   */
  public SafetensorsFile.TensorInfo info(String name) {
    return shard(name).info(name);
  }

  /**
   * A tensor's values as fp32 (see {@link SafetensorsFile#readFloats}).
   *
   * @param name the name
   * @return its values, row-major
   * @throws IllegalArgumentException if there is no such tensor
   * @throws UnsupportedOperationException if its dtype is not F32, F16 or BF16
   */
  public float[] readFloats(String name) {
    return shard(name).readFloats(name);
  }

  /**
   * A tensor's raw bytes, without copying (see {@link SafetensorsFile#segment}).
   *
   * @param name the name
   * @return a slice of its mapped shard
   * @throws IllegalArgumentException if there is no such tensor
   */
  public MemorySegment segment(String name) {
    return shard(name).segment(name);
  }

  private SafetensorsFile shard(String name) {
    SafetensorsFile s = byName.get(name);
    if (s == null) {
      throw new IllegalArgumentException(location + " has no tensor '" + name + "'"
          + SafetensorsFile.similar(name, byName.keySet()));
    }
    return s;
  }

  /** Unmaps every shard. */
  @Override
  public void close() {
    shards.forEach(SafetensorsFile::close);
  }
}
