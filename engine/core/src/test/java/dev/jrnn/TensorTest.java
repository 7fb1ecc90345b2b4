package dev.jrnn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TensorTest {

  @Test
  void roundTripsArraysAndIsAligned() {
    try (Tensor t = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3)) {
      assertArrayEquals(new int[] {2, 3}, t.shape());
      assertEquals(6, t.size());
      assertEquals(6f, t.floatAt(1, 2));
      assertEquals(0, t.segment().address() % Tensor.ALIGNMENT);
      assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, t.toFloatArray());
    }
    try (Tensor t = Tensor.of(new int[] {7, 8, 9, 10, 11, 12}, 2, 3)) {
      assertEquals(DType.I32, t.dtype());
      assertArrayEquals(new int[] {7, 8, 9, 10, 11, 12}, t.toIntArray());
      assertEquals(12, t.intAt(1, 2));
      assertEquals(8, t.intAt(0, 1));
      var e = assertThrows(IllegalArgumentException.class, () -> t.floatAt(0, 1));
      assertTrue(e.getMessage().contains("is I32, this operation needs F32"), e.getMessage());
      assertThrows(IndexOutOfBoundsException.class, () -> t.intAt(2, 0));
    }
  }

  @Test
  void wrapNeedsAlignedNativeMemory() {
    var heap = java.lang.foreign.MemorySegment.ofArray(new float[8]);
    var e = assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(heap, DType.F32, 8));
    assertTrue(e.getMessage().contains("heap memory"), e.getMessage());
    try (var arena = java.lang.foreign.Arena.ofConfined()) {
      var seg = arena.allocate(64 * 3, Tensor.ALIGNMENT);
      var odd =
          assertThrows(
              IllegalArgumentException.class, () -> Tensor.wrap(seg.asSlice(4), DType.F32, 8));
      assertTrue(odd.getMessage().contains("aligned to 64 bytes"), odd.getMessage());
      Tensor t = Tensor.wrap(seg, DType.F32, 2, 3);
      t.setFloat(5, 2f);
      assertEquals(2f, seg.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 5));
    }
  }

  @Test
  void viewsShareMemoryWithoutCopying() {
    try (Tensor t = Tensor.of(new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 3, 2, 2)) {
      Tensor s = t.slice(1, 3);
      assertArrayEquals(new int[] {2, 2, 2}, s.shape());
      assertEquals(4f, s.floatAt(0, 0, 0));
      Tensor row = t.select(2);
      assertArrayEquals(new int[] {2, 2}, row.shape());
      row.setFloat(3, 99f);
      assertEquals(99f, t.floatAt(2, 1, 1));
      Tensor r = t.reshape(-1, 4);
      assertArrayEquals(new int[] {3, 4}, r.shape());
      assertEquals(99f, r.floatAt(2, 3));
      s.close(); // a view's close frees nothing
      assertEquals(99f, t.floatAt(2, 1, 1));
    }
  }

  @Test
  void badShapesAndIndicesAreNamed() {
    var e = assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[5], 2, 3));
    assertTrue(e.getMessage().contains("[2, 3] holds 6 elements but 5"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Tensor.allocate(DType.F32, 2, -1));
    try (Tensor t = Tensor.allocate(DType.F32, 2, 3)) {
      assertThrows(IndexOutOfBoundsException.class, () -> t.floatAt(2, 0));
      assertThrows(IndexOutOfBoundsException.class, () -> t.slice(1, 3));
      var r = assertThrows(IllegalArgumentException.class, () -> t.reshape(4, 2));
      assertTrue(r.getMessage().contains("cannot reshape [2, 3]"), r.getMessage());
      var d = assertThrows(IllegalArgumentException.class, t::toIntArray);
      assertTrue(d.getMessage().contains("needs I32"), d.getMessage());
    }
  }

  @Test
  void useAfterCloseThrowsForTensorAndViews() {
    Tensor t = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
    Tensor v = t.select(0);
    t.close();
    t.close(); // idempotent
    assertTrue(t.isClosed());
    var e = assertThrows(IllegalStateException.class, t::toFloatArray);
    assertTrue(e.getMessage().contains("used after close"), e.getMessage());
    assertThrows(IllegalStateException.class, () -> v.getFloat(0));
    assertThrows(IllegalStateException.class, t::segment);
  }

  /**
   * A reader racing close() gets an exception that names the tensor, never the JDK's bare "Already
   * closed" (which the memory access throws when the close lands between the check and the read).
   */
  @Test
  void readerRacingCloseGetsAMessageNamingTheTensor() throws Exception {
    java.util.Set<String> messages = java.util.concurrent.ConcurrentHashMap.newKeySet();
    for (int round = 0; round < 300; round++) {
      Tensor t = Tensor.allocate(DType.F32, 64, 64);
      java.util.concurrent.CountDownLatch reading = new java.util.concurrent.CountDownLatch(1);
      Thread reader =
          new Thread(
              () -> {
                reading.countDown();
                try {
                  while (true) {
                    for (long i = 0; i < t.size(); i++) {
                      t.getFloat(i);
                    }
                    t.toFloatArray();
                  }
                } catch (IllegalStateException e) {
                  messages.add(e.getMessage());
                }
              });
      reader.start();
      reading.await();
      t.close();
      reader.join(10_000);
      assertTrue(!reader.isAlive(), "the reader never saw the close");
    }
    assertEquals(java.util.Set.of("tensor F32 [64, 64] is used after close"), messages);
  }
}
