package dev.jrnn.fit;

import dev.jrnn.Trainer;
import java.util.Objects;

/**
 * The end of a {@link Fit}: the trainer with the final weights (the best epoch's when restored) and
 * the history. Closing it closes the trainer.
 *
 * @param trainer holds the final weights: {@code trainer.model().save(path)} keeps them
 * @param history every epoch's row, the best epoch and whether the run stopped early
 */
public record Fitted(Trainer trainer, History history) implements AutoCloseable {

  /** Checks that both are given. */
  public Fitted {
    Objects.requireNonNull(trainer, "trainer");
    Objects.requireNonNull(history, "history");
  }

  /** Closes the trainer. */
  @Override
  public void close() {
    trainer.close();
  }
}
