package dev.jrnn.onnx;

import dev.jrnn.testing.OnnxSuite;

class ReferenceOnnxTest extends OnnxSuite {
  @Override
  protected String backend() {
    return "reference";
  }
}
