package dev.jrnn.io;

import dev.jrnn.Graph;
import dev.jrnn.ModelFormatException;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.spi.Const;
import dev.jrnn.spi.WeightSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * jrnn's own model file: a safetensors file holding the canonical weights, the graph's constants
 * ({@code const.<node>}) and the graph itself as JSON in the metadata key {@code jrnn.graph}, so
 * one file is a whole model.
 *
 * @param graph the graph
 * @param weights its weights (the caller closes them)
 */
public record JrnnModel(Graph graph, Weights weights) implements AutoCloseable {

  /** Metadata key holding the graph JSON. */
  public static final String GRAPH_KEY = "jrnn.graph";

  /** Whether {@code file} is a jrnn model (a safetensors file with a graph). */
  public static boolean isModel(Path file) {
    try (SafeTensors.Contents c = SafeTensors.read(file)) {
      return c.metadata().containsKey(GRAPH_KEY);
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** Writes the graph, its constants and the weights it reads. */
  public static void save(Path file, Graph graph, Weights weights) {
    weights.checkAgainst(graph);
    Map<String, Const> constants = new LinkedHashMap<>();
    String json = GraphJson.write(graph, constants);
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    try {
      for (WeightSpec s : graph.weights()) {
        tensors.put(s.name(), weights.get(s.name()));
      }
      Map<String, Tensor> owned = new LinkedHashMap<>();
      constants.forEach((k, v) -> owned.put(k, v.toTensor()));
      tensors.putAll(owned);
      try {
        SafeTensors.write(file, tensors, Map.of(GRAPH_KEY, json, "jrnn.format", "1"));
      } finally {
        owned.values().forEach(Tensor::close);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  /** Reads a model written by {@link #save}. */
  public static JrnnModel load(Path file) {
    SafeTensors.Contents c;
    try {
      c = SafeTensors.read(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
    try {
      String json = c.metadata().get(GRAPH_KEY);
      if (json == null) {
        throw new ModelFormatException(
            file
                + ": a safetensors file without a jrnn graph (convert PyTorch weights with"
                + " 'jrnn convert IN OUT --description MODEL.json')");
      }
      Map<String, Const> constants = new LinkedHashMap<>();
      Weights w = Weights.empty();
      for (Map.Entry<String, Tensor> e : c.tensors().entrySet()) {
        if (e.getKey().startsWith("const.")) {
          constants.put(e.getKey(), Const.of(e.getValue()));
          e.getValue().close();
        } else {
          w.put(e.getKey(), e.getValue());
        }
      }
      Graph g;
      try {
        g = GraphJson.read(json, constants, file.toString());
        w.checkAgainst(g);
      } catch (RuntimeException e) {
        w.close();
        throw e;
      }
      return new JrnnModel(g, w);
    } catch (RuntimeException e) {
      c.close();
      throw e;
    }
  }

  @Override
  public void close() {
    weights.close();
  }
}
