package dev.jrnn.exec;

import dev.jrnn.DType;
import dev.jrnn.Graph;
import dev.jrnn.Loss;
import dev.jrnn.Model;
import dev.jrnn.Options;
import dev.jrnn.Result;
import dev.jrnn.Tensor;
import dev.jrnn.Trainer;
import dev.jrnn.Training;
import dev.jrnn.Weights;
import dev.jrnn.io.JrnnModel;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.train.LossFunction;
import dev.jrnn.train.OptimizerState;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The {@link Trainer}: a {@link TrainingProgram} for forward and backward, a {@link LossFunction}
 * on the loss's output, an {@link OptimizerState} that updates the trainer's own copy of the
 * weights, which then go back into the program.
 */
final class LocalTrainer implements Trainer {

  /** Checkpoint tensors holding the optimizer's state are named with this prefix. */
  static final String STATE_PREFIX = "optimizer.";

  private final IrGraph graph;
  private final Training training;
  private final TrainingProgram program;
  private final LossFunction loss;
  private final OptimizerState optimizer;
  private final Weights weights; // owned: the values being trained
  private final Map<String, Tensor> weightMap = new LinkedHashMap<>();
  private TrainingProgram.Gradients last; // the last step's gradients (before clipping)
  private double lastNorm = Double.NaN;
  private boolean closed;

  private LocalTrainer(IrGraph graph, Weights initial, Training training, Options options) {
    this.graph = graph;
    this.training = training;
    Loss spec = training.loss();
    if (!graph.outputValues().containsKey(spec.output())) {
      throw new IllegalArgumentException(
          "the loss is on output '"
              + spec.output()
              + "', which the graph does not have; outputs: "
              + String.join(", ", graph.outputValues().keySet()));
    }
    spec.lengthsInput()
        .ifPresent(
            l -> {
              if (!graph.inputValues().containsKey(l)) {
                throw new IllegalArgumentException(
                    "the loss reads lengths from input '"
                        + l
                        + "', which the graph does not have; inputs: "
                        + String.join(", ", graph.inputValues().keySet()));
              }
            });
    initial.checkAgainst(graph);
    this.loss = LossFunction.of(spec);
    this.weights = Weights.empty();
    boolean ok = false;
    try {
      for (String name : graph.weightShapes().keySet()) {
        Tensor t = initial.get(name).copy();
        weights.put(name, t);
        weightMap.put(name, t);
      }
      this.optimizer = new OptimizerState(training.optimizer());
      this.program = TrainingProgram.open(graph, weights, options);
      ok = true;
    } finally {
      if (!ok) {
        weights.close();
      }
    }
  }

  static Trainer open(Graph graph, Weights weights, Training training, Options options) {
    Objects.requireNonNull(weights, "weights");
    Objects.requireNonNull(training, "training");
    Objects.requireNonNull(options, "options");
    return new LocalTrainer(IrGraph.of(graph), weights, training, options);
  }

  static Trainer resume(Path checkpoint, Training training, Options options) {
    Objects.requireNonNull(training, "training");
    try (Model m = JrnnModel.load(checkpoint)) {
      Map<String, Tensor> state = new LinkedHashMap<>();
      for (String n : m.weights().names()) {
        if (n.startsWith(STATE_PREFIX)) {
          state.put(n.substring(STATE_PREFIX.length()), m.weights().get(n));
        }
      }
      if (state.isEmpty()) {
        throw new IllegalArgumentException(
            checkpoint + " is a model without optimizer state; open a new trainer on it instead");
      }
      LocalTrainer t = new LocalTrainer(IrGraph.of(m.graph()), m.weights(), training, options);
      try {
        t.optimizer.restore(state);
      } catch (RuntimeException e) {
        t.close();
        throw new IllegalArgumentException(
            checkpoint
                + ": the optimizer state does not fit "
                + training.optimizer()
                + ": "
                + e.getMessage(),
            e);
      }
      return t;
    }
  }

