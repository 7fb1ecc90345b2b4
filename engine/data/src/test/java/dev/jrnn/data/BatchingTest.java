package dev.jrnn.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BatchingTest {

  /** Skewed lengths: mostly short, a long tail, as token counts of e-mails are. */
  private static int[] skewed(int n, long seed) {
    Random r = new Random(seed);
    int[] l = new int[n];
    for (int i = 0; i < n; i++) {
      l[i] = 1 + (int) (-30 * Math.log(1 - r.nextDouble()));
    }
    return l;
  }

  private static void assertEachIndexOnce(int n, List<int[]> batches, int batchSize) {
    int[] seen = new int[n];
    for (int[] b : batches) {
      assertTrue(b.length >= 1 && b.length <= batchSize, "batch of " + b.length);
      for (int i : b) {
        seen[i]++;
      }
    }
    for (int i = 0; i < n; i++) {
      assertEquals(1, seen[i], "index " + i);
    }
  }

  @Test
  void inOrderCutsConsecutiveRuns() {
    List<int[]> b = Batching.inOrder(7, 3);
    assertEquals(3, b.size());
    assertArrayEquals(new int[] {0, 1, 2}, b.get(0));
    assertArrayEquals(new int[] {3, 4, 5}, b.get(1));
    assertArrayEquals(new int[] {6}, b.get(2));
    assertTrue(Batching.inOrder(0, 3).isEmpty());
  }

  @Test
  void shuffledIsSeededAndComplete() {
    List<int[]> a = Batching.shuffled(103, 10, 7);
    assertEachIndexOnce(103, a, 10);
    assertEquals(11, a.size());
    List<int[]> again = Batching.shuffled(103, 10, 7);
    for (int i = 0; i < a.size(); i++) {
      assertArrayEquals(a.get(i), again.get(i));
    }
    assertNotEquals(
        List.of(a.get(0)[0], a.get(0)[1]),
        List.of(Batching.shuffled(103, 10, 8).get(0)[0], Batching.shuffled(103, 10, 8).get(0)[1]));
  }

  @Test
  void bucketedKeepsEveryIndexOnceAndIsDeterministic() {
    int[] len = skewed(1000, 1);
    List<int[]> a = Batching.bucketed(len, 32, 3);
    assertEachIndexOnce(1000, a, 32);
    List<int[]> b = Batching.bucketed(len, 32, 3);
    assertEquals(a.size(), b.size());
    for (int i = 0; i < a.size(); i++) {
      assertArrayEquals(a.get(i), b.get(i));
    }
    // small chunks: every index still once, across chunk boundaries and short tails
    assertEachIndexOnce(1000, Batching.bucketed(len, 7, 3, 5), 7);
  }

  @Test
  void bucketedWastesLessPaddingThanShuffled() {
    int[] len = skewed(2000, 2);
    double shuffled = Batching.paddingFraction(len, Batching.shuffled(len.length, 32, 3));
    double bucketed = Batching.paddingFraction(len, Batching.bucketed(len, 32, 3));
    double sorted = Batching.paddingFraction(len, Batching.bucketed(len, 32, Integer.MAX_VALUE, 3));
    assertTrue(shuffled > 0.6, "shuffled wastes " + shuffled);
    assertTrue(bucketed < 0.15, "bucketed wastes " + bucketed);
    assertTrue(sorted <= bucketed, sorted + " > " + bucketed);
  }

  @Test
  void batchesOfOneChunkAreSortedByLength() {
    int[] len = {5, 1, 4, 2, 3, 6};
    List<int[]> b = Batching.bucketed(len, 2, 10, 0);
    for (int[] batch : b) {
      // within a batch, lengths are neighbours in sorted order: 1-2, 3-4, 5-6
      assertEquals(1, Math.abs(len[batch[0]] - len[batch[1]]), () -> "batch " + List.of(batch));
    }
  }

  @Test
  void paddingFractionByHand() {
    int[] len = {1, 4, 2, 2};
    // batch {0, 1}: longest 4, 8 cells, 5 real; batch {2, 3}: 4 cells, 4 real -> 1 - 9/12
    assertEquals(0.25, Batching.paddingFraction(len, List.of(new int[] {0, 1}, new int[] {2, 3})));
    assertEquals(0, Batching.paddingFraction(new int[] {0, 0}, List.of(new int[] {0, 1})));
    assertArrayEquals(new int[] {2, 0}, Batching.lengthsOf(List.of(new int[2], new int[0])));
  }

  @Test
  void badInput() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Batching.shuffled(10, 0, 1));
    assertTrue(e.getMessage().contains("batch size must be at least 1, got 0"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class, () -> Batching.bucketed(new int[] {3, -1}, 2, 1));
    assertTrue(e.getMessage().contains("length 1 is negative"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class, () -> Batching.bucketed(new int[] {3}, 2, 0, 1));
    assertTrue(e.getMessage().contains("chunkBatches"), e.getMessage());
  }
}
