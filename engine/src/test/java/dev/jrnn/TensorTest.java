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
      assertEquals(6f, t.get(1, 2));
      assertEquals(0, t.segment().address() % Tensor.ALIGNMENT);
      assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, t.toFloatArray());
    }
    try (Tensor t = Tensor.ofInts(new int[] {7, 8}, 2)) {
      assertEquals(DType.I32, t.dtype());
      assertArrayEquals(new int[] {7, 8}, t.toIntArray());
    }
  }

  @Test
  void viewsShareMemoryWithoutCopying() {
    try (Tensor t = Tensor.of(new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 3, 2, 2)) {
      Tensor s = t.slice(1, 3);
      assertArrayEquals(new int[] {2, 2, 2}, s.shape());
      assertEquals(4f, s.get(0, 0, 0));
      Tensor row = t.select(2);
      assertArrayEquals(new int[] {2, 2}, row.shape());
      row.setFloat(3, 99f);
      assertEquals(99f, t.get(2, 1, 1));
      Tensor r = t.reshape(-1, 4);
      assertArrayEquals(new int[] {3, 4}, r.shape());
      assertEquals(99f, r.get(2, 3));
      s.close(); // a view's close frees nothing
      assertEquals(99f, t.get(2, 1, 1));
    }
  }

  @Test
  void badShapesAndIndicesAreNamed() {
    var e = assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[5], 2, 3));
    assertTrue(e.getMessage().contains("[2, 3] holds 6 elements but 5"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Tensor.allocate(DType.F32, 2, -1));
    try (Tensor t = Tensor.allocate(DType.F32, 2, 3)) {
      assertThrows(IndexOutOfBoundsException.class, () -> t.get(2, 0));
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
}
