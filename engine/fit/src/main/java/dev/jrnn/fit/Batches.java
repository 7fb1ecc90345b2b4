package dev.jrnn.fit;

import java.util.Iterator;
import java.util.Random;
import java.util.function.IntFunction;

/**
 * The data side of a fit: a number of batches per epoch and, for each epoch, the batches in that
 * epoch's order. The order of epoch {@code e} must be a function of the data's seed and {@code e}
 * alone, so that a run resumed at epoch {@code e} sees the batches an uninterrupted run would.
 *
 * <p>The caller of {@link #epoch} closes every {@link Batch} it takes from the iterator; batches it
 * does not take are never made.
 *
 * <pre>{@code
 * Batches train = Batches.shuffled(100, 42, i -> makeBatch(i)); // a fresh batch each time
 * }</pre>
 */
public interface Batches {

  /** Batches per epoch. */
  int count();

  /**
   * The batches of epoch {@code epoch} (1 for the first), in that epoch's order; each is closed by
   * whoever takes it.
   */
  Iterator<Batch> epoch(int epoch);

  /**
   * {@code count} batches made on demand by {@code make(index)}, visited in a new order each epoch:
   * {@link #order(int, long, int)} of {@code seed} and the epoch. Each made batch is closed by the
   * caller, so {@code make} returns fresh tensors or {@link Batch#view() views}.
   */
  static Batches shuffled(int count, long seed, IntFunction<Batch> make) {
    return new GeneratedBatches(count, seed, true, make);
  }

  /** {@code count} batches made on demand by {@code make(index)}, in index order every epoch. */
  static Batches ordered(int count, IntFunction<Batch> make) {
    return new GeneratedBatches(count, 0, false, make);
  }

  /**
   * A permutation of {@code 0..count-1} that depends only on {@code seed} and {@code epoch}: a
   * Fisher–Yates shuffle driven by {@link Random} (whose sequence Java specifies) seeded with a
   * SplitMix64 mix of the two.
   */
  static int[] order(int count, long seed, int epoch) {
    int[] p = new int[count];
    for (int i = 0; i < count; i++) {
      p[i] = i;
    }
    Random r = new Random(GeneratedBatches.mix(seed, epoch));
    for (int i = count - 1; i > 0; i--) {
      int j = r.nextInt(i + 1);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}
