package dev.jrnn.cli;

import dev.jrnn.Graph;
import dev.jrnn.Model;
import dev.jrnn.ModelFormatException;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.io.JrnnModel;
import dev.jrnn.io.SafeTensors;
import dev.jrnn.onnx.OnnxModel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A model file opened by the command line: an ONNX model, a jrnn model, or (with a JSON
 * description) a PyTorch state_dict in safetensors.
 *
 * @param graph the graph
 * @param weights its weights (closed with this object)
 * @param format what the file was, for display
 * @param onnx the ONNX model bytes, or null for other formats
 * @param weightInputs ONNX inputs that carry weights (given with {@code --input}), else empty
 */
record LoadedModel(
    Graph graph, Weights weights, String format, byte[] onnx, List<String> weightInputs)
    implements AutoCloseable {

  /**
   * Opens {@code file}. {@code values} supplies ONNX weight inputs (null: describe the model only,
   * leaving weights given as inputs out); {@code description} (may be null) is the JSON description
   * a PyTorch state_dict needs.
   */
  static LoadedModel open(Path file, Map<String, Tensor> values, Path description)
      throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new NoSuchFileException(file.toString(), null, "no such model file");
    }
    if (isSafeTensors(file)) {
      if (description != null) {
        Model m = Model.load(file, description);
        return new LoadedModel(m.graph(), m.weights(), m.format(), null, List.of());
      }
      if (!JrnnModel.isModel(file)) {
        String keys;
        try (SafeTensors.Contents c = SafeTensors.read(file)) {
          keys = String.join(", ", c.tensors().keySet().stream().limit(6).toList());
        }
        throw new ModelFormatException(
            file
                + " is a safetensors file without a jrnn graph (tensors "
                + keys
                + ", ...); a PyTorch state_dict needs a model description: --description"
                + " MODEL.json, or convert it once with 'jrnn convert "
                + file.getFileName()
                + " OUT.jrnn --description MODEL.json'");
      }
      Model m = Model.load(file);
      return new LoadedModel(m.graph(), m.weights(), m.format(), null, List.of());
    }
    if (description != null) {
      throw new UsageException("--description applies to PyTorch safetensors files only");
    }
    byte[] bytes = Files.readAllBytes(file);
    OnnxModel m = OnnxModel.read(bytes, file.toString());
    List<String> wi = m.weightInputs();
    if (values == null) {
      return new LoadedModel(
          m.graph(),
          wi.isEmpty() ? m.weights() : Weights.empty(),
          "ONNX (opset " + m.opset() + ")",
          bytes,
          wi);
    }
    for (String name : wi) {
      if (!values.containsKey(name)) {
        throw new IllegalArgumentException(
            "the ONNX model takes weight input '"
                + name
                + "' (of "
                + wi
                + "); give it with --input "
                + name
                + "=FILE.npy");
      }
    }
    Weights w = wi.isEmpty() ? m.weights() : m.weights(values);
    return new LoadedModel(m.graph(), w, "ONNX (opset " + m.opset() + ")", bytes, wi);
  }

  /** The number of parameters of the weights with these shapes. */
  static long parameters(Map<String, int[]> shapes) {
    long total = 0;
    for (int[] shape : shapes.values()) {
      total += Tensor.elementCount(shape);
    }
    return total;
  }

  private static boolean isSafeTensors(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return SafeTensors.looksLike(in.readNBytes(9));
    }
  }

  @Override
  public void close() {
    weights.close();
  }
}
