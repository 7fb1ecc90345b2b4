package dev.jrnn.io;

import dev.jrnn.DType;
import dev.jrnn.ModelFormatException;
import dev.jrnn.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy {@code .npy} files: reads float32, float64 (to F32), int32 and int64 (to I32, range
 * checked), C order, versions 1–3; writes float32 and int32. Every declared size is checked against
 * the file before memory is allocated.
 */
public final class Npy {

  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
  private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([<>|=]?)([a-z])(\\d+)'");
  private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
  private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

  private Npy() {}

  /** Reads a file. */
  public static Tensor read(Path file) throws IOException {
    return read(Files.readAllBytes(file), file.toString());
  }

  /** Reads {@code .npy} bytes; {@code where} names the source in errors. */
  public static Tensor read(byte[] bytes, String where) {
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    if (bytes.length < 10 || !java.util.Arrays.equals(java.util.Arrays.copyOf(bytes, 6), MAGIC)) {
      throw new ModelFormatException(where + ": not a .npy file (no \\x93NUMPY magic)");
    }
    int major = bytes[6];
    long headerLen;
    int start;
    if (major == 1) {
      headerLen = b.getShort(8) & 0xffff;
      start = 10;
    } else if (major == 2 || major == 3) {
      if (bytes.length < 12) {
        throw new ModelFormatException(where + ": truncated .npy header");
      }
      headerLen = b.getInt(8) & 0xffffffffL;
      start = 12;
    } else {
      throw new ModelFormatException(where + ": .npy version " + major + " is not supported");
    }
    if (headerLen > bytes.length - start || headerLen > 1 << 20) {
      throw new ModelFormatException(
          where + ": header of " + headerLen + " bytes does not fit the file of " + bytes.length);
    }
    String header =
        new String(
            bytes,
            start,
            (int) headerLen,
            major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    Matcher d = DESCR.matcher(header);
    Matcher f = FORTRAN.matcher(header);
    Matcher s = SHAPE.matcher(header);
    if (!d.find() || !f.find() || !s.find()) {
      throw new ModelFormatException(
          where + ": malformed .npy header " + Excerpt.of(header.strip()));
    }
    if (f.group(1).equals("True")) {
      throw new ModelFormatException(where + ": Fortran-order arrays are not supported");
    }
    String order = d.group(1);
    String kind = d.group(2);
    int size = d.group(3).length() > 2 ? 0 : Integer.parseInt(d.group(3)); // 0: unsupported
    if (order.equals(">")) {
      throw new ModelFormatException(where + ": big-endian arrays are not supported");
    }
    boolean isFloat = kind.equals("f") && (size == 4 || size == 8);
    boolean isInt = kind.equals("i") && (size == 4 || size == 8);
    if (!isFloat && !isInt) {
      throw new ModelFormatException(
          where + ": dtype " + kind + size + " is not supported (float32, float64, int32, int64)");
    }
    List<Integer> dims = new ArrayList<>();
    long count = 1;
    for (String part : s.group(1).split(",")) {
      String p = part.strip();
      if (p.isEmpty()) {
        continue;
      }
      long v;
      try {
        v = Long.parseLong(p.replace("L", ""));
      } catch (NumberFormatException e) {
        throw new ModelFormatException(
            where + ": bad dimension " + Excerpt.of(p) + " in the shape");
      }
      if (v < 0 || v > Integer.MAX_VALUE) {
        throw new ModelFormatException(where + ": invalid dimension " + v);
      }
      dims.add((int) v);
      try {
        count = Math.multiplyExact(count, v);
        Math.multiplyExact(count, size);
      } catch (ArithmeticException e) {
        throw new ModelFormatException(where + ": element count overflows");
      }
    }
    long dataStart = start + headerLen;
    long available = bytes.length - dataStart;
    if (count > available / size || count * size != available) {
      throw new ModelFormatException(
          where
              + ": shape "
              + dims
              + " of "
              + kind
              + size
              + " needs "
              + count * size
              + " bytes, the file holds "
              + available);
    }
    int[] shape = dims.stream().mapToInt(Integer::intValue).toArray();
    Tensor t = Tensor.allocate(isFloat ? DType.F32 : DType.I32, shape);
    try {
      for (long i = 0; i < count; i++) {
        int at = (int) (dataStart + i * size);
        if (isFloat) {
          t.setFloat(i, size == 4 ? b.getFloat(at) : (float) b.getDouble(at));
        } else {
          long v = size == 4 ? b.getInt(at) : b.getLong(at);
          if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new ModelFormatException(
                where + ": element " + i + " = " + v + " does not fit in int32");
          }
          t.setInt(i, (int) v);
        }
      }
    } catch (RuntimeException e) {
      t.close();
      throw e;
    }
    return t;
  }

  /** Writes a tensor as float32 (F32) or int32 (I32), version 1.0. */
  public static void write(Path file, Tensor t) throws IOException {
    int[] shape = t.shape();
    StringBuilder dims = new StringBuilder();
    for (int d : shape) {
      dims.append(d).append(", ");
    }
    String shapeText =
        shape.length == 1
            ? shape[0] + ","
            : dims.length() > 0 ? dims.substring(0, dims.length() - 2) : "";
    String header =
        "{'descr': '"
            + (t.dtype() == DType.F32 ? "<f4" : "<i4")
            + "', 'fortran_order': False, 'shape': ("
            + shapeText
            + "), }";
    int total = 10 + header.length() + 1;
    int pad = (64 - total % 64) % 64;
    header = header + " ".repeat(pad) + "\n";
    ByteBuffer b =
        ByteBuffer.allocate(10 + header.length() + (int) t.byteSize())
            .order(ByteOrder.LITTLE_ENDIAN);
    b.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
    b.put(header.getBytes(StandardCharsets.ISO_8859_1));
    for (long i = 0; i < t.size(); i++) {
      if (t.dtype() == DType.F32) {
        b.putFloat(t.getFloat(i));
      } else {
        b.putInt(t.getInt(i));
      }
    }
    Files.write(file, b.array());
  }
}
