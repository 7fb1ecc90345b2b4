package dev.jrnn.opencl;

import dev.jrnn.testing.OnnxSuite;
import org.junit.jupiter.api.BeforeAll;

/** Every ONNX test model imported and run on opencl (host-side ops run on java). */
class OpenClOnnxTest extends OnnxSuite {
  @BeforeAll
  void device() {
    Device.require();
  }

  @Override
  protected String backend() {
    return "opencl";
  }
}
