package dev.jrnn.fit;

import dev.jrnn.DType;
import dev.jrnn.Loss;
import dev.jrnn.Tensor;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * What a {@link Metric} sees of one batch: a graph output, the target, and which positions count.
 *
 * <p>A position is one element of the target. The output holds {@code k} scores per position, with
 * {@code k = output.size / target.size}: one (a logit, a probability, a regressed value) or one per
 * class (logits, read by argmax). With {@code lengths} (I32 {@code [N]}) the target is a padded
 * sequence {@code [T, N, ...]}, or {@code [N, T, ...]} when {@code batchFirst}, and only steps
 * {@code t < lengths[n]} count; with {@code ignoreIndex}, positions whose I32 target is that id do
 * not count either — the same positions {@link dev.jrnn.Loss} counts.
 *
 * @param output F32 graph output
 * @param target the target, I32 class ids or F32 values
 * @param lengths I32 {@code [N]} sequence lengths, or null
 * @param batchFirst the layout of a padded sequence
 * @param ignoreIndex a target id that does not count, if any
 */
public record Predictions(
    Tensor output, Tensor target, Tensor lengths, boolean batchFirst, OptionalInt ignoreIndex) {

  /** Checks the parts. */
  public Predictions {
    Objects.requireNonNull(output, "output");
    Objects.requireNonNull(target, "target");
    Objects.requireNonNull(ignoreIndex, "ignoreIndex");
    if (output.dtype() != DType.F32) {
      throw new IllegalArgumentException("metrics read an F32 output, got " + output.describe());
    }
    if (lengths != null && (lengths.dtype() != DType.I32 || lengths.rank() != 1)) {
      throw new IllegalArgumentException("lengths must be I32 [N], got " + lengths.describe());
    }
  }

  /** Every position counts. */
  public static Predictions of(Tensor output, Tensor target) {
    return new Predictions(output, target, null, false, OptionalInt.empty());
  }

  /**
   * {@code output} against {@code batch}'s target, counting the positions {@code loss} counts: its
   * lengths input (read from the batch) and layout, its ignored id.
   */
  public static Predictions of(Loss loss, Tensor output, Batch batch) {
    return new Predictions(
        output,
        batch.target(),
        loss.lengthsInput().map(batch::input).orElse(null),
        loss.isBatchFirst(),
        loss.ignoreIndex());
  }

  /** A copy in which only steps before each row's length count. */
  public Predictions withLengths(Tensor lengths, boolean batchFirst) {
    return new Predictions(output, target, lengths, batchFirst, ignoreIndex);
  }

  /** A copy in which positions whose target is {@code id} do not count. */
  public Predictions ignoring(int id) {
    return new Predictions(output, target, lengths, batchFirst, OptionalInt.of(id));
  }
}
