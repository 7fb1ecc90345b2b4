package dev.jrnn.fit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BatchesTest {

  @Test
  void orderIsAPermutationFixedBySeedAndEpoch() {
    int[] a = Batches.order(10, 7, 3);
    assertArrayEquals(a, Batches.order(10, 7, 3));
    int[] sorted = a.clone();
    Arrays.sort(sorted);
    assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, sorted);
    assertFalse(Arrays.equals(a, Batches.order(10, 7, 4)), "another epoch, another order");
    assertFalse(Arrays.equals(a, Batches.order(10, 8, 3)), "another seed, another order");
  }

  @Test
  void shuffledMakesOnlyWhatIsTakenInTheEpochsOrder() {
    List<Integer> made = new ArrayList<>();
    Batches b =
        Batches.shuffled(
            5,
            1,
            i -> {
              made.add(i);
              return batch(i);
            });
    assertEquals(5, b.count());
    Iterator<Batch> it = b.epoch(2);
    try (Batch first = it.next()) {
      assertEquals(Batches.order(5, 1, 2)[0], first.target().getInt(0));
    }
    assertEquals(List.of(Batches.order(5, 1, 2)[0]), made);
  }

  @Test
  void inMemoryBatchesHandOutViewsAndCloseTheirOwn() {
    List<Batch> list = List.of(batch(0), batch(1), batch(2));
    Tensor t0 = list.get(0).target();
    try (InMemoryBatches b = InMemoryBatches.ordered(list)) {
      for (int epoch = 1; epoch <= 2; epoch++) {
        int i = 0;
        for (Iterator<Batch> it = b.epoch(epoch); it.hasNext(); i++) {
          try (Batch x = it.next()) {
            assertEquals(i, x.target().getInt(0));
            assertEquals(i, x.input("ids").getInt(0));
          }
        }
        assertEquals(3, i);
      }
      assertFalse(t0.isClosed(), "closing a view frees nothing");
    }
    assertTrue(t0.isClosed());
  }

  @Test
  void batchChecksItsParts() {
    try (Tensor t = Tensor.of(new int[] {1}, 1)) {
      assertThrows(IllegalArgumentException.class, () -> new Batch(Map.of(), t, 0));
      var e =
          assertThrows(
              IllegalArgumentException.class,
              () -> new Batch(Map.of("ids", t), t, 1).input("tokens"));
      assertTrue(e.getMessage().contains("ids"), e.getMessage());
    }
  }

  private static Batch batch(int i) {
    return new Batch(Map.of("ids", Tensor.of(new int[] {i}, 1, 1)), Tensor.of(new int[] {i}, 1), 1);
  }
}
