package dev.jrnn.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.DType;
import dev.jrnn.Tensor;
import dev.jrnn.data.Padding.Side;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class PaddingTest {

  private static final List<int[]> SEQS =
      List.of(new int[] {1, 2, 3, 4, 5}, new int[] {6, 7}, new int[] {8, 9, 10});

  private static int[][] rows(Padded p) {
    int[][] r = new int[p.batchSize()][];
    for (int i = 0; i < r.length; i++) {
      r[i] = p.row(i);
    }
    return r;
  }

  @Test
  void postPaddingPostTruncating() {
    Padded p = Padding.pad(SEQS, 4, Side.POST, Side.POST, -1);
    assertArrayEquals(new int[][] {{1, 2, 3, 4}, {6, 7, -1, -1}, {8, 9, 10, -1}}, rows(p));
    assertArrayEquals(new int[] {4, 2, 3}, p.lengths());
  }

  @Test
  void prePaddingPreTruncating() {
    Padded p = Padding.pad(SEQS, 4, Side.PRE, Side.PRE, 0);
    assertArrayEquals(new int[][] {{2, 3, 4, 5}, {0, 0, 6, 7}, {0, 8, 9, 10}}, rows(p));
    assertArrayEquals(new int[] {4, 2, 3}, p.lengths());
  }

  @Test
  void mixedSides() {
    assertArrayEquals(
        new int[][] {{1, 2, 3}, {0, 6, 7}, {8, 9, 10}},
        rows(Padding.pad(SEQS, 3, Side.PRE, Side.POST, 0)));
    assertArrayEquals(
        new int[][] {{3, 4, 5}, {6, 7, 0}, {8, 9, 10}},
        rows(Padding.pad(SEQS, 3, Side.POST, Side.PRE, 0)));
  }

  @Test
  void defaultsPadToTheLongestAtTheEnd() {
    Padded p = Padding.pad(SEQS);
    assertEquals(5, p.length());
    assertArrayEquals(new int[] {1, 2, 3, 4, 5, 6, 7, 0, 0, 0, 8, 9, 10, 0, 0}, p.ids());
    assertEquals(1 - 10.0 / 15, p.paddingFraction(), 1e-12);
    assertEquals(Side.POST, p.padding());
  }

  @Test
  void tensorsTimeMajorAndBatchFirst() {
    Padded p = Padding.pad(SEQS, 3, Side.POST, Side.POST, 0);
    try (Tensor tm = p.tokens();
        Tensor bf = p.tokens(true);
        Tensor len = p.lengthsTensor();
        Tensor mask = p.mask();
        Tensor maskBf = p.mask(true)) {
      assertEquals(DType.I32, tm.dtype());
      assertArrayEquals(new int[] {3, 3}, tm.shape());
      // [T, N]: step t holds the t-th id of every row
      assertArrayEquals(new int[] {1, 6, 8, 2, 7, 9, 3, 0, 10}, tm.toIntArray());
      assertArrayEquals(new int[] {1, 2, 3, 6, 7, 0, 8, 9, 10}, bf.toIntArray());
      assertEquals(DType.I32, len.dtype());
      assertArrayEquals(new int[] {3}, len.shape());
      assertArrayEquals(new int[] {3, 2, 3}, len.toIntArray());
      assertEquals(DType.F32, mask.dtype());
      assertArrayEquals(new float[] {1, 1, 1, 1, 1, 1, 1, 0, 1}, mask.toFloatArray());
      assertArrayEquals(new float[] {1, 1, 1, 1, 1, 0, 1, 1, 1}, maskBf.toFloatArray());
    }
    Padded wide = Padding.pad(List.of(new int[] {5}, new int[] {6, 7}), 4);
    try (Tensor tm = wide.tokens()) {
      assertArrayEquals(new int[] {4, 2}, tm.shape());
      assertEquals(7, tm.intAt(1, 1));
      assertEquals(0, tm.intAt(1, 0));
    }
  }

  @Test
  void maskFollowsPrePadding() {
    Padded p = Padding.pad(SEQS, 4, Side.PRE, Side.POST, 0);
    try (Tensor m = p.mask(true)) {
      assertArrayEquals(new float[] {1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1}, m.toFloatArray());
    }
  }

  @Test
  void lengthsRefusePrePaddingAndEmptyRows() {
    Padded pre = Padding.pad(SEQS, 4, Side.PRE, Side.POST, 0);
    IllegalStateException e = assertThrows(IllegalStateException.class, pre::lengthsTensor);
    assertTrue(e.getMessage().contains("lengths need POST padding"), e.getMessage());
    assertArrayEquals(new int[] {4, 2, 3}, pre.lengths()); // the counts stay available
    Padded empty = Padding.pad(List.of(new int[] {1}, new int[0]), 2);
    e = assertThrows(IllegalStateException.class, empty::lengthsTensor);
    assertTrue(e.getMessage().contains("row 1 is empty"), e.getMessage());
  }

  @Test
  void badInput() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Padding.pad(SEQS, 0));
    assertTrue(e.getMessage().contains("at least 1, got 0"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Padding.pad(List.of()));
    assertTrue(e.getMessage().contains("no sequences"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Padding.pad(Arrays.asList(new int[] {1}, null), 2));
    assertTrue(e.getMessage().contains("sequence 1 is null"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class, () -> Padding.pad(List.of(new int[0], new int[0])));
    assertTrue(e.getMessage().contains("all 2 sequences are empty"), e.getMessage());
  }

  @Test
  void copiesDoNotExposeState() {
    Padded p = Padding.pad(SEQS, 3);
    p.lengths()[0] = 99;
    p.ids()[0] = 99;
    p.row(0)[0] = 99;
    assertEquals(3, p.lengths()[0]);
    assertEquals(1, p.ids()[0]);
  }
}
