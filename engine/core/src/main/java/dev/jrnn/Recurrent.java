package dev.jrnn;

import java.util.List;
import java.util.Objects;

/**
 * The configuration of a recurrent layer stack: cell, hidden size, layers, direction and the cell
 * options. Immutable (final fields, safe to share between threads); every setter returns a new
 * spec.
 *
 * <pre>{@code
 * Recurrent.lstm(128).layers(2).bidirectional()
 * Recurrent.gru(64).linearBeforeReset(false)
 * Recurrent.rnn(32).relu().batchFirst()
 * }</pre>
 *
 * <p>Canonical weights per layer {@code l} and direction {@code d} ({@code fwd} or {@code rev}),
 * named {@code <node>.l<l>.<d>.<W|R|bW|bR|P|Wp>}, with {@code G} gates (1 RNN, 3 GRU, 4 LSTM):
 * {@code W [G·H, I]}, {@code R [G·H, Hout]}, {@code bW [G·H]}, {@code bR [G·H]}, peepholes {@code P
 * [3H]} (i, f, o), projection {@code Wp [Hout, H]}. Gate order: LSTM i, f, g, o; GRU z, r, n.
 * {@code Hout} is the projection size when there is one, else {@code H}.
 */
public final class Recurrent {

  /** The recurrent cell. */
  public enum Cell {
    /** Vanilla (Elman) RNN: one gate, {@code h = f(W x + R h + b)}. */
    RNN(1),
    /** Long short-term memory: gates i, f, g, o and a cell state. */
    LSTM(4),
    /** Gated recurrent unit: gates z, r, n. */
    GRU(3);

    private final int gates;

    Cell(int gates) {
      this.gates = gates;
    }

    /** Number of gates G: rows of W and R are G·H. */
    public int gates() {
      return gates;
    }

    /** Activations per direction: f for RNN; f, g for GRU; f, g, h for LSTM. */
    public int activationCount() {
      return switch (this) {
        case RNN -> 1;
        case GRU -> 2;
        case LSTM -> 3;
      };
    }
  }

  /** Direction of processing. */
  public enum Direction {
    /** First step to last. */
    FORWARD,
    /** Last step (of each row's length) to first. */
    REVERSE,
    /** Both, each with its own weights. */
    BIDIRECTIONAL;

    /** 1 or 2. */
    public int count() {
      return this == BIDIRECTIONAL ? 2 : 1;
    }
  }

  /** How the two directions of a bidirectional layer are merged into its output. */
  public enum Merge {
    /** Forward and reverse outputs side by side: {@code 2·Hout} features. */
    CONCAT,
    /** Forward plus reverse output: {@code Hout} features. */
    SUM
  }

  private final Cell cell;
  private final int hidden;
  private final int layers;
  private final Direction direction;
  private final Merge merge;
  private final boolean batchFirst;
  private final String name;
  private final List<Activation> activations; // null = the cell's defaults
  private final float clip;
  private final boolean peepholes;
  private final int projection;
  private final boolean coupledInputForget;
  private final boolean linearBeforeReset;
  private final float dropout; // between layers, training only
  private final float recurrentDropout; // on h(t-1), one mask per sequence, training only

  /** The settings while a setter changes one: a spec's own fields are final. */
  private static final class Draft {
    Cell cell;
    int hidden;
    int layers = 1;
    Direction direction = Direction.FORWARD;
    Merge merge = Merge.CONCAT;
    boolean batchFirst;
    String name;
    List<Activation> activations;
    float clip = Float.POSITIVE_INFINITY;
    boolean peepholes;
    int projection;
    boolean coupledInputForget;
    boolean linearBeforeReset = true;
    float dropout;
    float recurrentDropout;
  }

  private Recurrent(Draft d) {
    this.cell = d.cell;
    this.hidden = d.hidden;
    this.layers = d.layers;
    this.direction = d.direction;
    this.merge = d.merge;
    this.batchFirst = d.batchFirst;
    this.name = d.name;
    this.activations = d.activations;
    this.clip = d.clip;
    this.peepholes = d.peepholes;
    this.projection = d.projection;
    this.coupledInputForget = d.coupledInputForget;
    this.linearBeforeReset = d.linearBeforeReset;
    this.dropout = d.dropout;
    this.recurrentDropout = d.recurrentDropout;
  }

