package dev.jrnn.exec;

import dev.jrnn.DType;
import dev.jrnn.Graph;
import dev.jrnn.Loss;
import dev.jrnn.Model;
import dev.jrnn.Options;
import dev.jrnn.Result;
import dev.jrnn.Tbptt;
import dev.jrnn.Tensor;
import dev.jrnn.Trainer;
import dev.jrnn.Training;
import dev.jrnn.Weights;
import dev.jrnn.io.JrnnModel;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.kernels.DropoutMask;
import dev.jrnn.kernels.OptimizerKernels;
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
  private final String lengthsName; // the loss's lengths input, or null
  private final String[] gradNames; // every weight, in the order backward gives them
  private final Tensor[][] gradTensors = new Tensor[2][]; // the two gradient sets, by gradNames
  private final List<Map<String, Tensor>> grads = new java.util.ArrayList<>(2); // the same, by name
  private int lastGrads = -1; // the set holding the last step's gradients (before clipping)
  private final Map<String, Tensor> upstream = new LinkedHashMap<>(); // the loss output's dy
  private final Tensor[] dys = new Tensor[TrainingProgram.PLANS]; // dy per output shape seen
  private int nextDy; // the slot of dys a new shape takes
  private double lastNorm = Double.NaN;
  private Map<String, Tensor> lastOut = Map.of(); // the last forward's outputs, until the next
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
    this.lengthsName = spec.lengthsInput().orElse(null);
    this.weights = Weights.empty();
    initial.metadata().forEach(weights::putMetadata);
    boolean ok = false;
    TrainingProgram p = null;
    try {
      for (String name : graph.weightShapes().keySet()) {
        Tensor t = initial.get(name).copy();
        weights.put(name, t);
        weightMap.put(name, t);
      }
      this.optimizer = new OptimizerState(training.optimizer());
      p = TrainingProgram.open(graph, weights, options);
      for (int i = 0; i < 2; i++) {
        grads.add(p.newWeightGradients());
        gradTensors[i] = grads.get(i).values().toArray(Tensor[]::new);
      }
      this.gradNames = grads.get(0).keySet().toArray(String[]::new);
      this.program = p;
      ok = true;
    } finally {
      if (!ok) {
        List<AutoCloseable> all = new java.util.ArrayList<>();
        all.add(weights);
        all.add(this::closeGradients);
        if (p != null) {
          all.add(p);
        }
        Closer.closeAll(all);
      }
    }
  }

  private void closeGradients() {
    for (Map<String, Tensor> g : grads) {
      g.values().forEach(Tensor::close);
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

  /**
   * {@link #backward} and {@link #update}. Once the input shapes have been seen, nothing here
   * allocates: the program reuses its tensors per shape, dy is kept per shape.
   */
  @Override
  public double step(Map<String, Tensor> inputs, Tensor target) {
    checkOpen();
    int into = spareGrads();
    double value = forwardBackward(inputs, target, into);
    update(into);
    return value;
  }

  @Override
  public double backward(Map<String, Tensor> inputs, Tensor target) {
    checkOpen();
    int into = spareGrads();
    double value = forwardBackward(inputs, target, into);
    lastGrads = into;
    return value;
  }

  @Override
  public void apply(Weights gradients) {
    checkOpen();
    Objects.requireNonNull(gradients, "gradients");
    for (String name : gradients.names()) {
      if (!weightMap.containsKey(name)) {
        throw new IllegalArgumentException(
            "gradient '"
                + name
                + "' is not a weight of the graph; weights: "
                + String.join(", ", weightMap.keySet()));
      }
    }
    int into = spareGrads();
    for (int k = 0; k < gradNames.length; k++) {
      Tensor mine = gradTensors[into][k];
      if (!gradients.contains(gradNames[k])) {
        throw new IllegalArgumentException(
            "no gradient for weight '"
                + gradNames[k]
                + "' "
                + Tensor.shapeString(mine.shape())
                + "; gradients given: "
                + (gradients.names().isEmpty() ? "none" : String.join(", ", gradients.names())));
      }
      Tensor given = gradients.get(gradNames[k]);
      if (given.dtype() != DType.F32 || !java.util.Arrays.equals(given.shape(), mine.shape())) {
        throw new IllegalArgumentException(
            "the gradient of weight '"
                + gradNames[k]
                + "' must be F32 "
                + Tensor.shapeString(mine.shape())
                + ", got "
                + given.describe());
      }
      mine.copyFrom(given);
    }
    checkFinite(optimizer.steps() + 1, gradTensors[into]);
    update(into);
  }

  /**
   * The gradient set the last step did not fill, so a failed step leaves its gradients readable.
   */
  private int spareGrads() {
    return lastGrads == 0 ? 1 : 0;
  }

  /**
   * Forward in training mode with the next step's seed, the loss, backward into gradient set {@code
   * into}; throws, naming the step, on a loss or gradient that is not finite. Returns the loss.
   */
  private double forwardBackward(Map<String, Tensor> inputs, Tensor target, int into) {
    long n = optimizer.steps() + 1;
    Map<String, Tensor> out = program.forward(inputs, seedOf(n));
    lastOut = out;
    Tensor y = out.get(training.loss().output());
    Tensor dy = dyFor(y);
    double value = loss.compute(y, target, lengths(inputs), dy);
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
    upstream.put(training.loss().output(), dy);
    program.backward(upstream, grads.get(into));
    checkFinite(n, gradTensors[into]);
    return value;
  }

  /** Clipping and the optimizer's update with gradient set {@code into}; the step is counted. */
  private void update(int into) {
    lastNorm = optimizer.step(weightMap, grads.get(into));
    program.updateWeights(weights);
    lastGrads = into;
  }

  /** A zeroed-by-the-loss F32 tensor of y's shape, made once per shape. */
  private Tensor dyFor(Tensor y) {
    for (Tensor t : dys) {
      if (t != null && t.rank() == y.rank()) {
        boolean same = true;
        for (int i = 0; i < y.rank(); i++) {
          same &= t.dim(i) == y.dim(i);
        }
        if (same) {
          return t;
        }
      }
    }
    if (dys[nextDy] != null) {
      dys[nextDy].close();
    }
    Tensor t = Tensor.allocate(DType.F32, y.shape());
    dys[nextDy] = t;
    nextDy = (nextDy + 1) % dys.length;
    return t;
  }

  @Override
  public double[] stepTruncated(Map<String, Tensor> inputs, Tensor target, Tbptt how) {
    checkOpen();
    Objects.requireNonNull(how, "how");
    if (how.sequences().isEmpty()) {
      throw new IllegalArgumentException(
          "name the inputs to cut along time with Tbptt.sequences(...)");
    }
    int ax = how.timeAxis();
    int steps = -1;
    for (String s : how.sequences()) {
      Tensor t = inputs.get(s);
      if (t == null) {
        throw new IllegalArgumentException("sequence input '" + s + "' is not given");
      }
      if (t.rank() <= ax || (steps >= 0 && t.dim(ax) != steps)) {
        throw new IllegalArgumentException(
            "sequence input '"
                + s
                + "' "
                + t.describe()
                + " has no time axis "
                + ax
                + (steps >= 0 ? " of " + steps + " steps" : ""));
      }
      steps = t.dim(ax);
    }
    if (target.rank() <= ax || target.dim(ax) != steps) {
      throw new IllegalArgumentException(
          "truncated BPTT needs a per-step target with "
              + steps
              + " steps on axis "
              + ax
              + ", got "
              + target.describe());
    }
    for (Map.Entry<String, String> e : how.state().entrySet()) {
      if (inputs.get(e.getKey()) == null) {
        throw new IllegalArgumentException(
            "state input '" + e.getKey() + "' must be given (zeros to start a sequence)");
      }
      if (!graph.outputValues().containsKey(e.getValue())) {
        throw new IllegalArgumentException(
            "state output '"
                + e.getValue()
                + "' is not a graph output; outputs: "
                + String.join(", ", graph.outputValues().keySet()));
      }
    }
    double[] losses = new double[(steps + how.k1() - 1) / how.k1()];
    for (int s = 0, k = 0; s < steps; s += how.k1(), k++) {
      int end = Math.min(steps, s + how.k1());
      int trained = Math.max(s, end - how.k2());
      List<Tensor> owned = new java.util.ArrayList<>();
      try {
        if (trained > s) {
          carry(how, program.evaluate(chunk(inputs, how, s, trained, owned)), inputs);
        }
        losses[k] =
            step(chunk(inputs, how, trained, end, owned), cut(target, ax, trained, end, owned));
        carry(how, lastOut, inputs);
      } finally {
        owned.forEach(Tensor::close);
      }
    }
    return losses;
  }

  /** The inputs with the sequences cut to steps {@code [from, to)}. */
  private static Map<String, Tensor> chunk(
      Map<String, Tensor> inputs, Tbptt how, int from, int to, List<Tensor> owned) {
    Map<String, Tensor> m = new LinkedHashMap<>(inputs);
    for (String s : how.sequences()) {
      m.put(s, cut(inputs.get(s), how.timeAxis(), from, to, owned));
    }
    return m;
  }

  /** Steps {@code [from, to)} along {@code axis} (0: a view; 1: a copy added to owned). */
  private static Tensor cut(Tensor t, int axis, int from, int to, List<Tensor> owned) {
    if (axis == 0) {
      return t.slice(from, to);
    }
    int[] shape = t.shape();
    int steps = shape[1];
    shape[1] = to - from;
    Tensor c = Tensor.allocate(t.dtype(), shape);
    owned.add(c);
    long inner = t.byteSize() / Math.max(1, (long) shape[0] * steps);
    for (int n = 0; n < shape[0]; n++) {
      java.lang.foreign.MemorySegment.copy(
          t.segment(),
          (n * (long) steps + from) * inner,
          c.segment(),
          n * (long) (to - from) * inner,
          (to - from) * inner);
    }
    return c;
  }

  /** Copies each state output of {@code out} into its state input. */
  private static void carry(Tbptt how, Map<String, Tensor> out, Map<String, Tensor> inputs) {
    how.state().forEach((in, o) -> inputs.get(in).copyFrom(out.get(o)));
  }

  /**
   * Throws naming the first non-finite gradient element. One vectorised sum of squares per weight
   * decides; only a sum that is not finite (a NaN or infinity, or squares beyond float's range) is
   * searched element by element.
   */
  private void checkFinite(long step, Tensor[] g) {
    for (int k = 0; k < g.length; k++) {
      Tensor t = g[k];
      if (Double.isFinite(
          OptimizerKernels.sumSquares(t.segment(), t.size(), Float.POSITIVE_INFINITY))) {
        continue;
      }
      for (long i = 0; i < t.size(); i++) {
        float v = t.getFloat(i);
        if (!Float.isFinite(v)) {
          throw new IllegalStateException(
              "step "
                  + step
                  + ": the gradient of weight '"
                  + gradNames[k]
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
    return DropoutMask.mix(training.seed() + n * 0x9E3779B97F4A7C15L);
  }

  private Tensor lengths(Map<String, Tensor> inputs) {
    return lengthsName == null ? null : inputs.get(lengthsName);
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
    if (lastGrads >= 0) {
      grads.get(lastGrads).forEach((k, v) -> w.put(k, v.copy()));
    }
    return w;
  }

  @Override
  public Weights weights() {
    checkOpen();
    Weights w = Weights.empty();
    weightMap.forEach((k, v) -> w.put(k, v.copy()));
    weights.metadata().forEach(w::putMetadata);
    return w;
  }

  @Override
  public Map<String, String> metadata() {
    checkOpen();
    return weights.metadata();
  }

  @Override
  public void putMetadata(String key, String value) {
    checkOpen();
    weights.putMetadata(key, value);
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
              this::closeGradients,
              () -> {
                for (Tensor t : dys) {
                  if (t != null) {
                    t.close();
                  }
                }
              }));
    }
  }
}
