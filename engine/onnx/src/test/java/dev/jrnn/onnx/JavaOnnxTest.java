package dev.jrnn.onnx;

import dev.jrnn.testing.OnnxSuite;

class JavaOnnxTest extends OnnxSuite {
  @Override
  protected String backend() {
    return "java";
  }
}
