package dev.jrnn.fit;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.function.IntFunction;

/** {@link Batches#shuffled} and {@link Batches#ordered}: batches made on demand. */
record GeneratedBatches(int count, long seed, boolean shuffle, IntFunction<Batch> make)
    implements Batches {

  GeneratedBatches {
    if (count < 0) {
      throw new IllegalArgumentException("batch count must be >= 0, got " + count);
    }
    Objects.requireNonNull(make, "make");
  }

  static long mix(long seed, int epoch) {
    long z = seed + 0x9E3779B97F4A7C15L * (epoch + 1L);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  @Override
  public Iterator<Batch> epoch(int epoch) {
    int[] order = shuffle ? Batches.order(count, seed, epoch) : null;
    return new Iterator<>() {
      private int next;

      @Override
      public boolean hasNext() {
        return next < count;
      }

      @Override
      public Batch next() {
        if (next >= count) {
          throw new NoSuchElementException("epoch " + epoch + " has " + count + " batches");
        }
        int i = order == null ? next : order[next];
        next++;
        return make.apply(i);
      }
    };
  }
}
