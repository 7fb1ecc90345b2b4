package dev.jrnn.testing;

import dev.jrnn.Tensor;
import dev.jrnn.io.SafeTensors;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An ONNX test model from {@code engine/src/test/python/make_onnx_fixtures.py}: the model bytes,
 * its inputs and the expected outputs (from PyTorch, the NumPy ONNX equations or ONNX's own backend
 * tests).
 */
public final class OnnxFixture implements AutoCloseable {

  private static final String DIR = "/fixtures/onnx/";

  public final String name;
  public final byte[] model;
  private final SafeTensors.Contents data;

  private OnnxFixture(String name, byte[] model, SafeTensors.Contents data) {
    this.name = name;
    this.model = model;
    this.data = data;
  }

  public static List<String> names() {
    String index = new String(resource(DIR + "index.txt"), StandardCharsets.UTF_8);
    List<String> names = new ArrayList<>();
    for (String line : index.split("\n")) {
      if (!line.isBlank()) {
        names.add(line.strip());
      }
    }
    return names;
  }

  public static OnnxFixture load(String name) {
    byte[] st = resource(DIR + name + ".safetensors");
    return new OnnxFixture(
        name, resource(DIR + name + ".onnx"), SafeTensors.read(MemorySegment.ofArray(st), name));
  }

  static byte[] resource(String path) {
    try (InputStream in = OnnxFixture.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException("missing test resource " + path);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Every input by ONNX name (weights passed as inputs included). */
  public Map<String, Tensor> inputs() {
    return prefixed("in.");
  }

  /** Expected outputs by ONNX name. */
  public Map<String, Tensor> expected() {
    return prefixed("out.");
  }

  private Map<String, Tensor> prefixed(String p) {
    Map<String, Tensor> m = new LinkedHashMap<>();
    data.tensors()
        .forEach(
            (k, v) -> {
              if (k.startsWith(p)) {
                m.put(k.substring(p.length()), v);
              }
            });
    return m;
  }

  @Override
  public void close() {
    data.close();
  }

  @Override
  public String toString() {
    return name;
  }
}
