package dev.jrnn.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.DType;
import dev.jrnn.ModelFormatException;
import dev.jrnn.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {

  /** A .npy file as NumPy writes it (version 1.0, header padded to 64 bytes). */
  static byte[] npy(String descr, String shape, byte[] data) {
    return npy(
        1, "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }", data);
  }

  static byte[] npy(int version, String header, byte[] data) {
    int pre = version == 1 ? 10 : 12;
    int pad = (64 - (pre + header.length() + 1) % 64) % 64;
    String h = header + " ".repeat(pad) + "\n";
    ByteBuffer b =
        ByteBuffer.allocate(pre + h.length() + data.length).order(ByteOrder.LITTLE_ENDIAN);
    b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) version, 0});
    if (version == 1) {
      b.putShort((short) h.length());
    } else {
      b.putInt(h.length());
    }
    b.put(h.getBytes(StandardCharsets.ISO_8859_1)).put(data);
    return b.array();
  }

  static byte[] longs(long... v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    for (long x : v) {
      b.putLong(x);
    }
    return b.array();
  }

  static byte[] doubles(double... v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    for (double x : v) {
      b.putDouble(x);
    }
    return b.array();
  }

  @Test
  void writesAndReadsFloatAndInt(@TempDir Path dir) throws Exception {
    try (Tensor f = Tensor.of(new float[] {1, -2.5f, 3, 4, 5, 6}, 2, 3);
        Tensor i = Tensor.of(new int[] {7, -8, Integer.MAX_VALUE}, 3);
        Tensor s = Tensor.of(new float[] {42}, new int[0])) {
      Npy.write(dir.resolve("f.npy"), f);
      Npy.write(dir.resolve("i.npy"), i);
      Npy.write(dir.resolve("s.npy"), s);
      byte[] raw = Files.readAllBytes(dir.resolve("f.npy"));
      assertEquals(0, (raw.length - 24) % 64, "header padded to 64 bytes as NumPy does");
      try (Tensor f2 = Npy.read(dir.resolve("f.npy"));
          Tensor i2 = Npy.read(dir.resolve("i.npy"));
          Tensor s2 = Npy.read(dir.resolve("s.npy"))) {
        assertArrayEquals(new int[] {2, 3}, f2.shape());
        assertArrayEquals(f.toFloatArray(), f2.toFloatArray());
        assertEquals(DType.I32, i2.dtype());
        assertArrayEquals(i.toIntArray(), i2.toIntArray());
        assertArrayEquals(new int[0], s2.shape());
        assertEquals(42f, s2.getFloat(0));
      }
    }
  }

  @Test
  void readsInt64AndFloat64AndVersion2() {
    try (Tensor t = Npy.read(npy("<i8", "(2, 2)", longs(1, -2, 3, 1L << 30)), "x")) {
      assertEquals(DType.I32, t.dtype());
      assertArrayEquals(new int[] {1, -2, 3, 1 << 30}, t.toIntArray());
    }
    try (Tensor t = Npy.read(npy("<f8", "(3,)", doubles(0.5, -1, 1e-3)), "x")) {
      assertEquals(DType.F32, t.dtype());
      assertArrayEquals(new float[] {0.5f, -1f, 1e-3f}, t.toFloatArray());
    }
    byte[] v2 = npy(2, "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", longs(9));
    try (Tensor t = Npy.read(v2, "x")) {
      assertArrayEquals(new int[] {9}, t.toIntArray());
    }
  }

  @Test
  void rejectsMalformedFilesWithClearErrors() {
    assertMessage(new byte[] {1, 2, 3}, "not a .npy file");
    assertMessage(npy("<f4", "(2,)", new byte[4]), "needs 8 bytes, the file holds 4");
    assertMessage(npy("<f4", "(2,)", new byte[12]), "needs 8 bytes, the file holds 12");
    assertMessage(npy("<f4", "(-1,)", new byte[0]), "invalid dimension -1");
    assertMessage(
        npy("<f4", "(4294967296, 4294967296)", new byte[0]), "invalid dimension 4294967296");
    assertMessage(npy("<f4", "(2147483647, 1000000)", new byte[0]), "bytes, the file holds 0");
    assertMessage(npy("<f4", "(2147483647, 2147483647, 8)", new byte[0]), "count overflows");
    assertMessage(npy("<i8", "(1,)", longs(1L << 40)), "does not fit in int32");
    assertMessage(npy(">f4", "(1,)", new byte[4]), "big-endian");
    assertMessage(npy("<c8", "(1,)", new byte[8]), "dtype c8 is not supported");
    assertMessage(npy("<U3", "(1,)", new byte[12]), "malformed .npy header");
    assertMessage(
        npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", new byte[4]),
        "Fortran-order");
    byte[] huge = npy("<f4", "(1,)", new byte[4]);
    huge[8] = (byte) 0xff;
    huge[9] = (byte) 0x7f;
    assertMessage(huge, "does not fit the file");
    assertMessage(java.util.Arrays.copyOf(huge, 9), "not a .npy file");
  }

  private static void assertMessage(byte[] bytes, String part) {
    ModelFormatException e =
        assertThrows(ModelFormatException.class, () -> Npy.read(bytes, "in.npy"));
    assertTrue(e.getMessage().contains(part), e.getMessage() + " should say " + part);
    assertTrue(e.getMessage().startsWith("in.npy"), e.getMessage());
  }

  /**
   * Text from a malformed header is quoted, escaped and cut: one short line, no raw control
   * characters (it was echoed raw: 1,027 bytes with NULs over 4 lines; 3,051 characters for deep
   * parentheses).
   */
  @Test
  void malformedHeaderTextIsQuotedAndTruncated() {
    String garbage = "{'descr': '<f4', \u0000\u0001" + "\n".repeat(3) + "x".repeat(1000) + "}";
    String deep =
        "{'descr': '<f4', 'fortran_order': False, 'shape': (" + "(".repeat(3000) + "1), }";
    for (String header : new String[] {garbage, deep}) {
      ModelFormatException e =
          assertThrows(
              ModelFormatException.class, () -> Npy.read(npy(1, header, new byte[4]), "bad.npy"));
      String m = e.getMessage();
      assertTrue(m.length() < 200, m.length() + " characters: " + m);
      assertTrue(m.chars().noneMatch(c -> c < 0x20), "control characters in: " + m);
      assertTrue(m.startsWith("bad.npy: "), m);
      assertTrue(m.contains("more characters)"), m);
    }
  }
}
