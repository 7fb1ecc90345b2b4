package dev.jrnn.fit;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Batches held in memory, handed out as {@link Batch#view() views} (so the caller's close frees
 * nothing), shuffled per epoch or in order. Owns the batches it is given and closes them on {@link
 * #close()}.
 *
 * <pre>{@code
 * try (InMemoryBatches train = InMemoryBatches.shuffled(list, 7)) { ... fit ... }
 * }</pre>
 */
public final class InMemoryBatches implements Batches, AutoCloseable {

  private final List<Batch> batches;
  private final Batches order;

  private InMemoryBatches(List<Batch> batches, Long seed) {
    this.batches = List.copyOf(new ArrayList<>(batches));
    this.order =
        seed == null
            ? Batches.ordered(this.batches.size(), i -> this.batches.get(i).view())
            : Batches.shuffled(this.batches.size(), seed, i -> this.batches.get(i).view());
  }

  /** The batches in the order {@link Batches#order} gives for {@code seed} and each epoch. */
  public static InMemoryBatches shuffled(List<Batch> batches, long seed) {
    return new InMemoryBatches(batches, seed);
  }

  /** The batches in list order every epoch (validation data). */
  public static InMemoryBatches ordered(List<Batch> batches) {
    return new InMemoryBatches(batches, null);
  }

  @Override
  public int count() {
    return batches.size();
  }

  @Override
  public Iterator<Batch> epoch(int epoch) {
    return order.epoch(epoch);
  }

  /** Closes every batch. Idempotent. */
  @Override
  public void close() {
    batches.forEach(Batch::close);
  }
}
