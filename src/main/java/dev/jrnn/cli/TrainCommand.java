package dev.jrnn.cli;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Loss;
import dev.jrnn.Model;
import dev.jrnn.Optimizer;
import dev.jrnn.Tensor;
import dev.jrnn.Trainer;
import dev.jrnn.Training;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import dev.jrnn.io.JrnnModel;
import dev.jrnn.io.Npy;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.IrValue;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import java.io.PrintWriter;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code jrnn train}: trains any model jrnn can load on arrays in {@code .npy} files, in batches
 * along the inputs' batch axis, and writes the trained model.
 *
 * <p>Named subcommands ({@code jrnn train classify ...}) are {@code @Command} classes listed in
 * {@code subcommands = {...}} below. An argument equal to a subcommand's name starts that
 * subcommand (unless an option takes it as its value); any other is MODEL, so {@code jrnn train
 * MODEL ...} keeps working (a model file named like a subcommand is given as {@code ./classify}).
 * train's body does not run when a subcommand does, and options before the subcommand's name are
 * train's, so the name goes right after {@code train}. MODEL and the required options are checked
 * in {@link #call}, not declared required: picocli would demand them of {@code train classify} too.
 * MainTest checks this dispatch with a test-only subcommand.
 */
@Command(
    name = "train",
    customSynopsis = {
      "jrnn train MODEL --input NAME=FILE.npy [--input ...] --target FILE.npy",
      "                  --loss LOSS --output TRAINED.jrnn [options]",
      "jrnn train classify|chars|series [options]"
    },
    subcommands = {
      TrainTaskCommands.Classify.class,
      TrainTaskCommands.Chars.class,
      TrainTaskCommands.Series.class
    },
    description = {
      "Train a model on .npy arrays, or a task: classify, chars, series.",
      "",
      "jrnn train classify|chars|series trains one of the three tasks on its default data or"
          + " yours ('jrnn train chars --help').",
      "",
      "Trains MODEL (an .onnx file with its weights as initializers, a jrnn model, or a PyTorch"
          + " state_dict in safetensors with --description). Every input and the target are split"
          + " into batches of --batch rows along their batch axis: the axis of a dynamic dimension"
          + " named N or batch, else the recurrent layer's batch axis, else axis 0; --batch-axis"
          + " NAME=AXIS (NAME an input or 'target') says it instead. One line per epoch: the mean"
          + " loss and the time. With --no-shuffle the batches are taken in order, so a run can be"
          + " repeated exactly."
    })
final class TrainCommand implements Callable<Integer> {

  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "MODEL",
      description = "The model to train (required).")
  Path model;

  @Option(
      names = "--input",
      paramLabel = "NAME=FILE.npy",
      description = "An input from a NumPy .npy file; repeat for each.")
  List<String> inputs = new ArrayList<>();

  @Option(names = "--target", paramLabel = "FILE.npy", description = "The target (required).")
  Path targetFile;

  @Option(
      names = "--loss",
      paramLabel = "LOSS",
      description =
          "ce (softmax cross-entropy over logits, int class ids), bce (with logits), mse, mae or"
              + " huber (required).")
  String lossName;

  @Option(
      names = "--loss-output",
      paramLabel = "NAME",
      description = "The output the loss is on (default: the only output).")
  String lossOutput;

  @Option(
      names = "--lengths",
      paramLabel = "NAME",
      description =
          "An int32 [N] input of sequence lengths: per-timestep loss counts only steps within"
              + " each row's length.")
  String lengths;

  @Option(
      names = "--optimizer",
      paramLabel = "OPT",
      description = "sgd, adam, adamw or rmsprop (default: ${DEFAULT-VALUE}).")
  String optimizer = "adam";

  @Option(
      names = "--lr",
      paramLabel = "X",
      description = "The learning rate (default: ${DEFAULT-VALUE}).")
  double lr = 1e-3;

  @Option(
      names = "--momentum",
      paramLabel = "M",
      description = "Momentum (sgd, rmsprop; default: the optimizer's).")
  Double momentum;

  @Option(
      names = "--weight-decay",
      paramLabel = "W",
      description = "Weight decay (default: the optimizer's).")
  Double weightDecay;

  @Option(
      names = "--clip-norm",
      paramLabel = "C",
      description = "Clip the gradients to this global norm.")
  Double clipNorm;

  @Option(
      names = "--clip-value",
      paramLabel = "V",
      description = "Clip each gradient element to [-V, V].")
  Double clipValue;

  @Option(
      names = "--batch",
      paramLabel = "N",
      converter = AtLeast.One.class,
      description = "Rows per step (default: ${DEFAULT-VALUE}).")
  int batch = 32;

  @Option(
      names = "--epochs",
      paramLabel = "E",
      converter = AtLeast.One.class,
      description = "Passes over the data (default: ${DEFAULT-VALUE}).")
  int epochs = 1;

  @Option(names = "--no-shuffle", description = "Take the batches in order.")
  boolean noShuffle;

  @Option(
      names = "--seed",
      paramLabel = "S",
      description = "Seeds the shuffle, dropout and --init (default: ${DEFAULT-VALUE}).")
  long seed;

  @Mixin EngineFlags engine;

  @Option(
      names = "--init",
      paramLabel = "pytorch|keras",
      description =
          "Start from fresh weights drawn by this scheme (with --seed) instead of the model's"
              + " own.")
  String init;

  @Option(
      names = "--batch-axis",
      paramLabel = "NAME=AXIS",
      description = "The batch axis of an input or of 'target'; repeat for each.")
  Map<String, Integer> axes = new LinkedHashMap<>();

  @Option(
      names = "--output",
      paramLabel = "TRAINED.jrnn",
      description = "The trained model to write (required).")
  Path output;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (model == null) {
      throw new UsageException("MODEL is required");
    }
    if (output == null || targetFile == null || lossName == null) {
      throw new UsageException("--output, --target and --loss are required");
    }
    Optimizer opt = Optimizer.byName(optimizer, lr);
    if (momentum != null) {
      opt = opt.momentum(momentum);
    }
    if (weightDecay != null) {
      opt = opt.weightDecay(weightDecay);
    }
    if (clipNorm != null) {
      opt = opt.clipNorm(clipNorm);
    }
    if (clipValue != null) {
      opt = opt.clipValue(clipValue);
    }
    try (Inputs in = Inputs.read(inputs);
        Tensor target = Npy.read(targetFile);
        LoadedModel m = LoadedModel.open(model, null, engine.description.path)) {
      if (!m.weightInputs().isEmpty()) {
        throw new IllegalArgumentException(
            "the model takes its weights "
                + m.weightInputs()
                + " as inputs; train needs them"
                + " as initializers");
      }
      Graph g = m.graph();
      String lossOut = lossOutput != null ? lossOutput : onlyOutput(g);
      Loss loss = Loss.byName(lossName, lossOut);
      Map<String, Tensor> data = in.forGraph(g);
      Map<String, Integer> axis = new LinkedHashMap<>();
      for (String name : data.keySet()) {
        axis.put(name, axes.containsKey(name) ? axes.get(name) : batchAxis(g, name));
      }
      int targetAxis = axes.getOrDefault("target", targetAxis(g, lossOut, target, loss));
      if (lengths != null) {
        loss = loss.lengths(lengths).batchFirst(targetAxis == 0 && target.rank() > 1);
      }
      Tensor tgt = loss.kind() == Loss.Kind.CROSS_ENTROPY ? target : asFloat(target);
      int rows = rows(data, axis, tgt, targetAxis);
      Training how = Training.of(loss, opt).seed(seed);
      try (Weights fresh = init == null ? null : Weights.random(g, init, seed);
          Trainer t = Trainer.open(g, fresh != null ? fresh : m.weights(), how, engine.options())) {
        out.printf(
            Locale.ROOT,
            "training %s on %d rows, batches of %d, %s, %s on %s%n",
            model.getFileName(),
            rows,
            batch,
            loss,
            opt,
            String.join(",", new java.util.TreeSet<>(t.placement().values())));
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] order = new int[rows];
        for (int e = 1; e <= epochs; e++) {
          for (int i = 0; i < rows; i++) {
            order[i] = i;
          }
          if (!noShuffle) {
            for (int i = rows - 1; i > 0; i--) {
              int j = rnd.nextInt(i + 1);
              int s = order[i];
              order[i] = order[j];
              order[j] = s;
            }
          }
          long start = System.nanoTime();
          double sum = 0;
          int batches = 0;
          for (int b = 0; b < rows; b += batch) {
            int[] pick = java.util.Arrays.copyOfRange(order, b, Math.min(rows, b + batch));
            Map<String, Tensor> x = new LinkedHashMap<>();
            try {
              data.forEach((k, v) -> x.put(k, take(v, axis.get(k), pick)));
              try (Tensor y = take(tgt, targetAxis, pick)) {
                sum += t.step(x, y);
                batches++;
              }
            } finally {
              x.values().forEach(Tensor::close);
            }
          }
          out.printf(
              Locale.ROOT,
              "epoch %d/%d  loss %.6f  %d steps  %.2f s%n",
              e,
              epochs,
              sum / batches,
              batches,
              (System.nanoTime() - start) / 1e9);
        }
        try (Model trained = t.model()) {
          JrnnModel.save(output, trained.graph(), trained.weights());
        }
        out.println("wrote " + output);
      } finally {
        if (tgt != target) {
          tgt.close();
        }
      }
    }
    return 0;
  }

  private static String onlyOutput(Graph g) {
    if (g.outputs().size() != 1) {
      throw new UsageException(
          "the model has outputs " + g.outputs().keySet() + ": say which with --loss-output");
    }
    return g.outputs().keySet().iterator().next();
  }

  private static boolean isBatchName(Dim d) {
    if (d.isFixed() || d.name() == null) {
      return false;
    }
    String n = d.name().toLowerCase(Locale.ROOT);
    return n.equals("n") || n.contains("batch");
  }

  /** The batch axis of input {@code name}: see the usage text. */
  static int batchAxis(Graph g, String name) {
    Value v = g.inputs().get(name);
    List<Dim> dims = v.dims();
    for (int i = 0; i < dims.size(); i++) {
      if (isBatchName(dims.get(i))) {
        return i;
      }
    }
    IrGraph ir = IrGraph.of(g);
    IrValue iv = ir.inputValues().get(name);
    for (Node n : ir.nodes()) {
      if (n.op() instanceof Op.RecurrentLayer r) {
        if (n.input(Op.RecurrentLayer.X) == iv) {
          return r.spec().isBatchFirst() ? 0 : 1;
        }
        for (int s = Op.RecurrentLayer.H0; s < n.inputCount(); s++) {
          if (n.input(s) == iv) {
            return 1;
          }
        }
      }
    }
    return 0;
  }

  /** The target's batch axis: where the loss output has its batch dimension. */
  private static int targetAxis(Graph g, String output, Tensor target, Loss loss) {
    List<Dim> dims = g.outputs().get(output).dims();
    for (int i = 0; i < dims.size() && i < target.rank(); i++) {
      if (isBatchName(dims.get(i))) {
        return i;
      }
    }
    IrGraph ir = IrGraph.of(g);
    IrValue v = ir.outputValues().get(output);
    if (target.rank() >= 2 && producedBySequence(v)) {
      return 1; // a time-major sequence output
    }
    return 0;
  }

  private static boolean producedBySequence(IrValue v) {
    Node n = v.node();
    if (n.op() instanceof Op.RecurrentLayer r) {
      return !r.spec().isBatchFirst();
    }
    for (int i = 0; i < n.inputCount(); i++) {
      IrValue in = n.input(i);
      if (in != null && in.type().rank() == v.type().rank() && !(n.op() instanceof Op.Input)) {
        return producedBySequence(in);
      }
    }
    return false;
  }

  private static int rows(
      Map<String, Tensor> data, Map<String, Integer> axis, Tensor target, int targetAxis) {
    int rows = dim(target, targetAxis, "the target");
    for (Map.Entry<String, Tensor> e : data.entrySet()) {
      int r = dim(e.getValue(), axis.get(e.getKey()), "input '" + e.getKey() + "'");
      if (r != rows) {
        throw new IllegalArgumentException(
            "input '"
                + e.getKey()
                + "' has "
                + r
                + " rows along axis "
                + axis.get(e.getKey())
                + " but the target has "
                + rows
                + " along axis "
                + targetAxis
                + " (set the axes with --batch-axis NAME=AXIS)");
      }
    }
    return rows;
  }

  private static int dim(Tensor t, int axis, String what) {
    if (axis < 0 || axis >= t.rank()) {
      throw new IllegalArgumentException(what + " " + t.describe() + " has no batch axis " + axis);
    }
    return t.dim(axis);
  }

  /** An int target as floats, for bce/mse/mae/huber. */
  private static Tensor asFloat(Tensor t) {
    if (t.dtype() == DType.F32) {
      return t;
    }
    Tensor f = Tensor.allocate(DType.F32, t.shape());
    for (long i = 0; i < t.size(); i++) {
      f.setFloat(i, t.getInt(i));
    }
    return f;
  }

  /** The rows {@code pick} of {@code t} along {@code axis}, as a new tensor. */
  static Tensor take(Tensor t, int axis, int[] pick) {
    int[] shape = t.shape().clone();
    int n = shape[axis];
    shape[axis] = pick.length;
    long inner = 4; // bytes: F32 and I32 alike
    for (int i = axis + 1; i < shape.length; i++) {
      inner *= shape[i];
    }
    long outer = 1;
    for (int i = 0; i < axis; i++) {
      outer *= shape[i];
    }
    Tensor r = Tensor.allocate(t.dtype(), shape);
    MemorySegment src = t.segment();
    MemorySegment dst = r.segment();
    for (long o = 0; o < outer; o++) {
      for (int k = 0; k < pick.length; k++) {
        MemorySegment.copy(
            src, (o * n + pick[k]) * inner, dst, (o * pick.length + k) * inner, inner);
      }
    }
    return r;
  }
}