  /** A draft holding this spec's settings, to change one and build a new spec. */
  private Draft draft() {
    Draft d = new Draft();
    d.cell = cell;
    d.hidden = hidden;
    d.layers = layers;
    d.direction = direction;
    d.merge = merge;
    d.batchFirst = batchFirst;
    d.name = name;
    d.activations = activations;
    d.clip = clip;
    d.peepholes = peepholes;
    d.projection = projection;
    d.coupledInputForget = coupledInputForget;
    d.linearBeforeReset = linearBeforeReset;
    d.dropout = dropout;
    d.recurrentDropout = recurrentDropout;
    return d;
  }

  private static Recurrent of(Cell cell, int hidden) {
    if (hidden < 1) {
      throw new IllegalArgumentException("hidden size must be >= 1, got " + hidden);
    }
    Draft d = new Draft();
    d.cell = cell;
    d.hidden = hidden;
    return new Recurrent(d);
  }

  /** An LSTM with {@code hidden} units (gates i, f, g, o; sigmoid, tanh, tanh). */
  public static Recurrent lstm(int hidden) {
    return of(Cell.LSTM, hidden);
  }

  /**
   * A GRU with {@code hidden} units (gates z, r, n), linear-before-reset as in PyTorch and Keras
   * unless {@link #linearBeforeReset(boolean)} says otherwise.
   */
  public static Recurrent gru(int hidden) {
    return of(Cell.GRU, hidden);
  }

  /** A vanilla RNN with {@code hidden} units and tanh activation. */
  public static Recurrent rnn(int hidden) {
    return of(Cell.RNN, hidden);
  }

