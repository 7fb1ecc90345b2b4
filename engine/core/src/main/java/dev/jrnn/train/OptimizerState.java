package dev.jrnn.train;

import dev.jrnn.DType;
import dev.jrnn.Optimizer;
import dev.jrnn.Tensor;
import dev.jrnn.kernels.OptimizerKernels;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * An {@link Optimizer} at work: the per-weight buffers (momentum, moments) and the step count, and
 * the update that uses them. Buffers are made the first time a weight is seen, named as in
 * PyTorch's optimizer state: SGD {@code momentum_buffer}; Adam and AdamW {@code exp_avg}, {@code
 * exp_avg_sq} and the weight's own {@code step}; RMSprop {@code square_avg}, {@code
 * momentum_buffer} (with momentum), {@code grad_avg} (centered).
 *
 * <p>One update is one fused pass per weight over {@link OptimizerKernels}, after one read of every
 * gradient for the global norm; once each weight has its buffers, {@link #step} allocates nothing.
 * Not thread-safe: one trainer owns it. Holds native memory: {@link #close()} frees it.
 */
public final class OptimizerState implements AutoCloseable {

  /** The name of the step counter in {@link #export()}. */
  public static final String STEP = "step";

  /** clip_grad_norm_'s guard against a zero norm. */
  private static final double NORM_EPS = 1e-6;

  /** One weight's buffers. */
  private static final class Slot {
    final String name;
    final int[] shape;
    final long size;
    final Tensor a; // momentum_buffer (SGD), exp_avg, square_avg
    final Tensor b; // exp_avg_sq, grad_avg (RMSprop, centered)
    final Tensor c; // momentum_buffer (RMSprop)
    long steps; // updates of this weight: Adam's bias correction, SGD's first momentum step
    Tensor weight; // the tensors of the last step, looked up again each step
    Tensor grad;

    Slot(String name, int[] shape, Tensor a, Tensor b, Tensor c, long steps) {
      this.name = name;
      this.shape = shape;
      this.size = Tensor.elementCount(shape);
      this.a = a;
      this.b = b;
      this.c = c;
      this.steps = steps;
    }

    void close() {
      for (Tensor t : new Tensor[] {a, b, c}) {
        if (t != null) {
          t.close();
        }
      }
    }
  }

  private final Optimizer spec;
  private final Map<String, Slot> slots = new HashMap<>();
  private Slot[] order = new Slot[0]; // the slots of the last step, in its map's order
  private long steps;
  private boolean closed;

  /**
   * State for {@code spec}, with no buffers yet.
   *
   * @throws IllegalArgumentException if the spec asks for Nesterov momentum without a momentum or
   *     with dampening (as PyTorch refuses it)
   */
  public OptimizerState(Optimizer spec) {
    if (spec == null) {
      throw new IllegalArgumentException("optimizer spec must not be null");
    }
    if (spec.isNesterov() && (spec.momentum() <= 0 || spec.dampening() != 0)) {
      throw new IllegalArgumentException(
          "Nesterov momentum needs a momentum > 0 and zero dampening, got momentum "
              + spec.momentum()
              + " and dampening "
              + spec.dampening());
    }
    this.spec = spec;
  }

  /** The optimizer this state belongs to. */
  public Optimizer spec() {
    return spec;
  }

  /** Updates taken so far. */
  public long steps() {
    return steps;
  }

  /** The learning rate of the next update: the base rate times the schedule's factor. */
  public double learningRate() {
    return spec.learningRate() * spec.schedule().factor(steps);
  }

  /**
   * One update in place: every {@code weights[name]} moves using {@code grads[name]}. The gradients
   * are clipped (element-wise, then by their global norm) as the spec says; the caller's gradient
   * tensors are read, not changed. Weight decay, the schedule's factor for this step and the rule
   * follow, as in {@link Optimizer}.
   *
   * @param weights F32 weights by name, updated in place
   * @param grads F32 gradients with the same names and shapes
   * @return the global L2 norm of all gradients before clipping (NaN or infinite when a gradient
   *     is; the update still runs, as in PyTorch, and the caller decides what to do)
   * @throws IllegalArgumentException when the names, types or shapes do not match, listing them
   */
  public double step(Map<String, Tensor> weights, Map<String, Tensor> grads) {
    checkOpen();
    if (!sameSlots(weights, grads)) {
      bind(weights, grads);
    }
    Slot[] s = order;
    float clip = (float) spec.clipValue();
    double sumSq = 0;
    double clippedSq = 0;
    for (Slot slot : s) {
      MemorySegment g = slot.grad.segment();
      sumSq += OptimizerKernels.sumSquares(g, slot.size, Float.POSITIVE_INFINITY);
      if (spec.clipsValue()) {
        clippedSq += OptimizerKernels.sumSquares(g, slot.size, clip);
      }
    }
    double norm = Math.sqrt(sumSq);
    float scale = 1;
    if (spec.clipsNorm()) {
      double clippedNorm = spec.clipsValue() ? Math.sqrt(clippedSq) : norm;
      scale = (float) Math.min(1, spec.clipNorm() / (clippedNorm + NORM_EPS));
    }
    double lr = learningRate();
    for (Slot slot : s) {
      update(slot, clip, scale, lr);
    }
    steps++;
    return norm;
  }

  private void update(Slot s, float clip, float scale, double lr) {
    MemorySegment w = s.weight.segment();
    MemorySegment g = s.grad.segment();
    long t = ++s.steps;
    switch (spec.kind()) {
      case SGD ->
          OptimizerKernels.sgd(
              w,
              g,
              s.a == null ? null : s.a.segment(),
              s.size,
              clip,
              scale,
              (float) spec.weightDecay(),
              (float) lr,
              (float) spec.momentum(),
              spec.dampening(),
              spec.isNesterov(),
              t == 1);
      case ADAM, ADAMW -> {
        boolean decoupled = spec.kind() == Optimizer.Kind.ADAMW;
        double bc1 = 1 - Math.pow(spec.beta1(), t);
        double bc2 = 1 - Math.pow(spec.beta2(), t);
        OptimizerKernels.adam(
            w,
            g,
            s.a.segment(),
            s.b.segment(),
            s.size,
            clip,
            scale,
            decoupled ? 0 : (float) spec.weightDecay(),
            decoupled ? (float) (1 - lr * spec.weightDecay()) : 1,
            spec.beta1(),
            spec.beta2(),
            (float) (lr / bc1),
            (float) Math.sqrt(bc2),
            (float) spec.eps());
      }
      case RMSPROP ->
          OptimizerKernels.rmsprop(
              w,
              g,
              s.a.segment(),
              s.b == null ? null : s.b.segment(),
              s.c == null ? null : s.c.segment(),
              s.size,
              clip,
              scale,
              (float) spec.weightDecay(),
              (float) lr,
              spec.alpha(),
              (float) spec.eps(),
              (float) spec.momentum(),
              spec.isCentered());
    }
  }

  /** Whether the maps hold exactly the weights of the last step, with the same shapes. */
  private boolean sameSlots(Map<String, Tensor> weights, Map<String, Tensor> grads) {
    if (weights == null
        || grads == null
        || weights.size() != order.length
        || grads.size() != order.length) {
      return false;
    }
    for (Slot s : order) {
      Tensor w = weights.get(s.name);
      Tensor g = grads.get(s.name);
      if (w == null || g == null || !fits(w, s.shape) || !fits(g, s.shape)) {
        return false;
      }
      s.weight = w;
      s.grad = g;
    }
    return true;
  }

  private static boolean fits(Tensor t, int[] shape) {
    if (t.dtype() != DType.F32 || t.rank() != shape.length) {
      return false;
    }
    for (int i = 0; i < shape.length; i++) {
      if (t.dim(i) != shape[i]) {
        return false;
      }
    }
    return true;
  }

  /** Checks the maps and finds or makes each weight's slot; the slow path of a changed set. */
  private void bind(Map<String, Tensor> weights, Map<String, Tensor> grads) {
    if (weights == null || grads == null) {
      throw new IllegalArgumentException("step needs weights and gradients, got null");
    }
    if (!weights.keySet().equals(grads.keySet())) {
      List<String> noGrad = new ArrayList<>();
      for (String k : new TreeMap<>(weights).keySet()) {
        if (!grads.containsKey(k)) {
          noGrad.add(k);
        }
      }
      List<String> noWeight = new ArrayList<>();
      for (String k : new TreeMap<>(grads).keySet()) {
        if (!weights.containsKey(k)) {
          noWeight.add(k);
        }
      }
      throw new IllegalArgumentException(
          "weights and gradients must have the same names; "
              + (noGrad.isEmpty() ? "" : "no gradient for " + noGrad)
              + (noGrad.isEmpty() || noWeight.isEmpty() ? "" : ", ")
              + (noWeight.isEmpty() ? "" : "no weight for gradient " + noWeight));
    }
    List<Slot> list = new ArrayList<>();
    for (Map.Entry<String, Tensor> e : weights.entrySet()) {
      String name = e.getKey();
      Tensor w = e.getValue();
      Tensor g = grads.get(name);
      if (w == null || g == null) {
        throw new IllegalArgumentException("weight or gradient '" + name + "' is null");
      }
      if (w.dtype() != DType.F32) {
        throw new IllegalArgumentException(
            "weight '" + name + "' must be F32, got " + w.describe());
      }
      if (g.dtype() != DType.F32 || !fits(g, w.shape())) {
        throw new IllegalArgumentException(
            "gradient of '"
                + name
                + "' must be F32 "
                + Tensor.shapeString(w.shape())
                + " like the weight, got "
                + g.describe());
      }
      Slot s = slots.get(name);
      if (s == null) {
        s = newSlot(name, w.shape());
        slots.put(name, s);
      } else if (!fits(w, s.shape)) {
        throw new IllegalArgumentException(
            "weight '"
                + name
                + "' is "
                + w.describe()
                + " but its optimizer state is for "
                + Tensor.shapeString(s.shape));
      }
      s.weight = w;
      s.grad = g;
      list.add(s);
    }
    order = list.toArray(new Slot[0]);
  }

  private Slot newSlot(String name, int[] shape) {
    return switch (spec.kind()) {
      case SGD ->
          new Slot(
              name,
              shape,
              spec.momentum() != 0 ? Tensor.allocate(DType.F32, shape) : null,
              null,
              null,
              0);
      case ADAM, ADAMW ->
          new Slot(
              name,
              shape,
              Tensor.allocate(DType.F32, shape),
              Tensor.allocate(DType.F32, shape),
              null,
              0);
      case RMSPROP ->
          new Slot(
              name,
              shape,
              Tensor.allocate(DType.F32, shape),
              spec.isCentered() ? Tensor.allocate(DType.F32, shape) : null,
              spec.momentum() != 0 ? Tensor.allocate(DType.F32, shape) : null,
              0);
    };
  }

  /** The buffer names this optimizer keeps per weight, in export order. */
  private List<String> bufferNames() {
    return switch (spec.kind()) {
      case SGD -> spec.momentum() != 0 ? List.of("momentum_buffer") : List.of();
      case ADAM, ADAMW -> List.of("exp_avg", "exp_avg_sq", "step");
      case RMSPROP -> {
        List<String> n = new ArrayList<>(List.of("square_avg"));
        if (spec.isCentered()) {
          n.add("grad_avg");
        }
        if (spec.momentum() != 0) {
          n.add("momentum_buffer");
        }
        yield n;
      }
    };
  }

  private Tensor buffer(Slot s, String buffer) {
    return switch (buffer) {
      case "exp_avg", "square_avg" -> s.a;
      case "exp_avg_sq", "grad_avg" -> s.b;
      case "momentum_buffer" -> spec.kind() == Optimizer.Kind.SGD ? s.a : s.c;
      default -> throw new IllegalStateException(buffer);
    };
  }

  /**
   * Everything needed to resume exactly, as new tensors the caller owns (and closes): {@value
   * #STEP} (I32 {@code [1]}, the updates taken), and per weight {@code "<weight>.<buffer>"}, F32 of
   * the weight's shape, or I32 {@code [1]} for a weight's own {@code step}. An SGD momentum buffer
   * appears once the weight has been updated, as in PyTorch.
   */
  public Map<String, Tensor> export() {
    checkOpen();
    Map<String, Tensor> out = new LinkedHashMap<>();
    out.put(STEP, Tensor.of(new int[] {count(steps, STEP)}, 1));
    for (Slot s : new TreeMap<>(slots).values()) {
      for (String b : bufferNames()) {
        if (b.equals("step")) {
          out.put(s.name + ".step", Tensor.of(new int[] {count(s.steps, s.name + ".step")}, 1));
        } else if (spec.kind() != Optimizer.Kind.SGD || s.steps > 0) {
          out.put(s.name + "." + b, buffer(s, b).copy());
        }
      }
    }
    return out;
  }

  private static int count(long n, String what) {
    if (n > Integer.MAX_VALUE) {
      throw new IllegalStateException(what + " = " + n + " does not fit the I32 it is saved as");
    }
    return (int) n;
  }

  /**
   * Replaces all state with a copy of what {@link #export()} gave (of an optimizer of the same kind
   * and options); the caller keeps ownership of {@code state}. The buffers' shapes are checked
   * against the weights at the next step.
   *
   * @throws IllegalArgumentException naming the entry: a missing step counter, a name that is not
   *     {@code <weight>.<buffer>} with a buffer this optimizer keeps, a missing buffer, or a type
   *     or shape that does not fit; the state is unchanged then
   */
  public void restore(Map<String, Tensor> state) {
    checkOpen();
    if (state == null) {
      throw new IllegalArgumentException("state to restore must not be null");
    }
    List<String> buffers = bufferNames();
    String kept =
        spec.kind().name().toLowerCase(java.util.Locale.ROOT)
            + " keeps "
            + (buffers.isEmpty() ? "no buffer" : String.join(", ", buffers))
            + " per weight, and '"
            + STEP
            + "'";
    Tensor stepT = state.get(STEP);
    if (stepT == null) {
      throw new IllegalArgumentException("optimizer state has no '" + STEP + "' entry; " + kept);
    }
    long restoredSteps = counter(stepT, STEP);
    // group by weight: the buffer name is after the last dot
    Map<String, Map<String, Tensor>> byWeight = new TreeMap<>();
    for (Map.Entry<String, Tensor> e : new TreeMap<>(state).entrySet()) {
      String key = e.getKey();
      if (key.equals(STEP)) {
        continue;
      }
      int dot = key.lastIndexOf('.');
      String buffer = dot < 0 ? "" : key.substring(dot + 1);
      if (dot <= 0 || !buffers.contains(buffer)) {
        throw new IllegalArgumentException("unknown optimizer state entry '" + key + "': " + kept);
      }
      if (e.getValue() == null) {
        throw new IllegalArgumentException("optimizer state entry '" + key + "' is null");
      }
      byWeight
          .computeIfAbsent(key.substring(0, dot), k -> new LinkedHashMap<>())
          .put(buffer, e.getValue());
    }
    Map<String, Slot> restored = new HashMap<>();
    try {
      for (Map.Entry<String, Map<String, Tensor>> e : byWeight.entrySet()) {
        restored.put(e.getKey(), restoreSlot(e.getKey(), e.getValue(), buffers, restoredSteps));
      }
    } catch (RuntimeException ex) {
      restored.values().forEach(Slot::close);
      throw ex;
    }
    slots.values().forEach(Slot::close);
    slots.clear();
    slots.putAll(restored);
    order = new Slot[0];
    steps = restoredSteps;
  }

  private Slot restoreSlot(
      String weight, Map<String, Tensor> given, List<String> buffers, long globalSteps) {
    int[] shape = null;
    String shapeFrom = null;
    for (String b : buffers) {
      Tensor t = given.get(b);
      if (b.equals("step") || t == null) {
        continue;
      }
      if (t.dtype() != DType.F32) {
        throw new IllegalArgumentException(
            "optimizer state '" + weight + "." + b + "' must be F32, got " + t.describe());
      }
      if (shape == null) {
        shape = t.shape();
        shapeFrom = b;
      } else if (!fits(t, shape)) {
        throw new IllegalArgumentException(
            "optimizer state '"
                + weight
                + "."
                + b
                + "' is "
                + t.describe()
                + " but '"
                + weight
                + "."
                + shapeFrom
                + "' is "
                + Tensor.shapeString(shape));
      }
    }
    List<String> missing = new ArrayList<>();
    for (String b : buffers) {
      if (!given.containsKey(b)) {
        missing.add(weight + "." + b);
      }
    }
    if (shape == null || !missing.isEmpty()) {
      throw new IllegalArgumentException(
          "optimizer state for weight '" + weight + "' is incomplete: missing " + missing);
    }
    // a buffer that exists has had its first update (SGD copies the gradient into it then)
    long own =
        given.containsKey("step")
            ? counter(given.get("step"), weight + ".step")
            : Math.max(1, globalSteps);
    Slot s = newSlot(weight, shape);
    try {
      for (String b : buffers) {
        if (!b.equals("step")) {
          buffer(s, b).copyFrom(given.get(b));
        }
      }
    } catch (RuntimeException ex) {
      s.close();
      throw ex;
    }
    s.steps = own;
    return s;
  }

  private static long counter(Tensor t, String name) {
    if (t.dtype() != DType.I32 || t.size() != 1) {
      throw new IllegalArgumentException(
          "optimizer state '" + name + "' must be an I32 [1] counter, got " + t.describe());
    }
    int v = t.getInt(0);
    if (v < 0) {
      throw new IllegalArgumentException("optimizer state '" + name + "' is negative: " + v);
    }
    return v;
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("optimizer state is used after close");
    }
  }

  /** Frees every buffer. Idempotent; any later use throws. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      slots.values().forEach(Slot::close);
      slots.clear();
      order = new Slot[0];
    }
  }

  @Override
  public String toString() {
    return "OptimizerState(" + spec + ", steps=" + steps + ", weights=" + slots.size() + ")";
  }
}
