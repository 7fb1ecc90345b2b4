package dev.jrnn.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import dev.jrnn.testing.Fixture;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * PyTorch state_dicts (written by {@code make_torch_fixtures.py} under PyTorch's key names) with
 * JSON descriptions: the imported models reproduce PyTorch's outputs on every engine backend.
 */
class TorchImportTest {

  private static final String DIR = "/fixtures/torch/";

  @TempDir Path tmp;

  static byte[] resource(String name) {
    return Fixture.resource(DIR + name);
  }

  static SafeTensors.Contents tensors(String name) {
    return SafeTensors.read(MemorySegment.ofArray(resource(name)), name);
  }

  static Stream<Arguments> cases() {
    List<Arguments> a = new ArrayList<>();
    for (String name : Fixture.index(DIR)) {
      for (String backend : List.of("reference", "java")) {
        a.add(Arguments.of(name, backend));
      }
    }
    return a.stream();
  }

  @ParameterizedTest(name = "{0} on {1}")
  @MethodSource("cases")
  void matchesPyTorch(String name, String backend) {
    String json = new String(resource(name + ".json"), StandardCharsets.UTF_8);
    try (SafeTensors.Contents sd = tensors(name + ".safetensors");
        SafeTensors.Contents io = tensors(name + ".io.safetensors");
        Model m = TorchDescription.fromDescription(json, sd.tensors(), name + ".json");
        Session s = Session.open(m.graph(), m.weights(), Options.backend(backend));
        Result r = s.run(prefixed(io, "in."))) {
      double worst = 0;
      for (Map.Entry<String, Tensor> e : prefixed(io, "out.").entrySet()) {
        worst = Math.max(worst, Fixture.maxAbsDiff(e.getValue(), r.get(e.getKey())));
      }
      System.out.printf("torch %-16s %-9s max|diff| %.2e%n", name, backend, worst);
      assertTrue(worst <= 1e-5, name + " on " + backend + ": max abs diff " + worst);
    }
  }

  static Map<String, Tensor> prefixed(SafeTensors.Contents c, String p) {
    return Fixture.prefixed(c.tensors(), p);
  }

  @Test
  void fileApiAndSaveAsJrnnModel() throws IOException {
    Path sd = tmp.resolve("classifier.safetensors");
    Path desc = tmp.resolve("classifier.json");
    Files.write(sd, resource("classifier.safetensors"));
    Files.write(desc, resource("classifier.json"));
    Path out = tmp.resolve("classifier.jrnn");
    try (Model m = Model.load(sd, desc)) {
      assertEquals(TorchDescription.FORMAT, m.format());
      JrnnModel.save(out, m.graph(), m.weights());
    }
    try (SafeTensors.Contents io = tensors("classifier.io.safetensors");
        Model m = Model.load(out);
        Session s = Session.open(m.graph(), m.weights(), Options.backend("java"));
        Result r = s.run(prefixed(io, "in."))) {
      double d = Fixture.maxAbsDiff(prefixed(io, "out.").get("log_probs"), r.get("log_probs"));
      assertTrue(d <= 1e-5, "max abs diff " + d);
    }
  }

  /** The same weights for a graph built in code, with node-to-module names given. */
  @Test
  void graphBuiltInCode() {
    Graph.Builder b = Graph.builder();
    Value x = b.input("x", DType.F32, Dim.dyn("T"), Dim.dyn("N"), Dim.of(5));
    Value lengths = b.input("lengths", DType.I32, Dim.dyn("N"));
    Value y = b.recurrent(x, Recurrent.gru(9).layers(2).name("enc"), lengths, null, null);
    b.output("y", y);
    b.output("h_n", y.finalH());
    Graph g = b.build();
    try (SafeTensors.Contents sd = tensors("packed_gru.safetensors");
        SafeTensors.Contents io = tensors("packed_gru.io.safetensors");
        Weights w = TorchImport.weights(g, sd.tensors(), Map.of("enc", "encoder"), true);
        Session s = Session.open(g, w, Options.backend("java"));
        Result r = s.run(prefixed(io, "in."))) {
      assertTrue(Fixture.maxAbsDiff(prefixed(io, "out.").get("y"), r.get("y")) <= 1e-5);
      assertTrue(Fixture.maxAbsDiff(prefixed(io, "out.").get("h_n"), r.get("h_n")) <= 1e-5);
    }
  }

  @Test
  void mistakesAreNamed() {
    String cls = new String(resource("classifier.json"), StandardCharsets.UTF_8);
    try (SafeTensors.Contents sd = tensors("classifier.safetensors")) {
      Map<String, Tensor> t = sd.tensors();
      assertMessage(cls.replace("\"rnn\"", "\"encoder\""), t, "no 'encoder.weight_ih_l0'");
      assertMessage(cls.replace("\"lstm\"", "\"gru\""), t, "not a multiple of 3 gates");
      assertMessage(cls.replace("\"dropout\"", "\"conv1d\""), t, "unknown layer type");
      assertMessage(
          cls.replace("\"batch_first\": true", "\"batch_first\": true, \"num_layers\": 3"),
          t,
          "num_layers=3, the state_dict's shapes say 2");
      assertMessage(cls, withExtra(t), "keys the model does not use: extra.weight");
      assertMessage(
          cls.replace("\"module\": \"fc\"", "\"module\": \"emb\", \"name\": \"head\""),
          t,
          "state_dict 'emb.weight' has shape [40, 10] but node 'head' needs [40, 32]");
      assertMessage(
          cls, withoutKey(t, "rnn.weight_hh_l1_reverse"), "no 'rnn.weight_hh_l1_reverse'");
      assertMessage("{\"inputs\": 3}", t, "'inputs' must be a list");
    }
  }

  private static Map<String, Tensor> withExtra(Map<String, Tensor> t) {
    Map<String, Tensor> m = new LinkedHashMap<>(t);
    m.put("extra.weight", t.get("fc.bias"));
    return m;
  }

  private static Map<String, Tensor> withoutKey(Map<String, Tensor> t, String key) {
    Map<String, Tensor> m = new LinkedHashMap<>(t);
    m.remove(key);
    return m;
  }

  private static void assertMessage(String json, Map<String, Tensor> sd, String part) {
    ModelFormatException e =
        assertThrows(
            ModelFormatException.class, () -> TorchDescription.fromDescription(json, sd, "m.json"));
    assertTrue(e.getMessage().contains(part), e.getMessage() + " should say " + part);
    assertEquals(true, e.getMessage().startsWith("m.json"), e.getMessage());
  }
}