  @Override
  public double step(Map<String, Tensor> inputs, Tensor target) {
    checkOpen();
    long n = optimizer.steps() + 1;
    Map<String, Tensor> out = program.forward(inputs, seedOf(n));
    Tensor y = out.get(training.loss().output());
    TrainingProgram.Gradients g;
    double value;
    try (Tensor dy = Tensor.allocate(DType.F32, y.shape())) {
      value = loss.compute(y, target, lengths(inputs), dy);
      if (!Double.isFinite(value)) {
        throw new IllegalStateException(
            "step "
                + n
                + ": the loss on output '"
                + training.loss().output()
                + "' is "
                + value
                + "; the weights are unchanged (lower the learning rate, clip gradients, check the"
                + " data)");
      }
      g = program.backward(Map.of(training.loss().output(), dy));
    }
    try {
      checkFinite(n, g);
      lastNorm = optimizer.step(weightMap, g.weights());
      program.updateWeights(weights);
    } catch (RuntimeException | Error e) {
      g.close();
      throw e;
    }
    if (last != null) {
      last.close();
    }
    last = g;
    return value;
  }

  private static void checkFinite(long step, TrainingProgram.Gradients g) {
    for (Map.Entry<String, Tensor> e : g.weights().entrySet()) {
      Tensor t = e.getValue();
      for (long i = 0; i < t.size(); i++) {
        float v = t.getFloat(i);
        if (!Float.isFinite(v)) {
          throw new IllegalStateException(
              "step "
                  + step
                  + ": the gradient of weight '"
                  + e.getKey()
                  + "' is "
                  + v
                  + " at element "
                  + i
                  + "; the weights are unchanged");
        }
      }
    }
  }

  /** The seed of step {@code n}'s random choices: SplitMix64 of the training seed and the step. */
  private long seedOf(long n) {
    long z = training.seed() + n * 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  private Tensor lengths(Map<String, Tensor> inputs) {
    return training.loss().lengthsInput().map(inputs::get).orElse(null);
  }

  @Override
  public double evaluate(Map<String, Tensor> inputs, Tensor target) {
    checkOpen();
    Tensor y = program.evaluate(inputs).get(training.loss().output());
    try (Tensor dy = Tensor.allocate(DType.F32, y.shape())) {
      return loss.compute(y, target, lengths(inputs), dy);
    }
  }

  @Override
  public Result run(Map<String, Tensor> inputs) {
    checkOpen();
    Map<String, Tensor> out = new LinkedHashMap<>();
    program.evaluate(inputs).forEach((k, v) -> out.put(k, v.copy()));
    return new LocalResult(out);
  }

  @Override
  public Weights gradients() {
    checkOpen();
    Weights w = Weights.empty();
    if (last != null) {
      last.weights().forEach((k, v) -> w.put(k, v.copy()));
    }
    return w;
  }

  @Override
  public Weights weights() {
    checkOpen();
    Weights w = Weights.empty();
    weightMap.forEach((k, v) -> w.put(k, v.copy()));
    return w;
  }

  @Override
  public Model model() {
    return new Model(graph, weights(), JrnnModel.FORMAT);
  }

  @Override
  public long steps() {
    return optimizer.steps();
  }

  @Override
  public double learningRate() {
    return optimizer.learningRate();
  }

  @Override
  public double gradientNorm() {
    return lastNorm;
  }

  @Override
  public Map<String, String> placement() {
    return program.placement();
  }

  @Override
  public void saveCheckpoint(Path file) {
    checkOpen();
    Map<String, Tensor> state = new LinkedHashMap<>();
    optimizer.export().forEach((k, v) -> state.put(STATE_PREFIX + k, v));
    try {
      JrnnModel.save(file, graph, weights, state);
    } finally {
      state.values().forEach(Tensor::close);
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("trainer is used after close");
    }
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      Closer.closeAll(
          List.of(
              program,
              optimizer,
              weights,
              () -> {
                if (last != null) {
                  last.close();
                }
              }));
    }
  }
}
