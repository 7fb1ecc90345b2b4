package dev.jrnn.data;

import dev.jrnn.Tensor;
import java.util.Arrays;
import java.util.Objects;

/**
 * Sequence-to-one sliding windows over a series, for forecasting: window {@code w} starts at {@code
 * i = w·stride}, its input is {@code series[i, i + inputLength)} and its target {@code series[i +
 * inputLength + horizon − 1]} ({@code horizon} 1: the next value). Immutable; holds a copy of the
 * series. Tensor methods return new tensors that the caller owns and closes.
 *
 * <pre>{@code
 * Windows w = Windows.of(normalizer.apply(series), 28, 1, 1);
 * for (int[] batch : Batching.shuffled(w.count(), 64, seed)) {
 *   try (Tensor x = w.inputs(batch);     // F32 [T, N, 1]
 *        Tensor y = w.targets(batch)) {  // F32 [N, 1]
 *     ...
 *   }
 * }
 * }</pre>
 */
public final class Windows {

  private final double[] series;
  private final int inputLength;
  private final int horizon;
  private final int stride;
  private final int count;

  private Windows(double[] series, int inputLength, int horizon, int stride) {
    this.series = series;
    this.inputLength = inputLength;
    this.horizon = horizon;
    this.stride = stride;
    this.count = (series.length - inputLength - horizon) / stride + 1;
  }

  /**
   * The windows of {@code series}.
   *
   * @param inputLength steps in each input, {@code T >= 1}
   * @param horizon how far past the input's last step the target lies, {@code >= 1}
   * @param stride steps between window starts, {@code >= 1}
   * @throws IllegalArgumentException if a parameter is below 1 or the series is shorter than {@code
   *     inputLength + horizon} (the message names both)
   */
  public static Windows of(double[] series, int inputLength, int horizon, int stride) {
    Objects.requireNonNull(series, "series");
    if (inputLength < 1) {
      throw new IllegalArgumentException("inputLength must be at least 1, got " + inputLength);
    }
    if (horizon < 1) {
      throw new IllegalArgumentException(
          "horizon must be at least 1 (1 = the next value), got " + horizon);
    }
    if (stride < 1) {
      throw new IllegalArgumentException("stride must be at least 1, got " + stride);
    }
    if ((long) series.length < (long) inputLength + horizon) {
      throw new IllegalArgumentException(
          "a series of "
              + series.length
              + " values is too short for one window: inputLength "
              + inputLength
              + " + horizon "
              + horizon
              + " = "
              + ((long) inputLength + horizon)
              + " values are needed");
    }
    return new Windows(series.clone(), inputLength, horizon, stride);
  }

  /** Number of windows. */
  public int count() {
    return count;
  }

  /** Steps in each input, {@code T}. */
  public int inputLength() {
    return inputLength;
  }

  /** How far past the input's last step the target lies. */
  public int horizon() {
    return horizon;
  }

  /** Steps between window starts. */
  public int stride() {
    return stride;
  }

  /** The index in the series where window {@code w}'s input starts. */
  public int start(int w) {
    return Objects.checkIndex(w, count) * stride;
  }

  /** The index in the series of window {@code w}'s target. */
  public int targetIndex(int w) {
    return start(w) + inputLength + horizon - 1;
  }

  /** Window {@code w}'s input values (a copy). */
  public double[] input(int w) {
    int s = start(w);
    return Arrays.copyOfRange(series, s, s + inputLength);
  }

  /** Window {@code w}'s target value. */
  public double target(int w) {
    return series[targetIndex(w)];
  }

  /** Window indices {@code [from, to)}, e.g. the windows of a time-ordered validation part. */
  public int[] range(int from, int to) {
    if (from < 0 || to > count || from > to) {
      throw new IndexOutOfBoundsException("windows [" + from + ", " + to + ") of " + count);
    }
    int[] out = new int[to - from];
    for (int i = 0; i < out.length; i++) {
      out[i] = from + i;
    }
    return out;
  }

  /** The inputs of {@code windows}, time-major F32 {@code [T, N, 1]}: a recurrent layer's input. */
  public Tensor inputs(int[] windows) {
    return inputs(windows, false);
  }

  /**
   * The inputs of {@code windows} as F32 {@code [N, T, 1]} when {@code batchFirst}, else {@code [T,
   * N, 1]}.
   */
  public Tensor inputs(int[] windows, boolean batchFirst) {
    int n = checkWindows(windows);
    float[] x = new float[Math.multiplyExact(n, inputLength)];
    for (int r = 0; r < n; r++) {
      int s = windows[r] * stride;
      for (int t = 0; t < inputLength; t++) {
        x[batchFirst ? r * inputLength + t : t * n + r] = (float) series[s + t];
      }
    }
    return batchFirst ? Tensor.of(x, n, inputLength, 1) : Tensor.of(x, inputLength, n, 1);
  }

  /** The targets of {@code windows}, F32 {@code [N, 1]}. */
  public Tensor targets(int[] windows) {
    int n = checkWindows(windows);
    float[] y = new float[n];
    for (int r = 0; r < n; r++) {
      y[r] = (float) series[windows[r] * stride + inputLength + horizon - 1];
    }
    return Tensor.of(y, n, 1);
  }

  /** "Windows(count=100, T=28, horizon=1, stride=1)". */
  @Override
  public String toString() {
    return "Windows(count="
        + count
        + ", T="
        + inputLength
        + ", horizon="
        + horizon
        + ", stride="
        + stride
        + ")";
  }

  private int checkWindows(int[] windows) {
    Objects.requireNonNull(windows, "windows");
    if (windows.length == 0) {
      throw new IllegalArgumentException("no windows selected");
    }
    for (int i = 0; i < windows.length; i++) {
      if (windows[i] < 0 || windows[i] >= count) {
        throw new IndexOutOfBoundsException(
            "window " + windows[i] + " at position " + i + " of a selection; there are " + count);
      }
    }
    return windows.length;
  }
}
