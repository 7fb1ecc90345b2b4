package dev.jrnn.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class SplitsTest {

  private static void assertPartition(int n, Splits.Split s, boolean all) {
    int[] seen = new int[n];
    for (int[] part : List.of(s.train(), s.validation(), s.test())) {
      for (int i : part) {
        seen[i]++;
      }
    }
    for (int i = 0; i < n; i++) {
      if (all) {
        assertEquals(1, seen[i], "index " + i);
      } else {
        assertTrue(seen[i] <= 1, "index " + i);
      }
    }
  }

  @Test
  void permutationIsSeededAndComplete() {
    int[] p = Splits.permutation(50, 42);
    int[] sorted = p.clone();
    Arrays.sort(sorted);
    for (int i = 0; i < 50; i++) {
      assertEquals(i, sorted[i]);
    }
    assertArrayEquals(p, Splits.permutation(50, 42));
    assertFalse(Arrays.equals(p, Splits.permutation(50, 43)));
    assertFalse(Arrays.equals(p, sorted));
  }

  @Test
  void randomSplitSizesAndPartition() {
    Splits.Split s = Splits.random(1000, 0.7, 0.2, 0.1, 1);
    assertEquals(700, s.train().length);
    assertEquals(200, s.validation().length);
    assertEquals(100, s.test().length);
    assertPartition(1000, s, true);
    assertEquals(s, Splits.random(1000, 0.7, 0.2, 0.1, 1));
    // 7 items: cumulative rounding 0.5·7 = 3.5 -> 4, 0.75·7 = 5.25 -> 5, 7
    Splits.Split small = Splits.random(7, 0.5, 0.25, 0.25, 1);
    assertEquals(
        List.of(4, 1, 2),
        List.of(small.train().length, small.validation().length, small.test().length));
    Splits.Split part = Splits.random(10, 0.5, 0.2, 0, 1);
    assertEquals(
        List.of(5, 2, 0),
        List.of(part.train().length, part.validation().length, part.test().length));
    assertPartition(10, part, false);
  }

  @Test
  void stratifiedKeepsEachClassShare() {
    int[] labels = new int[1003];
    for (int i = 0; i < labels.length; i++) {
      labels[i] = i % 10 == 0 ? 2 : (i % 3 == 0 ? 1 : 0); // unequal classes
    }
    double[] f = {0.6, 0.25, 0.15};
    Splits.Split s = Splits.stratified(labels, f[0], f[1], f[2], 9);
    assertPartition(labels.length, s, true);
    int[][] parts = {s.train(), s.validation(), s.test()};
    for (int c = 0; c <= 2; c++) {
      final int cls = c;
      long total = Arrays.stream(labels).filter(l -> l == cls).count();
      for (int k = 0; k < 3; k++) {
        long inPart = Arrays.stream(parts[k]).filter(i -> labels[i] == cls).count();
        assertTrue(
            Math.abs(inPart - f[k] * total) <= 1,
            "class " + c + " part " + k + ": " + inPart + " of " + total);
      }
    }
    assertEquals(s, Splits.stratified(labels, f[0], f[1], f[2], 9));
    // parts are shuffled: classes interleave rather than come in blocks
    int[] tr = s.train();
    int switches = 0;
    for (int i = 1; i < tr.length; i++) {
      switches += labels[tr[i]] != labels[tr[i - 1]] ? 1 : 0;
    }
    assertTrue(switches > 100, "only " + switches + " class changes in the training part");
  }

  @Test
  void badFractions() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Splits.random(10, 0.8, 0.2, 0.1, 1));
    assertTrue(e.getMessage().contains("sum to 1.1"), e.getMessage());
    assertTrue(e.getMessage().contains("at most 1"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Splits.random(10, 0.8, -0.1, 0.1, 1));
    assertTrue(e.getMessage().contains("validation fraction"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Splits.stratified(new int[] {0, 1}, 0.5, 0.5, Double.NaN, 1));
    assertTrue(e.getMessage().contains("test fraction"), e.getMessage());
  }

  @Test
  void selectPicksInOrder() {
    assertEquals(List.of("c", "a"), Splits.select(List.of("a", "b", "c"), new int[] {2, 0}));
    assertArrayEquals(new int[] {30, 10}, Splits.select(new int[] {10, 20, 30}, new int[] {2, 0}));
  }

  @Test
  void splitRecordCopies() {
    int[] train = {1, 2};
    Splits.Split s = new Splits.Split(train, new int[0], new int[0]);
    train[0] = 9;
    s.train()[1] = 9;
    assertArrayEquals(new int[] {1, 2}, s.train());
  }
}