  /** Stacks {@code n ≥ 1} layers; layer l+1 reads layer l's (merged) output. */
  public Recurrent layers(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("layers must be >= 1, got " + n);
    }
    Draft r = draft();
    r.layers = n;
    return new Recurrent(r);
  }

  /** Processes sequences in the given direction. */
  public Recurrent direction(Direction d) {
    Draft r = draft();
    r.direction = Objects.requireNonNull(d);
    return new Recurrent(r);
  }

  /** Both directions, outputs concatenated (forward first). */
  public Recurrent bidirectional() {
    return bidirectional(Merge.CONCAT);
  }

  /** Both directions, outputs merged as given. */
  public Recurrent bidirectional(Merge m) {
    Draft r = draft();
    r.direction = Direction.BIDIRECTIONAL;
    r.merge = Objects.requireNonNull(m);
    return new Recurrent(r);
  }

  /** Only the reverse direction (the last element of each row first). */
  public Recurrent reverse() {
    return direction(Direction.REVERSE);
  }

  /** Input and output sequences are {@code [N, T, C]} instead of {@code [T, N, C]}. */
  public Recurrent batchFirst() {
    return batchFirst(true);
  }

  /** Chooses {@code [N, T, C]} (true) or {@code [T, N, C]} (false) sequences. */
  public Recurrent batchFirst(boolean on) {
    Draft r = draft();
    r.batchFirst = on;
    return new Recurrent(r);
  }

  /** Names the node (and so the prefix of its weights). */
  public Recurrent name(String n) {
    Draft r = draft();
    r.name = Objects.requireNonNull(n);
    return new Recurrent(r);
  }

  /**
   * Cell activations, ONNX style: f (RNN); f, g (GRU); f, g, h (LSTM), once for all directions or
   * once per direction (forward's first).
   */
  public Recurrent activations(List<Activation> acts) {
    Draft r = draft();
    r.activations = List.copyOf(acts);
    return new Recurrent(r);
  }

  /** Vanilla RNN with ReLU instead of tanh. */
  public Recurrent relu() {
    requireCell(Cell.RNN, "relu()");
    return activations(List.of(Activation.RELU));
  }

  /** Clips every gate pre-activation to {@code [-c, c]} (ONNX {@code clip}). */
  public Recurrent clip(float c) {
    if (!(c > 0)) {
      throw new IllegalArgumentException("clip must be > 0, got " + c);
    }
    Draft r = draft();
    r.clip = c;
    return new Recurrent(r);
  }

  /** LSTM peephole connections {@code P [3H]} (i, f, o). */
  public Recurrent peepholes() {
    requireCell(Cell.LSTM, "peepholes()");
    Draft r = draft();
    r.peepholes = true;
    return new Recurrent(r);
  }

  /** LSTM output projection to {@code p} units ({@code Wp [p, H]}; PyTorch {@code proj_size}). */
  public Recurrent projection(int p) {
    requireCell(Cell.LSTM, "projection()");
    if (p < 1 || p >= hidden) {
      throw new IllegalArgumentException(
          "projection size must be in [1, hidden=" + hidden + "), got " + p);
    }
    Draft r = draft();
    r.projection = p;
    return new Recurrent(r);
  }

  /** LSTM with coupled input and forget gates: {@code f = 1 − i} (ONNX {@code input_forget}). */
  public Recurrent coupledInputForget() {
    requireCell(Cell.LSTM, "coupledInputForget()");
    Draft r = draft();
    r.coupledInputForget = true;
    return new Recurrent(r);
  }

  /**
   * GRU variant: {@code true} applies the reset gate after the recurrent product (PyTorch, Keras
   * {@code reset_after}, ONNX {@code linear_before_reset=1}); {@code false} before it (ONNX
   * default).
   */
  public Recurrent linearBeforeReset(boolean on) {
    requireCell(Cell.GRU, "linearBeforeReset()");
    Draft r = draft();
    r.linearBeforeReset = on;
    return new Recurrent(r);
  }

  private void requireCell(Cell c, String what) {
    if (cell != c) {
      throw new IllegalArgumentException(what + " applies to " + c + " only, this is " + cell);
    }
  }

  /**
   * Dropout with probability {@code p} on each layer's input from the layer below (PyTorch's {@code
   * dropout}): a fresh mask per element and step, in training only. Needs 2 or more layers to have
   * an effect, as in PyTorch.
   */
  public Recurrent dropout(double p) {
    Draft d = draft();
    d.dropout = checkProbability(p, "dropout");
    return new Recurrent(d);
  }

  /**
   * Variational recurrent dropout with probability {@code p} (Keras' {@code recurrent_dropout}, Gal
   * and Ghahramani): the recurrent input {@code h(t-1)} of every step is multiplied by one mask per
   * sequence, layer and direction, in training only. The mask is drawn once per batch row, so the
   * recurrent GEMM stays one GEMM per step.
   */
  public Recurrent recurrentDropout(double p) {
    Draft d = draft();
    d.recurrentDropout = checkProbability(p, "recurrent dropout");
    return new Recurrent(d);
  }

  private static float checkProbability(double p, String what) {
    if (!(p >= 0 && p < 1)) {
      throw new IllegalArgumentException(what + " must be in [0, 1), got " + p);
    }
    return (float) p;
  }

  /** Dropout probability between layers (0: none). */
  public float dropout() {
    return dropout;
  }

  /** Variational recurrent dropout probability (0: none). */
  public float recurrentDropout() {
    return recurrentDropout;
  }

  /** Whether training draws any dropout mask inside the stack. */
  public boolean hasDropout() {
    return (dropout > 0 && layers > 1) || recurrentDropout > 0;
  }

  /** The cell. */
  public Cell cell() {
    return cell;
  }

  /** Hidden size H (units per gate). */
  public int hidden() {
    return hidden;
  }

  /** Number of stacked layers. */
  public int layers() {
    return layers;
  }

  /** Direction of processing. */
  public Direction direction() {
    return direction;
  }

  /** Number of directions, 1 or 2. */
  public int directions() {
    return direction.count();
  }

  /** How a bidirectional layer merges its two directions. */
  public Merge merge() {
    return merge;
  }

  /** Whether sequences are {@code [N, T, C]} rather than {@code [T, N, C]}. */
  public boolean isBatchFirst() {
    return batchFirst;
  }

  /** The node name, or null when the graph builder chooses one. */
  public String name() {
    return name;
  }

  /** Clip threshold; {@code +∞} when there is none. */
  public float clip() {
    return clip;
  }

  /** Whether gate pre-activations are clipped. */
  public boolean hasClip() {
    return clip != Float.POSITIVE_INFINITY;
  }

  /** Whether the LSTM has peephole connections. */
  public boolean hasPeepholes() {
    return peepholes;
  }

  /** Projection size, or 0 when there is no projection. */
  public int projection() {
    return projection;
  }

  /** Whether the LSTM's forget gate is {@code 1 − i}. */
  public boolean isCoupledInputForget() {
    return coupledInputForget;
  }

  /** Whether the GRU applies the reset gate after the recurrent product. */
  public boolean isLinearBeforeReset() {
    return linearBeforeReset;
  }

  /** Size of the hidden state h: the projection size when there is one, else {@code hidden}. */
  public int outputHidden() {
    return projection > 0 ? projection : hidden;
  }

  /** Features per time step of this stack's output sequence. */
  public int outputSize() {
    return direction == Direction.BIDIRECTIONAL && merge == Merge.CONCAT
        ? 2 * outputHidden()
        : outputHidden();
  }

  /** Whether the activations are the cell's defaults. */
  public boolean hasDefaultActivations() {
    if (activations == null) {
      return true;
    }
    for (int d = 0; d < directions(); d++) {
      for (int k = 0; k < cell.activationCount(); k++) {
        if (!activation(d, k).equals(defaultActivation(k))) {
          return false;
        }
      }
    }
    return true;
  }

  /** Activation {@code k} (0 = f, 1 = g, 2 = h) of direction {@code d}. */
  public Activation activation(int d, int k) {
    if (activations == null) {
      return defaultActivation(k);
    }
    int per = cell.activationCount();
    return activations.size() == per ? activations.get(k) : activations.get(d * per + k);
  }

  /** The activations as given, or null for the defaults. */
  public List<Activation> activations() {
    return activations;
  }

  private Activation defaultActivation(int k) {
    return switch (cell) {
      case RNN -> Activation.TANH;
      case GRU -> k == 0 ? Activation.SIGMOID : Activation.TANH;
      case LSTM -> k == 0 ? Activation.SIGMOID : Activation.TANH;
    };
  }

  /** Checks combinations that each setter alone cannot; throws naming the problem. */
  public void validate() {
    if (activations != null) {
      int per = cell.activationCount();
      if (activations.size() != per && activations.size() != per * directions()) {
        throw new IllegalArgumentException(
            cell
                + " takes "
                + per
                + " activations per direction ("
                + (per * directions())
                + " for "
                + direction
                + "), got "
                + activations.size());
      }
    }
  }

  @Override
  public String toString() {
    StringBuilder s = new StringBuilder(cell.name()).append("(hidden=").append(hidden);
    if (layers > 1) {
      s.append(", layers=").append(layers);
    }
    if (direction != Direction.FORWARD) {
      s.append(", ").append(direction.name().toLowerCase(java.util.Locale.ROOT));
      if (direction == Direction.BIDIRECTIONAL && merge == Merge.SUM) {
        s.append("-sum");
      }
    }
    if (batchFirst) {
      s.append(", batchFirst");
    }
    if (peepholes) {
      s.append(", peepholes");
    }
    if (projection > 0) {
      s.append(", projection=").append(projection);
    }
    if (coupledInputForget) {
      s.append(", coupled");
    }
    if (cell == Cell.GRU) {
      s.append(", linearBeforeReset=").append(linearBeforeReset);
    }
    if (hasClip()) {
      s.append(", clip=").append(clip);
    }
    if (!hasDefaultActivations()) {
      s.append(", activations=").append(activations);
    }
    if (dropout > 0) {
      s.append(", dropout=").append(dropout);
    }
    if (recurrentDropout > 0) {
      s.append(", recurrentDropout=").append(recurrentDropout);
    }
    return s.append(')').toString();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Recurrent r
        && cell == r.cell
        && hidden == r.hidden
        && layers == r.layers
        && direction == r.direction
        && merge == r.merge
        && batchFirst == r.batchFirst
        && Objects.equals(name, r.name)
        && Objects.equals(activations, r.activations)
        && Float.compare(clip, r.clip) == 0
        && peepholes == r.peepholes
        && projection == r.projection
        && coupledInputForget == r.coupledInputForget
        && linearBeforeReset == r.linearBeforeReset
        && Float.compare(dropout, r.dropout) == 0
        && Float.compare(recurrentDropout, r.recurrentDropout) == 0;
  }

  @Override
  public int hashCode() {
    return Objects.hash(cell, hidden, layers, direction, merge, name, projection);
  }
}
