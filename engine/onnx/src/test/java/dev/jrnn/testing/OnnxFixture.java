package dev.jrnn.testing;

import dev.jrnn.Tensor;
import dev.jrnn.io.SafeTensors;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;

/**
 * An ONNX test model from {@code engine/onnx/src/test/python/make_onnx_fixtures.py}: the model
 * bytes, its inputs and the expected outputs (from PyTorch, the NumPy ONNX equations or ONNX's own
 * backend tests).
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
    return Fixture.index(DIR);
  }

  public static OnnxFixture load(String name) {
    byte[] st = Fixture.resource(DIR + name + ".safetensors");
    return new OnnxFixture(
        name,
        Fixture.resource(DIR + name + ".onnx"),
        SafeTensors.read(MemorySegment.ofArray(st), name));
  }

  /** Every input by ONNX name (weights passed as inputs included). */
  public Map<String, Tensor> inputs() {
    return Fixture.prefixed(data.tensors(), "in.");
  }

  /** Expected outputs by ONNX name. */
  public Map<String, Tensor> expected() {
    return Fixture.prefixed(data.tensors(), "out.");
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
