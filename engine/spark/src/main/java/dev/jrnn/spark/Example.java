package dev.jrnn.spark;

import java.io.Serializable;

/**
 * One row read from a DataFrame: its sequence ({@code length} steps of token ids, or of {@code C}
 * values each) and, for training, its target. Checked when read; what the batching code takes.
 *
 * @param ids token ids {@code [length]} for an I32 input, else null
 * @param values {@code [length · C]} step-major for an F32 input, else null
 * @param length the number of steps (at least 1)
 * @param classes class ids of a cross-entropy target, else null
 * @param targets values of any other loss's target, else null
 */
record Example(int[] ids, float[] values, int length, int[] classes, float[] targets)
    implements Serializable {

  /** The same sequence with a target. */
  Example withTarget(int[] classes, float[] targets) {
    return new Example(ids, values, length, classes, targets);
  }
}
