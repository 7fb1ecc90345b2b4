package dev.jrnn.spi;

import dev.jrnn.Tensor;
import java.util.Map;

/**
 * A compiled node that can also be trained: a forward pass that keeps what backward needs, and the
 * backward pass. The per-op contract every backend's training goes through; made by {@link
 * Backend.Context#compileForTraining}. The executor runs {@link #forward} over the graph in order,
 * then {@link #backward} in reverse order with the same tensors.
 *
 * <p>Tensor arrays are in the node's input and output order, as for {@link CompiledNode#run}: null
 * for an absent optional input. Every output is given to {@link #forward} (backward may need it).
 */
public interface TrainableNode extends CompiledNode {

  /**
   * Forward in training mode: writes every output as {@link #run} would and returns what backward
   * needs beyond the inputs and outputs (null when they suffice). The executor keeps the input and
   * output tensors alive and unchanged until {@link #backward}, then closes the returned value.
   */
  Saved forward(Tensor[] in, Tensor[] out, ExecContext ctx);

  /**
   * Backward through the forward pass that returned {@code saved}. {@code gradOut[i]} is the
   * gradient of the loss with respect to output {@code i} (null: zero). Writes {@code gradIn[i]},
   * the gradient with respect to input {@code i} (null: not wanted; integer inputs never are), and
   * adds the gradient of each weight into {@code gradWeights} under its canonical name (a missing
   * name: not wanted).
   */
  void backward(
      Saved saved,
      Tensor[] in,
      Tensor[] out,
      Tensor[] gradOut,
      Tensor[] gradIn,
      Map<String, Tensor> gradWeights,
      ExecContext ctx);

  /** Takes new values for the node's weights (same names and shapes), e.g. after a step. */
  void updateWeights(Map<String, Tensor> weights);

  /** What a training forward keeps for backward; frees it on close. */
  interface Saved extends AutoCloseable {
    @Override
    void close();
  }
}
