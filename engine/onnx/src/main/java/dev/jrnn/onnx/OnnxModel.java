package dev.jrnn.onnx;

import dev.jrnn.Graph;
import dev.jrnn.ModelFormatException;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.ir.Const;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * An ONNX model imported as a jrnn {@link Graph} and its {@link Weights}.
 *
 * <p>Recurrent operators ({@code LSTM}, {@code GRU}, {@code RNN}, opsets 7–22, every attribute and
 * optional input) become jrnn recurrent layers with canonical weights (gate orders converted);
 * layout, Y/Y_h/Y_c shapes and optional outputs follow the ONNX operator. The operators exports put
 * around them map onto jrnn ops; constants and shape-only subgraphs fold while importing (and, when
 * they depend on dynamic dimensions, when a session plans a call). An unsupported operator or
 * attribute is an error naming the node.
 *
 * <p>ONNX graph inputs that feed a recurrent node's W, R, B or P (as ONNX's own backend tests do)
 * are weight inputs: give their values to {@link #weights(Map)}.
 *
 * <p>With {@code jrnn-onnx} on the class path, {@link dev.jrnn.Model#load(Path)} reads ONNX files
 * too (models without weight inputs).
 */
public final class OnnxModel {

  private final Graph graph;
  private final Map<String, Const> initial; // canonical weight name -> value
  private final List<WeightInput> weightInputs;
  private final long opset;

  OnnxModel(Graph graph, Map<String, Const> initial, List<WeightInput> weightInputs, long opset) {
    this.graph = graph;
    this.initial = initial;
    this.weightInputs = weightInputs;
    this.opset = opset;
  }

  /** Reads and imports an ONNX file. */
  public static OnnxModel load(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
    return read(bytes, file.toString());
  }

  /** Imports ONNX model bytes; {@code where} names the source in errors. */
  public static OnnxModel read(byte[] bytes, String where) {
    OnnxProto.Model m = OnnxProto.parseModel(bytes, where);
    try {
      return new OnnxImporter(m, where).run();
    } catch (IllegalArgumentException | IllegalStateException | ArithmeticException e) {
      // what the graph builder rejects (an output without a value, shapes that do not agree…)
      throw new ModelFormatException(where + ": " + e.getMessage(), e);
    }
  }

  /** The imported graph. */
  public Graph graph() {
    return graph;
  }

  /** The default-domain opset the model imports. */
  public long opset() {
    return opset;
  }

  /** ONNX inputs that carry weights and must be given to {@link #weights(Map)}. */
  public List<String> weightInputs() {
    return weightInputs.stream().map(WeightInput::input).distinct().toList();
  }

  /** The weights, when the model has no weight inputs. */
  public Weights weights() {
    return weights(Map.of());
  }

  /**
   * The canonical weights: from initializers, and from {@code values} for every weight input (extra
   * entries are ignored, so all of a test's inputs may be passed).
   */
  public Weights weights(Map<String, Tensor> values) {
    Weights w = Weights.empty();
    try {
      initial.forEach((k, v) -> w.put(k, v.toTensor()));
      for (WeightInput in : weightInputs) {
        Tensor t = values.get(in.input());
        if (t == null) {
          throw new IllegalArgumentException(
              "missing weight input '"
                  + in.input()
                  + "'; this model's weight inputs: "
                  + String.join(", ", weightInputs()));
        }
        in.conversion().apply(Const.of(t), w);
      }
      return w;
    } catch (RuntimeException e) {
      w.close();
      throw e;
    }
  }
}
