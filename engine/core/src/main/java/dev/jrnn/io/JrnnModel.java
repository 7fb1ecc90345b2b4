package dev.jrnn.io;

import dev.jrnn.Graph;
import dev.jrnn.Model;
import dev.jrnn.ModelFormatException;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.ir.Const;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.WeightSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * jrnn's own model file: a safetensors file holding the canonical weights, the graph's constants
 * ({@code const.<node>}) and the graph itself as JSON in the metadata key {@code jrnn.graph}, so
 * one file is a whole model. The weights' own metadata (a tokenizer, a normaliser, ...) is saved
 * beside it and read back into the model's weights.
 */
public final class JrnnModel {

  /** The format's name, as {@link Model#format()} gives it. */
  public static final String FORMAT = "jrnn model";

  /** Metadata key holding the graph JSON. */
  public static final String GRAPH_KEY = "jrnn.graph";

  /** Metadata key holding the file format's version. */
  private static final String FORMAT_KEY = "jrnn.format";

  /** Whether {@code file} is a jrnn model (a safetensors file with a graph). */
  public static boolean isModel(Path file) {
    try (SafeTensors.Contents c = SafeTensors.read(file)) {
      return c.metadata().containsKey(GRAPH_KEY);
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private JrnnModel() {}

  /** Writes the graph, its constants and the weights it reads. */
  public static void save(Path file, Graph g, Weights weights) {
    save(file, g, weights, Map.of());
  }

  /**
   * Writes the graph, its constants, the weights it reads and {@code extra} tensors (a trainer's
   * optimizer state), which {@link #load} gives back among the weights.
   */
  public static void save(Path file, Graph g, Weights weights, Map<String, Tensor> extra) {
    IrGraph graph = IrGraph.of(g);
    weights.checkAgainst(graph);
    Map<String, Const> constants = new LinkedHashMap<>();
    String json = GraphJson.write(graph, constants);
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    try {
      for (WeightSpec s : graph.weights()) {
        tensors.put(s.name(), weights.get(s.name()));
      }
      tensors.putAll(extra);
      Map<String, Tensor> owned = new LinkedHashMap<>();
      constants.forEach((k, v) -> owned.put(k, v.toTensor()));
      tensors.putAll(owned);
      try {
        Map<String, String> metadata = new LinkedHashMap<>(weights.metadata());
        metadata.put(GRAPH_KEY, json);
        metadata.put(FORMAT_KEY, "1");
        SafeTensors.write(file, tensors, metadata);
      } finally {
        owned.values().forEach(Tensor::close);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  /** Reads a model written by {@link #save}. */
  public static Model load(Path file) {
    try {
      return model(SafeTensors.read(file), file.toString());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }

  /** Reads model bytes (a safetensors file with a graph); {@code where} names them in errors. */
  public static Model read(MemorySegment bytes, String where) {
    return model(SafeTensors.read(bytes, where), where);
  }

  /** The model in safetensors contents; takes ownership of their tensors. */
  private static Model model(SafeTensors.Contents c, String where) {
    try {
      String json = c.metadata().get(GRAPH_KEY);
      if (json == null) {
        throw new ModelFormatException(
            where
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
      c.metadata()
          .forEach(
              (k, v) -> {
                if (!k.equals(GRAPH_KEY) && !k.equals(FORMAT_KEY)) {
                  w.putMetadata(k, v);
                }
              });
      Graph g;
      try {
        g = GraphJson.read(json, constants, where);
        w.checkAgainst(g);
      } catch (IllegalArgumentException e) {
        w.close();
        throw new ModelFormatException(where + ": " + e.getMessage(), e);
      } catch (RuntimeException e) {
        w.close();
        throw e;
      }
      return new Model(g, w, FORMAT);
    } catch (RuntimeException e) {
      c.close();
      throw e;
    }
  }
}
