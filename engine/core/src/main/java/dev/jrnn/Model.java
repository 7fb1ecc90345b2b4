package dev.jrnn;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A graph with its weights, as read from a model file. Closing it closes the weights.
 *
 * <pre>{@code
 * try (Model m = Model.load(Path.of("model.onnx"));
 *      Session s = m.open(Options.defaults())) { ... }
 * }</pre>
 *
 * @param graph the network
 * @param weights its parameters, canonical names
 * @param format what the file was: {@code "ONNX"}, {@code "jrnn model"}, {@code "PyTorch
 *     state_dict"}
 */
public record Model(Graph graph, Weights weights, String format) implements AutoCloseable {

  /** Checks that every part is given. */
  public Model {
    Objects.requireNonNull(graph, "graph");
    Objects.requireNonNull(weights, "weights");
    Objects.requireNonNull(format, "format");
  }

  /**
   * Reads a model file: a jrnn model (safetensors with the graph in its metadata, as {@link #save}
   * writes; recognised by its contents) or an ONNX model (needs {@code jrnn-onnx} on the class
   * path; recognised by a {@code .onnx} name or its first byte). Anything else is a {@link
   * ModelFormatException} naming the formats that can be read.
   */
  public static Model load(Path file) {
    return Providers.get().loadModel(file);
  }

  /**
   * Reads a PyTorch {@code state_dict} saved with {@code safetensors.torch.save_file} and the JSON
   * description of the network it belongs to (layers, inputs, output; see the README).
   */
  public static Model load(Path stateDict, Path description) {
    return Providers.get().loadModel(stateDict, description);
  }

  /** Writes this model as a jrnn model file: the weights, and the graph as JSON in the metadata. */
  public void save(Path file) {
    Providers.get().saveModel(file, this);
  }

  /** A session running this model; the weights are copied, so the model may be closed after. */
  public Session open(Options options) {
    return Session.open(graph, weights, options);
  }

  /** Closes the weights. */
  @Override
  public void close() {
    weights.close();
  }
}
