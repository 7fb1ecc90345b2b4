package dev.jrnn.bench;

import dev.jrnn.DType;
import dev.jrnn.Optimizer;
import dev.jrnn.Options;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.exec.TrainingProgram;
import dev.jrnn.train.OptimizerState;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One training step of a {@link Workload} on one backend, the way PyTorch's {@code
 * y.sum().backward()} is timed: the forward in training mode, then the backward of {@code dy = 1}
 * on y to every weight gradient and to x; optionally followed by an Adam update of the weights
 * (which then go back into the compiled nodes). FLOPs: 3× the forward's.
 */
public final class TrainStep implements AutoCloseable {

  private final TrainingProgram program;
  private final Weights weights;
  private final Map<String, Tensor> weightMap = new LinkedHashMap<>();
  private final Map<String, Tensor> inputs;
  private final Map<String, Tensor> upstream;
  private final OptimizerState adam;
  private final Tensor dy;
  private float probe;

  /**
   * Compiles {@code w} for training on {@code backend} with {@code threads}; x is read, not kept.
   */
  public TrainStep(Workload w, String backend, int threads, Weights initial, Tensor x) {
    this.weights = Weights.empty();
    for (String n : initial.names()) {
      Tensor t = initial.get(n).copy();
      weights.put(n, t);
      weightMap.put(n, t);
    }
    this.program =
        TrainingProgram.open(w.graph(), weights, Options.backend(backend).threads(threads));
    String placed = program.placement().get("rnn");
    if (!backend.equals(placed)) {
      program.close();
      weights.close();
      throw new IllegalArgumentException(
          backend + " cannot train " + w.describe() + " (it would run on " + placed + ")");
    }
    this.inputs = Map.of("x", x);
    this.dy = Tensor.allocate(DType.F32, w.steps(), w.batch(), w.spec().outputSize());
    for (long i = 0; i < dy.size(); i++) {
      dy.setFloat(i, 1f);
    }
    this.upstream = Map.of("y", dy);
    this.adam = new OptimizerState(Optimizer.adam(1e-4));
  }

  /** FLOPs of one step: 3 × the forward's {@code 2·T·N·G·H·(I+H)} per layer and direction. */
  public static double flops(Workload w) {
    return 3.0 * w.flops();
  }

  /**
   * Heap bytes the first step allocates on the calling thread and the pool's workers: the training
   * workspace (what the forward keeps for backward and the backward's scratch), sized once and
   * reused, since a warm step allocates nothing. Native memory (onednn's) is not counted. Call it
   * before any other step of this instance, and after the kernels are compiled (another instance
   * warmed up): cold vector code boxes its temporaries, 3 GB in W6's first step.
   */
  public long firstStepBytes() {
    var mx =
        (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long before = 0;
    long[] ids = threadIds();
    for (long id : ids) {
      before += Math.max(0, mx.getThreadAllocatedBytes(id));
    }
    step();
    long after = 0;
    for (long id : threadIds()) {
      after += Math.max(0, mx.getThreadAllocatedBytes(id));
    }
    return after - before;
  }

  private static long[] threadIds() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t == Thread.currentThread() || t.getName().startsWith("jrnn-worker-"))
        .mapToLong(Thread::threadId)
        .toArray();
  }

  /** Forward and backward. */
  public void step() {
    program.forward(inputs);
    try (TrainingProgram.Gradients g = program.backward(upstream)) {
      probe += g.weights().get("rnn.l0.fwd.W").getFloat(0);
    }
  }

  /** Forward, backward and an Adam update. */
  public void stepAndUpdate() {
    program.forward(inputs);
    try (TrainingProgram.Gradients g = program.backward(upstream)) {
      adam.step(weightMap, g.weights());
      program.updateWeights(weights);
    }
  }

  /** The gradient of every weight from one more step, for comparing backends. */
  public Map<String, float[]> gradients() {
    program.forward(inputs);
    Map<String, float[]> m = new LinkedHashMap<>();
    try (TrainingProgram.Gradients g = program.backward(upstream)) {
      g.weights().forEach((k, v) -> m.put(k, v.toFloatArray()));
    }
    return m;
  }

  @Override
  public void close() {
    program.close();
    adam.close();
    weights.close();
    dy.close();
  }

  /** A value from the last gradients, so the work cannot be optimised away. */
  public float probe() {
    return probe;
  }
}
