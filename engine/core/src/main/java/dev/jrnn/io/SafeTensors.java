package dev.jrnn.io;

import dev.jrnn.DType;
import dev.jrnn.ModelFormatException;
import dev.jrnn.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header
 * naming each tensor's dtype, shape and byte range, then the raw little-endian data.
 *
 * <p>Reading checks every declared size against the file before allocating. F32, F64 and F16
 * tensors load as F32; I32 and I64 as I32 (I64 values must fit in 32 bits); BF16 and I8 stay as
 * they are (reduced-precision weights, see {@code dev.jrnn.Precision}).
 */
public final class SafeTensors {

  /** Headers larger than this are rejected (real ones are kilobytes). */
  static final long MAX_HEADER = 100L << 20;

  private static final ValueLayout.OfFloat F32 =
      ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfInt I32 =
      ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  private SafeTensors() {}

  /** Tensors in file order and the string metadata; closing closes every tensor. */
  public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata)
      implements AutoCloseable {
    @Override
    public void close() {
      tensors.values().forEach(Tensor::close);
    }
  }

  /**
   * Whether a file's first bytes (at least 9) look like safetensors: a little-endian header length,
   * then the header's opening brace.
   */
  public static boolean looksLike(byte[] head) {
    if (head.length < 9) {
      return false;
    }
    long n = 0;
    for (int i = 7; i >= 0; i--) {
      n = (n << 8) | (head[i] & 0xff);
    }
    return n > 1 && n <= MAX_HEADER && head[8] == '{';
  }

  /** Reads a safetensors file. */
  public static Contents read(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
        Arena arena = Arena.ofConfined()) {
      MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
      return read(seg, file.toString());
    }
  }

  /** Reads safetensors bytes held in memory; {@code where} names the source in errors. */
  public static Contents read(MemorySegment seg, String where) {
    long size = seg.byteSize();
    if (size < 8) {
      throw new ModelFormatException(where + ": " + size + " bytes is too short for safetensors");
    }
    long n = seg.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
    if (n <= 1 || n > size - 8 || n > MAX_HEADER) {
      throw new ModelFormatException(
          where + ": header length " + n + " does not fit the file of " + size + " bytes");
    }
    String json =
        new String(seg.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    Map<String, Object> header;
    try {
      header = Json.parseObject(json.strip());
    } catch (IllegalArgumentException e) {
      throw new ModelFormatException(where + ": header: " + e.getMessage(), e);
    }
    long dataStart = 8 + n;
    long dataLen = size - dataStart;
    Map<String, String> meta = new LinkedHashMap<>();
    Map<String, Tensor> out = new LinkedHashMap<>();
    try {
      for (Map.Entry<String, Object> e : header.entrySet()) {
        String name = e.getKey();
        if (name.equals("__metadata__")) {
          if (!(e.getValue() instanceof Map<?, ?> m)) {
            throw new ModelFormatException(where + ": __metadata__ must be an object");
          }
          for (Map.Entry<?, ?> me : m.entrySet()) {
            if (!(me.getValue() instanceof String v)) {
              throw new ModelFormatException(
                  where + ": __metadata__." + me.getKey() + " must be a string");
            }
            meta.put((String) me.getKey(), v);
          }
          continue;
        }
        out.put(name, readTensor(seg, where, name, e.getValue(), dataStart, dataLen));
      }
    } catch (RuntimeException ex) {
      out.values().forEach(Tensor::close);
      throw ex;
    }
    return new Contents(out, meta);
  }

  private static Tensor readTensor(
      MemorySegment seg, String where, String name, Object entry, long dataStart, long dataLen) {
    String at = where + ": tensor '" + name + "'";
    if (!(entry instanceof Map<?, ?> m)) {
      throw new ModelFormatException(at + " must be an object");
    }
    if (!(m.get("dtype") instanceof String dtype)) {
      throw new ModelFormatException(at + " has no dtype");
    }
    if (!(m.get("shape") instanceof List<?> shapeList)) {
      throw new ModelFormatException(at + " has no shape");
    }
    if (!(m.get("data_offsets") instanceof List<?> offs) || offs.size() != 2) {
      throw new ModelFormatException(at + " needs data_offsets [begin, end]");
    }
    if (shapeList.size() > 16) {
      throw new ModelFormatException(at + " has rank " + shapeList.size() + " (at most 16)");
    }
    int[] shape = new int[shapeList.size()];
    long count = 1;
    for (int i = 0; i < shape.length; i++) {
      if (!(shapeList.get(i) instanceof Long d) || d < 0 || d > Integer.MAX_VALUE) {
        throw new ModelFormatException(at + " has invalid dimension " + shapeList.get(i));
      }
      shape[i] = (int) (long) d;
      count = multiply(count, d, at);
    }
    if (!(offs.get(0) instanceof Long begin) || !(offs.get(1) instanceof Long end)) {
      throw new ModelFormatException(at + " has non-integer data_offsets");
    }
    if (begin < 0 || end < begin || end > dataLen) {
      throw new ModelFormatException(
          at
              + " data_offsets ["
              + begin
              + ", "
              + end
              + "] lie outside the "
              + dataLen
              + " data bytes");
    }
    int elem =
        switch (dtype) {
          case "F32", "I32" -> 4;
          case "F64", "I64" -> 8;
          case "F16", "BF16" -> 2;
          case "I8" -> 1;
          default ->
              throw new ModelFormatException(
                  at + " has dtype " + dtype + "; supported: F32, F64, F16, BF16, I8, I32, I64");
        };
    long bytes = multiply(count, elem, at);
    if (end - begin != bytes) {
      throw new ModelFormatException(
          at
              + " holds "
              + (end - begin)
              + " bytes but "
              + dtype
              + " "
              + java.util.Arrays.toString(shape)
              + " needs "
              + bytes);
    }
    MemorySegment src = seg.asSlice(dataStart + begin, bytes);
    DType type =
        switch (dtype) {
          case "BF16" -> DType.BF16; // kept as bfloat16: reduced-precision weights
          case "I8" -> DType.I8;
          case "I32", "I64" -> DType.I32;
          default -> DType.F32;
        };
    Tensor t = Tensor.allocate(type, shape);
    MemorySegment dst = t.segment();
    switch (dtype) {
      case "F32" -> copy32(src, dst, count, F32);
      case "I32" -> copy32(src, dst, count, I32);
      case "F64" -> {
        var l = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < count; i++) {
          dst.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) src.getAtIndex(l, i));
        }
      }
      case "I64" -> {
        var l = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < count; i++) {
          long v = src.getAtIndex(l, i);
          if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            t.close();
            throw new ModelFormatException(at + " element " + i + " = " + v + " exceeds int32");
          }
          dst.setAtIndex(ValueLayout.JAVA_INT, i, (int) v);
        }
      }
      case "F16" -> {
        var l = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < count; i++) {
          dst.setAtIndex(ValueLayout.JAVA_FLOAT, i, Float.float16ToFloat(src.getAtIndex(l, i)));
        }
      }
      case "I8" -> MemorySegment.copy(src, 0, dst, 0, count);
      default -> copy16(src, dst, count); // BF16
    }
    return t;
  }

  private static void copy32(MemorySegment src, MemorySegment dst, long count, ValueLayout le) {
    if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
      MemorySegment.copy(src, 0, dst, 0, count * 4);
    } else {
      MemorySegment.copy(src, le, 0, dst, le.withOrder(ByteOrder.nativeOrder()), 0, count);
    }
  }

  private static void copy16(MemorySegment src, MemorySegment dst, long count) {
    var le = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    MemorySegment.copy(src, le, 0, dst, le.withOrder(ByteOrder.nativeOrder()), 0, count);
  }

  private static long multiply(long a, long b, String at) {
    try {
      return Math.multiplyExact(a, b);
    } catch (ArithmeticException e) {
      throw new ModelFormatException(at + ": size overflows");
    }
  }

  /** Writes tensors (in map order) and string metadata to a safetensors file. */
  public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata)
      throws IOException {
    Map<String, Object> header = new LinkedHashMap<>();
    if (metadata != null && !metadata.isEmpty()) {
      header.put("__metadata__", new LinkedHashMap<>(metadata));
    }
    long offset = 0;
    List<Tensor> order = new ArrayList<>();
    for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
      Tensor t = e.getValue();
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("dtype", t.dtype().name());
      entry.put("shape", t.shape());
      entry.put("data_offsets", List.of(offset, offset + t.byteSize()));
      header.put(e.getKey(), entry);
      offset += t.byteSize();
      order.add(t);
    }
    byte[] json = Json.write(header).getBytes(StandardCharsets.UTF_8);
    int padded = (json.length + 7) / 8 * 8;
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try (FileChannel ch =
            FileChannel.open(
                tmp,
                StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE,
                StandardOpenOption.READ);
        Arena arena = Arena.ofConfined()) {
      long total = 8 + padded + offset;
      MemorySegment out = ch.map(FileChannel.MapMode.READ_WRITE, 0, total, arena);
      out.set(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, padded);
      MemorySegment.copy(json, 0, out, ValueLayout.JAVA_BYTE, 8, json.length);
      out.asSlice(8 + json.length, padded - json.length).fill((byte) ' ');
      long at = 8 + padded;
      for (Tensor t : order) {
        MemorySegment dst = out.asSlice(at, t.byteSize());
        switch (t.dtype()) {
          case F32, I32 -> copy32(t.segment(), dst, t.size(), F32);
          case BF16 -> copy16(t.segment(), dst, t.size());
          case I8 -> MemorySegment.copy(t.segment(), 0, dst, 0, t.size());
        }
        at += t.byteSize();
      }
      out.force();
    }
    Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }
}
