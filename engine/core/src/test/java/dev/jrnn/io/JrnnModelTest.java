package dev.jrnn.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Activation;
import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Model;
import dev.jrnn.ModelFormatException;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.testing.Fixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** jrnn model files: graph JSON in the safetensors metadata, weights and constants as tensors. */
class JrnnModelTest {

  @TempDir Path dir;

  @Test
  void everyRecurrentSpecFieldRoundTrips() {
    List<Recurrent> specs =
        List.of(
            Recurrent.lstm(7).layers(2).bidirectional(Recurrent.Merge.SUM).peepholes().clip(3.5f),
            Recurrent.lstm(9).projection(4).coupledInputForget().batchFirst(true).name("enc"),
            Recurrent.gru(5).linearBeforeReset(false).direction(Recurrent.Direction.REVERSE),
            Recurrent.rnn(3)
                .activations(List.of(Activation.of(Activation.Kind.LEAKY_RELU, 0.25f, 0f))),
            Recurrent.gru(4).layers(2).dropout(0.25).recurrentDropout(0.125));
    for (Recurrent s : specs) {
      Recurrent back = GraphJson.spec(Json.parseObject(Json.write(GraphJson.spec(s))), "t");
      assertEquals(s, back);
    }
  }

  /** A small classifier: ids, embedding, 2-layer GRU, last step, linear, log-softmax. */
  private static Graph classifier() {
    Graph.Builder b = Graph.builder();
    Value tokens = b.input("tokens", DType.I32, Dim.dyn("T"), Dim.dyn("N"));
    Value emb = b.dropout(b.embedding("emb", tokens, 11, 6), 0.2);
    Value y = b.recurrent(emb, Recurrent.gru(8).layers(2).name("rnn"));
    b.output("logits", b.logSoftmax(b.linear("head", b.lastStep(y), 3, true)));
    return b.build();
  }

  @Test
  void graphBuiltInCodeRoundTrips() {
    Graph g = classifier();
    Path file = dir.resolve("model.jrnn");
    try (Weights w = Weights.random(g, 3)) {
      JrnnModel.save(file, g, w);
      try (Model m = JrnnModel.load(file);
          Tensor in = Tensor.of(new int[] {1, 2, 3, 4, 5, 6, 7, 8}, 4, 2);
          Session a = Session.open(g, w, Options.backend("reference"));
          Session c = Session.open(m.graph(), m.weights(), Options.backend("reference"));
          Result ra = a.run(Map.of("tokens", in));
          Result rc = c.run(Map.of("tokens", in))) {
        assertEquals(0.0, Fixture.maxAbsDiff(ra.get("logits"), rc.get("logits")));
        assertEquals(IrGraph.of(g).nodes().size(), IrGraph.of(m.graph()).nodes().size());
        assertEquals(
            IrGraph.of(g).node("dropout").op(), IrGraph.of(m.graph()).node("dropout").op());
        assertEquals(JrnnModel.FORMAT, m.format());
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

  /** One call from a model file to a running session; the model's weights are closed after. */
  @Test
  void sessionOpensAModelFileInOneCall() {
    Graph g = classifier();
    Path file = dir.resolve("m.jrnn");
    try (Weights w = Weights.random(g, 4)) {
      new Model(g, w, JrnnModel.FORMAT).save(file);
      try (Session a = Session.open(file, Options.backend("reference"));
          Session b = Session.open(g, w, Options.backend("reference"));
          Tensor x = Tensor.of(new int[] {1, 2, 3, 4}, 2, 2);
          Result ra = a.run(Map.of("tokens", x));
          Result rb = b.run(Map.of("tokens", x))) {
        assertEquals(0.0, Fixture.maxAbsDiff(rb.get("logits"), ra.get("logits")));
      }
    }
  }

  /** Without jrnn-onnx on the class path an unknown file says what jrnn can read and what not. */
  @Test
  void unknownFormatNamesTheFormatsThatCanBeRead() throws Exception {
    Path file = dir.resolve("model.onnx");
    Files.write(file, new byte[] {8, 7, 18, 0, 1, 2, 3});
    ModelFormatException e = assertThrows(ModelFormatException.class, () -> Model.load(file));
    assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("jrnn model"), e.getMessage());
    assertTrue(e.getMessage().contains("ONNX needs jrnn-onnx on the class path"), e.getMessage());
  }
}
