package dev.jrnn.exec;

import dev.jrnn.Graph;
import dev.jrnn.Model;
import dev.jrnn.ModelFormatException;
import dev.jrnn.Options;
import dev.jrnn.Precision;
import dev.jrnn.Provider;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Trainer;
import dev.jrnn.Training;
import dev.jrnn.Weights;
import dev.jrnn.io.JrnnModel;
import dev.jrnn.io.SafeTensors;
import dev.jrnn.io.TorchDescription;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.spi.ModelFormat;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * The {@link Provider} of {@code jrnn-engine}: the public API's static entry points, wired to the
 * IR builder, the executor and the file formats.
 */
public final class EngineProvider implements Provider {

  private static final int HEAD = 16;

  @Override
  public Graph.Builder newBuilder() {
    return IrGraph.builder();
  }

  @Override
  public Session open(Graph graph, Weights weights, Options options) {
    return LocalSession.open(graph, weights, options);
  }

  @Override
  public Trainer openTrainer(Graph graph, Weights weights, Training training, Options options) {
    return LocalTrainer.open(graph, weights, training, options);
  }

  @Override
  public Trainer resumeTrainer(Path checkpoint, Training training, Options options) {
    return LocalTrainer.resume(checkpoint, training, options);
  }

  @Override
  public Map<String, String> placement(Graph graph, Options options) {
    return LocalSession.placement(graph, options);
  }

  @Override
  public Weights randomWeights(Graph graph, String scheme, long seed) {
    return Initializers.random(IrGraph.of(graph), scheme, seed);
  }

  @Override
  public Weights convertWeights(Graph graph, Weights weights, Precision precision) {
    return NodeWeights.convert(IrGraph.of(graph), weights, precision);
  }

  @Override
  public Weights readWeights(Path file) {
    try {
      SafeTensors.Contents c = SafeTensors.read(file);
      Weights w = Weights.empty();
      c.tensors().forEach(w::put);
      c.metadata().forEach(w::putMetadata);
      return w;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read weights from " + file, e);
    }
  }

  @Override
  public void writeWeights(Path file, Weights weights) {
    Map<String, Tensor> m = new java.util.LinkedHashMap<>();
    for (String name : weights.names()) {
      m.put(name, weights.get(name));
    }
    try {
      SafeTensors.write(file, m, weights.metadata());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write weights to " + file, e);
    }
  }

  @Override
  public Model loadModel(Path file) {
    byte[] head = head(file);
    if (SafeTensors.looksLike(head)) {
      return JrnnModel.load(file);
    }
    List<String> known = new ArrayList<>(List.of(JrnnModel.FORMAT));
    for (ModelFormat f : ServiceLoader.load(ModelFormat.class, getClass().getClassLoader())) {
      if (f.recognizes(file, head)) {
        return f.load(file);
      }
      known.add(f.name());
    }
    throw new ModelFormatException(
        file
            + ": not a model in a format jrnn can read here ("
            + String.join(", ", known)
            + (known.size() == 1 ? "; ONNX needs jrnn-onnx on the class path" : "")
            + ")");
  }

  private static byte[] head(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      return in.readNBytes(HEAD);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }

  @Override
  public Model loadModel(Path stateDict, Path description) {
    return TorchDescription.load(stateDict, description);
  }

  @Override
  public void saveModel(Path file, Model model) {
    JrnnModel.save(file, model.graph(), model.weights());
  }
}
