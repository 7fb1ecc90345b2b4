package dev.jrnn.onnx;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.ModelFormatException;
import dev.jrnn.Weights;
import dev.jrnn.testing.OnnxFixture;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Corrupted and adversarial ONNX files, written field by field (numbers from onnx.proto): each is a
 * {@link ModelFormatException} that names the problem, allocated nothing beyond the file's size,
 * and never an OutOfMemoryError, a hang or a different exception. Unsupported operators and
 * attribute values name the node, the op type and what is not supported.
 */
class OnnxHostileTest {

  // ---------------------------------------------------------------- a tiny protobuf writer

  static byte[] cat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  static byte[] varint(long v) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    while ((v & ~0x7FL) != 0) {
      out.write((int) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    out.write((int) v);
    return out.toByteArray();
  }

  static byte[] num(int field, long v) {
    return cat(varint((long) field << 3), varint(v));
  }

  static byte[] bytes(int field, byte[] payload) {
    return cat(varint(((long) field << 3) | 2), varint(payload.length), payload);
  }

  static byte[] str(int field, String s) {
    return bytes(field, s.getBytes(StandardCharsets.UTF_8));
  }

  static byte[] floats(float... v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : v) {
      b.putFloat(f);
    }
    return b.array();
  }

  /** TensorProto: float with raw data. */
  static byte[] tensor(String name, long[] dims, byte[] raw) {
    byte[] d = new byte[0];
    for (long x : dims) {
      d = cat(d, num(1, x));
    }
    return cat(d, num(2, 1), str(8, name), bytes(9, raw));
  }

  /** TensorProto: int64 with raw data. */
  static byte[] int64s(String name, long[] dims, long... v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    for (long x : v) {
      b.putLong(x);
    }
    byte[] d = new byte[0];
    for (long x : dims) {
      d = cat(d, num(1, x));
    }
    return cat(d, num(2, 7), str(8, name), bytes(9, b.array()));
  }

  static byte[] valueInfo(String name, Object... dims) {
    byte[] shape = new byte[0];
    for (Object o : dims) {
      shape = cat(shape, bytes(1, o instanceof Long l ? num(1, l) : str(2, String.valueOf(o))));
    }
    byte[] tensorType = cat(num(1, 1), bytes(2, shape));
    return cat(str(1, name), bytes(2, bytes(1, tensorType)));
  }

  static byte[] node(String name, String op, String[] in, String[] out, byte[]... attrs) {
    byte[] n = new byte[0];
    for (String i : in) {
      n = cat(n, str(1, i));
    }
    for (String o : out) {
      n = cat(n, str(2, o));
    }
    n = cat(n, str(3, name), str(4, op));
    for (byte[] a : attrs) {
      n = cat(n, bytes(5, a));
    }
    return n;
  }

  static byte[] intAttr(String name, long v) {
    return cat(str(1, name), num(3, v), num(20, 2));
  }

  static byte[] stringAttr(String name, String v) {
    return cat(str(1, name), str(4, v), num(20, 3));
  }

  static byte[] stringsAttr(String name, String... v) {
    byte[] a = str(1, name);
    for (String s : v) {
      a = cat(a, str(9, s));
    }
    return cat(a, num(20, 8));
  }

  /** A ModelProto (IR 8, opset 17) around the given GraphProto fields. */
  static byte[] model(byte[]... graphFields) {
    return cat(num(1, 8), bytes(8, cat(str(1, ""), num(2, 17))), bytes(7, cat(graphFields)));
  }

  /** A valid single-LSTM graph (I=3, H=2) with extra attributes on the node. */
  static byte[] lstm(byte[]... attrs) {
    return model(
        bytes(
            1,
            node(
                "rnn",
                "LSTM",
                new String[] {"X", "W", "R"},
                new String[] {"Y"},
                cat(new byte[][] {intAttr("hidden_size", 2)}, attrs))),
        bytes(5, tensor("W", new long[] {1, 8, 3}, new byte[8 * 3 * 4])),
        bytes(5, tensor("R", new long[] {1, 8, 2}, new byte[8 * 2 * 4])),
        bytes(11, valueInfo("X", "T", "N", 3L)),
        bytes(12, valueInfo("Y", "T", 1L, "N", 2L)));
  }

