package dev.jrnn;

import java.nio.file.Path;
import java.util.Map;

/**
 * The engine behind this API: graph building, sessions and file formats. {@code jrnn-engine}
 * registers the one implementation with {@link java.util.ServiceLoader}; applications never call or
 * implement this interface. It exists so that the API depends on nothing of the engine while the
 * engine is written against the API.
 */
public interface Provider {

  /** A new, empty graph builder. */
  Graph.Builder newBuilder();

  /** See {@link Session#open(Graph, Weights, Options)}. */
  Session open(Graph graph, Weights weights, Options options);

  /** See {@link Trainer#open}. */
  Trainer openTrainer(Graph graph, Weights weights, Training training, Options options);

  /** See {@link Trainer#resume}. */
  Trainer resumeTrainer(Path checkpoint, Training training, Options options);

  /** See {@link Session#placement(Graph, Options)}. */
  Map<String, String> placement(Graph graph, Options options);

  /** See {@link Weights#random(Graph, String, long)}. */
  Weights randomWeights(Graph graph, String scheme, long seed);

  /** See {@link Weights#toPrecision(Graph, Precision)}. */
  Weights convertWeights(Graph graph, Weights weights, Precision precision);

  /** See {@link Weights#load(Path)}. */
  Weights readWeights(Path file);

  /** See {@link Weights#save(Path)}. */
  void writeWeights(Path file, Weights weights);

  /** See {@link Model#load(Path)}. */
  Model loadModel(Path file);

  /** See {@link Model#load(Path, Path)}. */
  Model loadModel(Path stateDict, Path description);

  /** See {@link Model#save(Path)}. */
  void saveModel(Path file, Model model);
}
