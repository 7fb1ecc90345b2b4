package dev.jrnn.onednn;

import dev.jrnn.testing.OnnxSuite;

/** Every ONNX test model imported and run on onednn (nodes it lacks run on java). */
class OneDnnOnnxTest extends OnnxSuite {
  @Override
  protected String backend() {
    return "onednn";
  }
}
