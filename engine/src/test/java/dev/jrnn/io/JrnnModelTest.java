package dev.jrnn.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Activation;
import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.ModelFormatException;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import dev.jrnn.onnx.OnnxModel;
import dev.jrnn.testing.Fixture;
import dev.jrnn.testing.OnnxFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** jrnn model files: graph JSON in the safetensors metadata, weights and constants as tensors. */
class JrnnModelTest {

  @TempDir Path dir;

  static Stream<String> onnxModels() {
    return OnnxFixture.names().stream();
  }

  /**
   * Every ONNX test model, imported, saved as a jrnn model (weight inputs bound), loaded back and
   * run: the same numbers as the expected outputs. Covers every op, recurrent attribute and
   * constant the importer produces.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("onnxModels")
  void onnxModelsSurviveSaveAndLoad(String name) {
    Path file = dir.resolve(name + ".jrnn");
    try (OnnxFixture f = OnnxFixture.load(name)) {
      OnnxModel m = OnnxModel.read(f.model, name);
      try (Weights w = m.weights(f.inputs())) {
        JrnnModel.save(file, m.graph(), w);
      }
      Map<String, Tensor> data = new LinkedHashMap<>(f.inputs());
      m.weightInputs().forEach(data::remove);
      try (JrnnModel loaded = JrnnModel.load(file);
          Session s = Session.open(loaded.graph(), loaded.weights(), Options.backend("java"));
          Result r = s.run(data)) {
        assertEquals(m.graph().outputs().keySet(), loaded.graph().outputs().keySet());
        double worst = 0;
        for (Map.Entry<String, Tensor> e : f.expected().entrySet()) {
          worst = Math.max(worst, Fixture.maxAbsDiff(e.getValue(), r.get(e.getKey())));
        }
        assertTrue(worst <= 1e-5, name + " after save/load: max abs diff " + worst);
      }
    }
    assertTrue(JrnnModel.isModel(file));
  }

  @Test
  void everyRecurrentSpecFieldRoundTrips() {
    List<Recurrent> specs =
        List.of(
            Recurrent.lstm(7).layers(2).bidirectional(Recurrent.Merge.SUM).peepholes().clip(3.5f),
            Recurrent.lstm(9).projection(4).coupledInputForget().batchFirst(true).name("enc"),
            Recurrent.gru(5).linearBeforeReset(false).direction(Recurrent.Direction.REVERSE),
            Recurrent.rnn(3)
                .activations(List.of(Activation.of(Activation.Kind.LEAKY_RELU, 0.25f, 0f))));
    for (Recurrent s : specs) {
      Recurrent back = GraphJson.spec(Json.parseObject(Json.write(GraphJson.spec(s))), "t");
      assertEquals(s, back);
    }
  }

  @Test
  void graphBuiltInCodeRoundTrips() {
    Graph.Builder b = Graph.builder();
    Value tokens = b.input("tokens", DType.I32, Dim.dyn("T"), Dim.dyn("N"));
    Value emb = b.embedding("emb", tokens, 11, 6);
    Value y = b.recurrent(emb, Recurrent.gru(8).layers(2).name("rnn"));
    b.output("logits", b.logSoftmax(b.linear("head", b.lastStep(y), 3, true)));
    Graph g = b.build();
    Path file = dir.resolve("model.jrnn");
    try (Weights w = Weights.random(g, 3)) {
      JrnnModel.save(file, g, w);
      try (JrnnModel m = JrnnModel.load(file);
          Tensor in = Tensor.ofInts(new int[] {1, 2, 3, 4, 5, 6, 7, 8}, 4, 2);
          Session a = Session.open(g, w, Options.backend("reference"));
          Session c = Session.open(m.graph(), m.weights(), Options.backend("reference"));
          Result ra = a.run(Map.of("tokens", in));
          Result rc = c.run(Map.of("tokens", in))) {
        assertEquals(0.0, Fixture.maxAbsDiff(ra.get("logits"), rc.get("logits")));
        assertEquals(g.nodes().size(), m.graph().nodes().size());
      }
    }
  }

  @Test
  void plainWeightsFileIsNotAModel() throws Exception {
    Path file = dir.resolve("w.safetensors");
    try (Tensor t = Tensor.of(new float[] {1}, 1)) {
      SafeTensors.write(file, Map.of("x", t), Map.of());
    }
    assertTrue(!JrnnModel.isModel(file));
    ModelFormatException e = assertThrows(ModelFormatException.class, () -> JrnnModel.load(file));
    assertTrue(e.getMessage().contains("without a jrnn graph"), e.getMessage());
  }

  @Test
  void corruptGraphJsonIsAClearError() throws Exception {
    Path file = dir.resolve("bad.jrnn");
    Map<String, String> cases = new HashMap<>();
    cases.put("{", "graph JSON");
    cases.put("{\"jrnn_graph\": 99}", "not a jrnn graph");
    cases.put(
        "{\"jrnn_graph\": 1, \"inputs\": [], \"nodes\": [{\"name\": \"a\", \"op\": \"Nope\","
            + " \"inputs\": []}], \"outputs\": {}}",
        "unknown op 'Nope'");
    cases.put(
        "{\"jrnn_graph\": 1, \"inputs\": [], \"nodes\": [{\"name\": \"a\", \"op\": \"Unary\","
            + " \"attrs\": {\"fn\": \"TANH\"}, \"inputs\": [\"ghost\"]}], \"outputs\": {}}",
        "reads unknown value 'ghost'");
    cases.put(
        "{\"jrnn_graph\": 1, \"inputs\": [{\"name\": \"x\", \"dtype\": \"F32\", \"dims\":"
            + " [3]}], \"nodes\": [{\"name\": \"s\", \"op\": \"Slice\", \"inputs\":"
            + " [\"x\"]}], \"outputs\": {}}",
        "node 's' (Slice) needs 3 inputs");
    for (Map.Entry<String, String> c : cases.entrySet()) {
      try (Tensor t = Tensor.of(new float[] {1}, 1)) {
        SafeTensors.write(file, Map.of("x", t), Map.of(JrnnModel.GRAPH_KEY, c.getKey()));
      }
      ModelFormatException e = assertThrows(ModelFormatException.class, () -> JrnnModel.load(file));
      assertTrue(e.getMessage().contains(c.getValue()), e.getMessage());
    }
    assertTrue(Files.exists(file));
  }
}
