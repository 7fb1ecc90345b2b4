package dev.jrnn.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Model;
import dev.jrnn.ModelFormatException;
import dev.jrnn.Options;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.testing.Fixture;
import dev.jrnn.testing.OnnxFixture;
import dev.jrnn.testing.OnnxSuite;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ONNX as a model format of the public API: with {@code jrnn-onnx} on the class path, {@link
 * Model#load(Path)} and {@link Session#open(Path, Options)} read ONNX files, recognised by name or
 * by their first byte; models with weight inputs and malformed files are clear errors.
 */
class OnnxFormatTest {

  @TempDir Path dir;

  private Path write(String fixture, String fileName) throws IOException {
    try (OnnxFixture f = OnnxFixture.load(fixture)) {
      return Files.write(dir.resolve(fileName), f.model);
    }
  }

  /** Runs {@code s} on the fixture's inputs: the largest difference from its expected outputs. */
  private static double worst(Session s, String fixture) {
    try (OnnxFixture f = OnnxFixture.load(fixture);
        Result r = s.run(f.inputs())) {
      double worst = 0;
      for (Map.Entry<String, Tensor> e : f.expected().entrySet()) {
        worst = Math.max(worst, Fixture.maxAbsDiff(e.getValue(), r.get(e.getKey())));
      }
      return worst;
    }
  }

  @Test
  void modelLoadReadsOnnxFiles() throws IOException {
    Path file = write("torch17_char_lm", "char_lm.onnx");
    try (Model m = Model.load(file);
        Session s = m.open(Options.backend("java"))) {
      assertEquals("ONNX", m.format());
      assertEquals(Set.of("logp", "h", "c"), m.graph().outputs().keySet());
      double worst = worst(s, "torch17_char_lm");
      System.out.printf("onnx Model.load(%s) max|diff| %.2e%n", file.getFileName(), worst);
      assertTrue(worst <= OnnxSuite.TOLERANCE, "max abs diff " + worst);
    }
  }

  @Test
  void sessionOpensOnnxFiles() throws IOException {
    Path file = write("torch14_classifier", "classifier.onnx");
    try (Session s = Session.open(file, Options.backend("java"))) {
      double worst = worst(s, "torch14_classifier");
      System.out.printf("onnx Session.open(%s) max|diff| %.2e%n", file.getFileName(), worst);
      assertTrue(worst <= OnnxSuite.TOLERANCE, "max abs diff " + worst);
    }
  }

  @Test
  void recognisedByContentsWhateverTheName() throws IOException {
    Path file = write("torch17_gru_2layer", "gru.model");
    try (Model m = Model.load(file);
        Session s = m.open(Options.backend("java"))) {
      assertEquals("ONNX", m.format());
      assertTrue(worst(s, "torch17_gru_2layer") <= OnnxSuite.TOLERANCE);
    }
  }

  @Test
  void recognizes() {
    OnnxFormat f = new OnnxFormat();
    assertEquals("ONNX", f.name());
    assertTrue(f.recognizes(Path.of("a", "M.ONNX"), new byte[0]));
    assertTrue(f.recognizes(Path.of("m.onnx"), new byte[] {0x7b}));
    assertTrue(f.recognizes(Path.of("m.bin"), new byte[] {0x08, 0x08}));
    assertFalse(f.recognizes(Path.of("m.bin"), new byte[] {0x7b, 0x22}));
    assertFalse(f.recognizes(Path.of("onnx"), new byte[0]));
  }

  @Test
  void weightInputsNeedOnnxModel() throws IOException {
    Path file = write("test_lstm_defaults", "lstm.onnx");
    List<String> inputs = OnnxModel.load(file).weightInputs();
    assertFalse(inputs.isEmpty());
    ModelFormatException e = assertThrows(ModelFormatException.class, () -> Model.load(file));
    assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
    for (String in : inputs) {
      assertTrue(e.getMessage().contains(in), e.getMessage());
    }
    assertTrue(e.getMessage().contains("OnnxModel.weights(Map)"), e.getMessage());
    assertThrows(ModelFormatException.class, () -> Session.open(file, Options.backend("java")));
  }

  @Test
  void garbageIsAModelFormatException() throws IOException {
    byte[] junk = "this is not a model, just some text".getBytes(StandardCharsets.UTF_8);
    Path named = Files.write(dir.resolve("junk.onnx"), junk);
    ModelFormatException e = assertThrows(ModelFormatException.class, () -> Model.load(named));
    assertTrue(e.getMessage().startsWith(named.toString()), e.getMessage());
    Path unnamed = Files.write(dir.resolve("junk.bin"), junk);
    e = assertThrows(ModelFormatException.class, () -> Model.load(unnamed));
    assertTrue(e.getMessage().contains("ONNX"), e.getMessage());
    byte[] looksLikeOnnx = {0x08, 0x07, 0x3a, 0x7f, 0x01};
    Path truncated = Files.write(dir.resolve("truncated.bin"), looksLikeOnnx);
    assertThrows(ModelFormatException.class, () -> Model.load(truncated));
  }
}
