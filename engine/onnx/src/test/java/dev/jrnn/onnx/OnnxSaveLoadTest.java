package dev.jrnn.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Model;
import dev.jrnn.Options;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.io.JrnnModel;
import dev.jrnn.testing.Fixture;
import dev.jrnn.testing.OnnxFixture;
import dev.jrnn.testing.OnnxSuite;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every ONNX test model, imported, saved as a jrnn model (weight inputs bound), loaded back and run
 * on {@code java}: the same numbers as the expected outputs. Covers every op, recurrent attribute
 * and constant the importer produces.
 */
class OnnxSaveLoadTest {

  @TempDir Path dir;

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.jrnn.testing.OnnxFixture#names")
  void onnxModelsSurviveSaveAndLoad(String name) {
    Path file = dir.resolve(name + ".jrnn");
    try (OnnxFixture f = OnnxFixture.load(name)) {
      OnnxModel m = OnnxModel.read(f.model, name);
      try (Weights w = m.weights(f.inputs())) {
        JrnnModel.save(file, m.graph(), w);
      }
      Map<String, Tensor> data = new LinkedHashMap<>(f.inputs());
      m.weightInputs().forEach(data::remove);
      try (Model loaded = JrnnModel.load(file);
          Session s = loaded.open(Options.backend("java"));
          Result r = s.run(data)) {
        assertEquals(JrnnModel.FORMAT, loaded.format());
        assertEquals(m.graph().inputs().keySet(), loaded.graph().inputs().keySet());
        assertEquals(m.graph().outputs().keySet(), loaded.graph().outputs().keySet());
        double worst = 0;
        for (Map.Entry<String, Tensor> e : f.expected().entrySet()) {
          worst = Math.max(worst, Fixture.maxAbsDiff(e.getValue(), r.get(e.getKey())));
        }
        System.out.printf("onnx %-42s saved+loaded max|diff| %.2e%n", name, worst);
        assertTrue(worst <= OnnxSuite.TOLERANCE, name + " after save/load: max abs diff " + worst);
      }
    }
    assertTrue(JrnnModel.isModel(file));
  }
}
