package dev.jrnn.onnx;

import dev.jrnn.Weights;
import dev.jrnn.ir.Const;

/**
 * An ONNX graph input whose value becomes canonical weights, and how: bound when the caller gives
 * the value to {@link OnnxModel#weights(java.util.Map)}.
 */
record WeightInput(String input, Conversion conversion) {

  /** Writes canonical weights from a weight input's (or an initializer's) value. */
  @FunctionalInterface
  interface Conversion {
    void apply(Const value, Weights into);
  }
}
