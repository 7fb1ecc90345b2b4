package dev.jrnn.onnx;

import dev.jrnn.Options;
import dev.jrnn.Precision;
import dev.jrnn.testing.OnnxFixture;
import dev.jrnn.testing.OnnxSuite;
import dev.jrnn.testing.ReducedBounds;

/**
 * Every ONNX test model on java with BF16 weight matrices, against the f32 expected outputs within
 * the bound {@link ReducedBounds#forGraph} derives from the weight format and the imported graph
 * (on top of the suite's 1e-5, all that models without a reduced matrix get).
 */
class JavaBf16OnnxTest extends OnnxSuite {
  @Override
  protected String backend() {
    return "java";
  }

  @Override
  protected Options options() {
    return super.options().precision(Precision.BF16);
  }

  @Override
  protected double tolerance(OnnxModel m, OnnxFixture f) {
    return TOLERANCE + ReducedBounds.forGraph(m.graph(), f.inputs(), Precision.BF16);
  }
}
