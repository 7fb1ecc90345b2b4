package dev.jrnn.onnx;

import static dev.jrnn.testing.Allocations.bytesPerCall;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jrnn.Options;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.testing.OnnxFixture;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * An imported model's {@code run(inputs, outputs)} allocates nothing on the Java heap once warm.
 */
class OnnxAllocationTest {

  /**
   * A whole PyTorch export (embedding, Slice of the initial states, two LSTMs with the ONNX
   * Reshape/Transpose/Squeeze around them, Concat of the final states, MatMul + Add, LogSoftmax).
   */
  @Test
  void importedModelAllocatesNothing() {
    try (OnnxFixture f = OnnxFixture.load("torch17_char_lm")) {
      OnnxModel m = OnnxModel.read(f.model, f.name);
      Map<String, Tensor> in = f.inputs();
      Map<String, Tensor> out = new LinkedHashMap<>();
      try (Weights w = m.weights();
          Session session = Session.open(m.graph(), w, Options.backend("java").threads(1))) {
        try (Result r = session.run(in)) {
          for (String name : r.names()) {
            out.put(name, r.get(name).copy());
          }
        }
        long perRun = bytesPerCall(() -> session.run(in, out));
        assertEquals(0, perRun, "the imported char LM allocated " + perRun + " bytes per call");
      } finally {
        out.values().forEach(Tensor::close);
      }
    }
  }
}
