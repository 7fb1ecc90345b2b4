package dev.jrnn.spi;

import dev.jrnn.Tensor;
import java.util.Map;

/**
 * Training of one recurrent node on a backend: a forward pass that keeps what backward needs, and
 * the backward pass. Obtained from {@link Backend.Context#trainer}; frees its memory on close.
 *
 * <p>Tensors use the layer's inference layouts ({@code x [T, N, I]} or batch-first, states {@code
 * [L·D, N, ·]}); a null state is zero, a null upstream gradient is zero.
 */
public interface RecurrentTrainer extends AutoCloseable {

  /**
   * Forward in training mode: writes {@code y}, {@code hN} and ({@code cN}) as inference would
   * (each may be null when not needed) and returns what backward needs. The tape holds copies, so
   * the caller may reuse its tensors.
   */
  Tape forward(Tensor x, Tensor h0, Tensor c0, Tensor y, Tensor hN, Tensor cN);

  /**
   * Backward through the forward pass that made {@code tape}: writes the gradients of the loss with
   * respect to {@code x}, {@code h0} and {@code c0} (each may be null when not wanted) and adds the
   * gradient of every weight into {@code grads}, keyed by canonical weight name.
   */
  void backward(
      Tape tape,
      Tensor dy,
      Tensor dhN,
      Tensor dcN,
      Tensor dx,
      Tensor dh0,
      Tensor dc0,
      Map<String, Tensor> grads);

  /** New values for the weights (same names and shapes), e.g. after an optimizer step. */
  void updateWeights(Map<String, Tensor> weights);

  @Override
  void close();

  /** What a training forward keeps for backward. */
  interface Tape extends AutoCloseable {
    @Override
    void close();
  }
}
