package dev.jrnn.opencl;

import dev.jrnn.Options;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.spi.Availability;
import dev.jrnn.spi.Backend;
import java.util.List;

/**
 * OpenCL C kernels through JOCL on any OpenCL 1.2 device (PoCL on CPUs, GPU drivers): vanilla RNN
 * (every activation), LSTM (peepholes, projection, coupled input-forget, clip, any activations) and
 * GRU (both reset variants), in every direction and merge, stacked, ragged, time-major or
 * batch-first; and embedding, linear, activations, softmax, last-step and dropout around them. The
 * other ops (arithmetic, concat, data movement) are host work and run on {@code java}.
 *
 * <p>Device: see {@link ClDevice} ({@code -Djrnn.opencl.device}). Weights are uploaded once when a
 * node is compiled; h and c stay on the device for a whole sequence and only the outputs asked for
 * are read back. Every op it runs also trains on the device, dropout inside recurrent stacks
 * included (see {@link ClRecurrentBackward}, {@link ClOpsTraining}).
 */
public final class OpenClBackend implements Backend {

  @Override
  public String name() {
    return "opencl";
  }

  @Override
  public Availability availability() {
    return ClDevice.availability();
  }

  /** Below java: on a CPU OpenCL device the Vector API kernels are faster; choose it by name. */
  @Override
  public int priority() {
    return 20;
  }

  @Override
  public String unsupported(Node node) {
    return whyNot(node);
  }

  /**
   * Every op it runs trains on the device: recurrent layers (dropout between layers and recurrent
   * dropout included, with java's masks), embedding, linear layers, activations, softmax, last-step
   * and dropout.
   */
  @Override
  public String untrainable(Node node) {
    return whyNot(node);
  }

  static String whyNot(Node node) {
    return switch (node.op()) {
      case Op.RecurrentLayer r -> null;
      case Op.Embedding e -> null;
      case Op.Linear l -> null;
      case Op.Unary u -> null;
      case Op.Softmax s -> null;
      case Op.LastStep l -> null;
      case Op.Dropout d -> null; // the identity at inference (a host copy); masks on the device
      case Op.Binary b -> "element-wise arithmetic has no opencl kernel yet";
      case Op.Concat c -> "concat is data movement on the host";
      case Op.Constant c -> "constants are values, not device work";
      case Op.Input i -> "inputs are not compiled";
      default -> node.op().kind() + " is a shape or data-movement op, folded on the host";
    };
  }

  /**
   * Every OpenCL platform and device, one line each: platform, device, compute units, local memory,
   * maximum work-group size and global memory. Empty when no OpenCL platform can be loaded (see
   * {@link #availability} for why).
   */
  public static List<String> devices() {
    try {
      return ClDevice.describeAll();
    } catch (RuntimeException | LinkageError e) {
      return List.of();
    }
  }

  @Override
  public Context open(Options options) {
    return new OpenClContext(
        ClDevice.get(options.deviceSelector().orElse(System.getProperty(ClDevice.PROPERTY, ""))));
  }
}
