package dev.jrnn.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.DType;
import dev.jrnn.Graph;
import dev.jrnn.GraphTest;
import dev.jrnn.ModelFormatException;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {

  @Test
  void roundTripsWeightsAndMetadata(@TempDir Path dir) {
    Graph g = GraphTest.classifier();
    Path file = dir.resolve("w.safetensors");
    try (Weights a = Weights.random(g, 42);
        Weights again = Weights.random(g, 42)) {
      assertArrayEquals(
          a.get("lstm.l0.fwd.W").toFloatArray(), again.get("lstm.l0.fwd.W").toFloatArray());
      assertThrows(UnsupportedOperationException.class, () -> a.metadata().put("k", "v"));
      a.putMetadata("note", "hello \"world\"");
      a.save(file);
      try (Weights b = Weights.load(file)) {
        assertEquals(a.names(), b.names());
        for (String n : a.names()) {
          assertArrayEquals(a.get(n).toFloatArray(), b.get(n).toFloatArray(), n);
        }
        assertEquals("hello \"world\"", b.metadata().get("note"));
        b.checkAgainst(g);
      }
    }
  }

  static byte[] file(String header, int dataBytes) {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(h.length).put(h);
    return b.array();
  }

  static String read(byte[] bytes) {
    var e =
        assertThrows(
            ModelFormatException.class,
            () -> SafeTensors.read(MemorySegment.ofArray(bytes), "t.st"));
    return e.getMessage();
  }

  @Test
  void hostileFilesGetClearErrors() {
    assertTrue(read(new byte[3]).contains("too short"));
    byte[] huge = file("{}", 0);
    ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(0, Long.MAX_VALUE);
    assertTrue(read(huge).contains("does not fit the file"), read(huge));
    assertTrue(read(file("{\"a\": ", 0)).contains("malformed JSON"));
    String outside =
        read(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4));
    assertTrue(outside.contains("lie outside the 4 data bytes"), outside);
    String mismatch =
        read(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8));
    assertTrue(mismatch.contains("holds 8 bytes but F32 [3] needs 12"), mismatch);
    String neg = read(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8));
    assertTrue(neg.contains("invalid dimension -2"), neg);
    String overflow =
        read(
            file(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647],"
                    + "\"data_offsets\":[0,8]}}",
                8));
    assertTrue(overflow.contains("overflows"), overflow);
    String dtype = read(file("{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}", 8));
    assertTrue(dtype.contains("dtype U8"), dtype);
    String deep = read(file("[".repeat(1000), 0));
    assertTrue(deep.contains("nesting deeper"), deep);
  }

  @Test
  void convertsWiderAndNarrowerTypesAndKeepsReducedWeights() {
    // F64 [2] = {1.5, -2}, I64 [1] = {7}, F16 [1] = 1.0, BF16 [1] = 2.0 (kept as BF16)
    String h =
        "{\"d\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]},"
            + "\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[16,24]},"
            + "\"h\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[24,26]},"
            + "\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[26,28]}}";
    byte[] f = file(h, 28);
    ByteBuffer b = ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN);
    int base = 8 + h.getBytes(StandardCharsets.UTF_8).length;
    b.putDouble(base, 1.5).putDouble(base + 8, -2).putLong(base + 16, 7);
    b.putShort(base + 24, Float.floatToFloat16(1f)).putShort(base + 26, (short) 0x4000);
    try (SafeTensors.Contents c = SafeTensors.read(MemorySegment.ofArray(f), "mixed")) {
      assertArrayEquals(new float[] {1.5f, -2f}, c.tensors().get("d").toFloatArray());
      assertArrayEquals(new int[] {7}, c.tensors().get("i").toIntArray());
      assertArrayEquals(new float[] {1f}, c.tensors().get("h").toFloatArray());
      Tensor bf = c.tensors().get("b");
      assertEquals(DType.BF16, bf.dtype());
      assertArrayEquals(new float[] {2f}, dev.jrnn.ir.Precisions.floats("b", bf, null));
    }
  }

  @Test
  void writesAndReadsReducedTensorsBitForBit(@TempDir Path dir) throws IOException {
    Path p = dir.resolve("r.safetensors");
    Map<String, Tensor> m = new LinkedHashMap<>();
    try (Tensor b = Tensor.allocate(DType.BF16, 3);
        Tensor q = Tensor.allocate(DType.I8, 2, 3)) {
      short[] bits = {(short) 0x3f80, (short) 0xc040, (short) 0x7f80};
      byte[] ints = {-127, 0, 5, 127, -1, 64};
      for (int i = 0; i < 3; i++) {
        b.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT, i, bits[i]);
      }
      for (int i = 0; i < 6; i++) {
        q.segment().set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, ints[i]);
      }
      m.put("b", b);
      m.put("q", q);
      SafeTensors.write(p, m, Map.of());
      try (SafeTensors.Contents c = SafeTensors.read(p)) {
        assertEquals(DType.BF16, c.tensors().get("b").dtype());
        assertArrayEquals(bits, dev.jrnn.ir.Precisions.bf16(c.tensors().get("b")));
        assertEquals(DType.I8, c.tensors().get("q").dtype());
        assertArrayEquals(new int[] {2, 3}, c.tensors().get("q").shape());
        assertArrayEquals(ints, dev.jrnn.ir.Precisions.int8(c.tensors().get("q")));
      }
    }
  }

  @Test
  void writesIntTensors(@TempDir Path dir) throws IOException {
    Path p = dir.resolve("i.safetensors");
    Map<String, Tensor> m = new LinkedHashMap<>();
    try (Tensor t = Tensor.of(new int[] {1, -2, 3}, 3)) {
      m.put("ids", t);
      SafeTensors.write(p, m, Map.of());
    }
    assertTrue(Files.size(p) > 8);
    try (SafeTensors.Contents c = SafeTensors.read(p)) {
      assertEquals(DType.I32, c.tensors().get("ids").dtype());
      assertArrayEquals(new int[] {1, -2, 3}, c.tensors().get("ids").toIntArray());
    }
  }
}
