package dev.jrnn.bench;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Precision;
import dev.jrnn.Recurrent;
import dev.jrnn.Value;

/**
 * A benchmark configuration: one recurrent layer stack, f32 inference, time-major.
 *
 * @param id short name
 * @param spec the layer (named {@code rnn})
 * @param batch N
 * @param steps T
 * @param input I
 */
public record Workload(String id, Recurrent spec, int batch, int steps, int input) {

  /** The standard workloads. */
  public static final Workload W1 =
      new Workload("W1", Recurrent.lstm(256).name("rnn"), 1, 128, 256);

  public static final Workload W2 = new Workload("W2", Recurrent.gru(256).name("rnn"), 1, 128, 256);

  public static final Workload W3 =
      new Workload("W3", Recurrent.lstm(32).bidirectional().name("rnn"), 1, 200, 40);

  public static final Workload W4 =
      new Workload("W4", Recurrent.lstm(512).name("rnn"), 64, 64, 512);

  public static final Workload W5 = new Workload("W5", Recurrent.gru(512).name("rnn"), 64, 64, 512);

  public static final Workload[] STANDARD = {W1, W2, W3, W4, W5};

  /** The training workloads: one step of LSTM (W6) or GRU (W7), N=32, T=64, I=H=256. */
  public static final Workload W6 =
      new Workload("W6", Recurrent.lstm(256).name("rnn"), 32, 64, 256);

  public static final Workload W7 = new Workload("W7", Recurrent.gru(256).name("rnn"), 32, 64, 256);

  public static final Workload[] TRAINING = {W6, W7};

  /** A standard workload by id, or a custom one described by the caller. */
  public static Workload byId(String id) {
    for (Workload[] list : new Workload[][] {STANDARD, TRAINING}) {
      for (Workload w : list) {
        if (w.id.equalsIgnoreCase(id)) {
          return w;
        }
      }
    }
    throw new IllegalArgumentException(
        "unknown workload '" + id + "'; known: W1-W5 (inference), W6, W7 (training)");
  }

  /** FLOPs of one forward pass: 2·T·N·G·H·(I_l + Hout) per layer and direction. */
  public long flops() {
    long total = 0;
    for (int l = 0; l < spec.layers(); l++) {
      long in = l == 0 ? input : spec.outputSize();
      total +=
          2L
              * steps
              * batch
              * spec.cell().gates()
              * spec.hidden()
              * (in + spec.outputHidden())
              * spec.directions();
    }
    return total;
  }

  /**
   * Bytes of the recurrent weight matrices one timestep reads when they are stored in {@code p}:
   * each layer and direction's {@code R [G·H, Hout]} at {@code p}'s element size (4, 2 or 1 bytes),
   * plus, in int8, its f32 row scales ({@code 4·G·H}). The input matrices {@code W} are left out:
   * they are read once per pass, by the input projection of all timesteps at once.
   */
  public long recurrentBytesPerStep(Precision p) {
    long rows = (long) spec.cell().gates() * spec.hidden();
    long perMatrix =
        rows * spec.outputHidden() * p.dtype().byteSize() + (p == Precision.INT8 ? 4 * rows : 0);
    return perMatrix * spec.layers() * spec.directions();
  }

  /**
   * GB/s of recurrent weight traffic: {@link #recurrentBytesPerStep} × T over a pass of {@code ms}
   * milliseconds.
   */
  public double weightGBps(Precision p, double ms) {
    return (double) recurrentBytesPerStep(p) * steps / (ms * 1e6);
  }

  /** x {@code [T, N, I]} in, y (and the final states) out. */
  public Graph graph() {
    return Graph.build(
        b -> {
          Value x = b.input("x", DType.F32, Dim.dyn("T"), Dim.dyn("N"), Dim.of(input));
          Value y = b.recurrent(x, spec);
          b.output("y", y);
          b.output("h", y.finalH());
          if (spec.cell() == Recurrent.Cell.LSTM) {
            b.output("c", y.finalC());
          }
        });
  }

  /** "LSTM N=1 T=128 I=256 H=256". */
  public String describe() {
    String cell =
        (spec.directions() == 2 ? "bi-" : "")
            + spec.cell().name()
            + (spec.cell() == Recurrent.Cell.GRU && spec.isLinearBeforeReset() ? "(lbr)" : "");
    return cell
        + " N="
        + batch
        + " T="
        + steps
        + " I="
        + input
        + " H="
        + spec.hidden()
        + (spec.layers() > 1 ? " L=" + spec.layers() : "");
  }
}
