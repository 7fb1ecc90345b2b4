package dev.jrnn.fit;

/**
 * Hooks into a {@link Fit}'s loop, in the order they are called: {@link #onFitBegin} once, then per
 * epoch {@link #onEpochBegin}, {@link #onStep} after each training step and {@link #onEpochEnd}
 * after validation and checkpoints, then {@link #onFitEnd} once (after the best weights are
 * restored; not called when the fit fails). A callback that is also {@link AutoCloseable} is closed
 * when the fit ends, however it ends. Progress output and the CSV log are callbacks too. An
 * exception from a callback ends the fit.
 */
public interface Callback {

  /**
   * One training step.
   *
   * @param epoch the epoch, 1 for the first
   * @param batch the batch within the epoch, 1 for the first
   * @param batches batches per epoch ({@link Batches#count()})
   * @param globalStep the trainer's step count after this step
   * @param loss the step's loss, before its update
   * @param size the batch's sequences
   * @param learningRate the learning rate the step used
   * @param meanLoss the mean loss of the epoch so far, batches pooled as the loss pools positions
   * @param sequences the epoch's training sequences so far
   * @param seconds training time of the epoch so far
   */
  record Step(
      int epoch,
      int batch,
      int batches,
      long globalStep,
      double loss,
      int size,
      double learningRate,
      double meanLoss,
      long sequences,
      double seconds) {

    /** Training sequences per second in the epoch so far. */
    public double sequencesPerSecond() {
      return seconds > 0 ? sequences / seconds : 0;
    }
  }

  /**
   * Before the first epoch; {@code history} holds the rows of a resumed run ({@code
   * history.lastEpoch()} epochs done), {@code epochs} is the last epoch to run.
   */
  default void onFitBegin(History history, int epochs) {}

  /** Before epoch {@code epoch} of {@code epochs}, which has {@code batches} batches. */
  default void onEpochBegin(int epoch, int epochs, int batches) {}

  /** After each training step. */
  default void onStep(Step step) {}

  /**
   * After an epoch, its validation and its checkpoints; {@code history} already holds {@code row}
   * and the best value and early stop decided by it.
   */
  default void onEpochEnd(History.Epoch row, History history) {}

  /** After the last epoch, with the whole history. */
  default void onFitEnd(History history) {}
}