  static byte[] cat(byte[][] first, byte[][] rest) {
    byte[][] all = Arrays.copyOf(first, first.length + rest.length);
    System.arraycopy(rest, 0, all, first.length, rest.length);
    return cat(all);
  }

  static void rejects(byte[] model, String... parts) {
    ModelFormatException e =
        assertThrows(ModelFormatException.class, () -> OnnxModel.read(model, "bad.onnx"));
    for (String p : parts) {
      assertTrue(e.getMessage().contains(p), "'" + e.getMessage() + "' should say '" + p + "'");
    }
    assertTrue(e.getMessage().startsWith("bad.onnx"), e.getMessage());
  }

  // ---------------------------------------------------------------- the cases

  @Test
  void theWriterMakesValidModels() {
    OnnxModel m = OnnxModel.read(lstm(), "ok.onnx");
    try (Weights w = m.weights()) {
      w.checkAgainst(m.graph());
    }
  }

  @Test
  void truncatedModels() {
    for (String name : OnnxFixture.names().subList(0, 12)) {
      byte[] full;
      try (OnnxFixture f = OnnxFixture.load(name)) {
        full = f.model;
      }
      for (int k = 1; k < 40; k++) {
        byte[] cut = Arrays.copyOf(full, full.length * k / 40);
        try {
          OnnxModel.read(cut, "cut.onnx");
        } catch (ModelFormatException expected) {
          assertTrue(expected.getMessage().startsWith("cut.onnx"), expected.getMessage());
        }
      }
    }
    rejects(new byte[0], "no graph");
    rejects(Arrays.copyOf(lstm(), 40), "bad.onnx");
  }

  @Test
  void hugeDeclaredSizes() {
    // a graph whose length prefix claims 2 GB
    rejects(
        cat(num(1, 8), varint((7 << 3) | 2), varint(Integer.MAX_VALUE), new byte[10]), "length");
    // dims whose product overflows, then dims far larger than the data
    rejects(
        model(bytes(5, tensor("W", new long[] {1L << 40, 1L << 40}, new byte[4]))),
        "tensor 'W'",
        "overflows");
    rejects(
        model(bytes(5, tensor("W", new long[] {1L << 30, 1L << 20}, new byte[4]))),
        "tensor 'W' holds 4 bytes");
    // a packed float list that claims more bytes than remain
    rejects(
        model(bytes(5, cat(num(1, 4), num(2, 1), varint((4 << 3) | 2), varint(1 << 30)))),
        "bad.onnx");
  }

  @Test
  void negativeDimensionsAndMismatchedBytes() {
    rejects(model(bytes(5, tensor("W", new long[] {-3}, new byte[12]))), "negative dimension -3");
    rejects(
        model(bytes(5, tensor("B", new long[] {3}, new byte[10]))),
        "tensor 'B' holds 10 bytes but 3 elements of 4 bytes");
    rejects(
        model(bytes(5, cat(num(1, 2), num(2, 1), str(8, "F"), bytes(4, floats(1, 2, 3))))),
        "tensor 'F' holds 3 elements but its dims [2] declare 2");
    rejects(model(bytes(5, cat(num(1, 1), num(2, 1), str(8, "E"), num(14, 1)))), "external data");
  }

  @Test
  void graphStructure() {
    byte[] a = node("a", "Relu", new String[] {"vb"}, new String[] {"va"});
    byte[] b = node("b", "Relu", new String[] {"va"}, new String[] {"vb"});
    rejects(model(bytes(1, a), bytes(1, b), bytes(12, valueInfo("va", 1L))), "cycle");
    rejects(
        model(
            bytes(1, node("a", "Relu", new String[] {"ghost"}, new String[] {"y"})),
            bytes(12, valueInfo("y", 1L))),
        "input 'ghost' of node 'a' is produced by no node");
    rejects(
        model(
            bytes(1, node("a", "Relu", new String[] {"x"}, new String[] {"y"})),
            bytes(1, node("b", "Relu", new String[] {"x"}, new String[] {"y"})),
            bytes(11, valueInfo("x", 2L)),
            bytes(12, valueInfo("y", 2L))),
        "'y' is produced twice");
  }

  @Test
  void unsupportedOperatorsAndAttributes() {
    rejects(
        model(
            bytes(1, node("conv1", "Conv", new String[] {"x"}, new String[] {"y"})),
            bytes(11, valueInfo("x", 1L, 1L, 4L)),
            bytes(12, valueInfo("y", 1L, 1L, 4L))),
        "node 'conv1'",
        "Conv");
    rejects(lstm(stringAttr("direction", "sideways")), "node 'rnn' (LSTM)", "sideways");
    rejects(lstm(stringsAttr("activations", "Gelu", "Tanh", "Tanh")), "node 'rnn'", "Gelu");
    rejects(lstm(intAttr("layout", 2)), "node 'rnn'", "layout");
    rejects(lstm(intAttr("hidden_size", 5)), "node 'rnn'");
  }

  /** A graph of one node {@code op} from initializer {@code in} to output y. */
  static byte[] oneNode(String op, byte[] initializer, String... inputs) {
    return model(
        bytes(1, node("n", op, inputs, new String[] {"y"})),
        bytes(5, initializer),
        bytes(12, valueInfo("y", "?")));
  }

  @Test
  void foldingIsBounded() {
    // a scalar shape (fuzzing found it: an ArrayIndexOutOfBoundsException)
    rejects(
        oneNode("ConstantOfShape", int64s("s", new long[0], 3), "s"),
        "node 'n' (ConstantOfShape)",
        "shape must be a 1-D vector");
    // 16 bytes of shape asking for 2^31 - 32768 floats (8 GB: an OutOfMemoryError before)
    rejects(
        oneNode("ConstantOfShape", int64s("s", new long[] {2}, 32768, 65535), "s"),
        "node 'n' (ConstantOfShape)",
        "(2147450880 elements), more than the 16777216 one fold may make");
    rejects(
        oneNode("ConstantOfShape", int64s("s", new long[] {65}, new long[65]), "s"),
        "65 entries, but a tensor may have at most 64 dimensions");
  }

  @Test
  void recurrentWeightInputsMustFitAnArray() {
    long h = 1L << 28; // declared W and R, no B: the zero bias was 2·4·h floats (int overflow)
    rejects(
        model(
            bytes(
                1,
                node(
                    "rnn",
                    "LSTM",
                    new String[] {"X", "W", "R"},
                    new String[] {"Y"},
                    intAttr("hidden_size", h))),
            bytes(11, valueInfo("X", "T", "N", 1L)),
            bytes(11, valueInfo("W", 1L, 4 * h, 1L)),
            bytes(11, valueInfo("R", 1L, 4 * h, h)),
            bytes(12, valueInfo("Y", "?"))),
        "node 'rnn' (LSTM)",
        "R of 1073741824 x 268435456 per direction has more elements than a Java array holds");
    // hidden_size beyond 32 bits was truncated (2^32 + 2 read as 2)
    rejects(lstm(intAttr("hidden_size", (1L << 32) + 2)), "node 'rnn'", "hidden_size");
    rejects(lstm(intAttr("layout", 1L << 32)), "node 'rnn'", "'layout' is 4294967296");
  }

  @Test
  void gemmWithAnEmptyB() {
    // B [0, 2^31 - 1] of no bytes and a scalar C: the bias was 2^31 - 1 floats
    rejects(
        model(
            bytes(1, node("g", "Gemm", new String[] {"A", "B", "C"}, new String[] {"y"})),
            bytes(5, tensor("B", new long[] {0, Integer.MAX_VALUE}, new byte[0])),
            bytes(5, tensor("C", new long[0], new byte[4])),
            bytes(11, valueInfo("A", "N", "K")),
            bytes(12, valueInfo("y", "?"))),
        "node 'g' (Gemm)",
        "B of shape [0, 2147483647] has no elements");
  }
}
