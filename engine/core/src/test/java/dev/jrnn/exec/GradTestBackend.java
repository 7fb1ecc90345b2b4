package dev.jrnn.exec;

import dev.jrnn.Activation;
import dev.jrnn.Options;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.kernels.Arith;
import dev.jrnn.spi.Availability;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.Backends;
import dev.jrnn.spi.CompiledNode;
import dev.jrnn.spi.ExecContext;
import dev.jrnn.spi.TrainableNode;
import java.util.Map;

/**
 * A test-only backend that trains three ops by hand-written backward passes (Linear, tanh, Add of
 * equal shapes), running them forward through the reference backend: enough to check how the
 * executor drives the {@link TrainableNode} contract. Everything else runs, untrained, on
 * reference.
 */
public final class GradTestBackend implements Backend {

  @Override
  public String name() {
    return "test-grad";
  }

  @Override
  public Availability availability() {
    return Availability.yes("test only");
  }

  @Override
  public int priority() {
    return -100;
  }

  @Override
  public String unsupported(Node node) {
    return null;
  }

  @Override
  public String untrainable(Node node) {
    return switch (node.op()) {
      case Op.Linear l -> null;
      case Op.Unary u when u.fn().equals(Activation.TANH) -> null;
      case Op.Binary b when b.fn() == Arith.ADD -> null;
      default -> "test-grad has no backward for " + node.op().kind();
    };
  }

  @Override
  public Context open(Options options) {
    Context reference = Backends.byName("reference").open(options);
    return new Context() {
      @Override
      public CompiledNode compile(Node node, Map<String, Tensor> weights) {
        return reference.compile(node, weights);
      }

      @Override
      public TrainableNode compileForTraining(Node node, Map<String, Tensor> weights) {
        return new Trained(node, weights, reference);
      }

      @Override
      public void close() {
        reference.close();
      }
    };
  }

  private static final class Trained implements TrainableNode {
    private final Node node;
    private final Context reference;
    private float[] w; // Linear [out, in]
    private CompiledNode forward;

    Trained(Node node, Map<String, Tensor> weights, Context reference) {
      this.node = node;
      this.reference = reference;
      updateWeights(weights);
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
      forward.run(in, out, ctx);
    }

    @Override
    public Saved forward(Tensor[] in, Tensor[] out, ExecContext ctx) {
      forward.run(in, out, ctx);
      return null;
    }

    @Override
    public void backward(
        Saved saved,
        Tensor[] in,
        Tensor[] out,
        Tensor[] gradOut,
        Tensor[] gradIn,
        Map<String, Tensor> gradWeights,
        ExecContext ctx) {
      float[] dy = gradOut[0].toFloatArray();
      switch (node.op()) {
        case Op.Linear l -> {
          float[] x = in[0].toFloatArray();
          int rows = x.length / l.in();
          float[] dx = new float[x.length];
          Tensor dw = gradWeights.get(node.name() + ".weight");
          Tensor db = gradWeights.get(node.name() + ".bias");
          for (int r = 0; r < rows; r++) {
            for (int o = 0; o < l.out(); o++) {
              float g = dy[r * l.out() + o];
              for (int i = 0; i < l.in(); i++) {
                dx[r * l.in() + i] += g * w[o * l.in() + i];
                dw.setFloat(o * l.in() + i, dw.getFloat(o * l.in() + i) + g * x[r * l.in() + i]);
              }
              if (db != null) {
                db.setFloat(o, db.getFloat(o) + g);
              }
            }
          }
          if (gradIn[0] != null) {
            gradIn[0].copyFrom(dx);
          }
        }
        case Op.Unary u -> {
          float[] y = out[0].toFloatArray();
          for (int i = 0; i < y.length; i++) {
            dy[i] *= 1 - y[i] * y[i];
          }
          if (gradIn[0] != null) {
            gradIn[0].copyFrom(dy);
          }
        }
        case Op.Binary b -> {
          for (Tensor g : gradIn) {
            if (g != null) {
              g.copyFrom(dy);
            }
          }
        }
        default -> throw new IllegalStateException(node.op().kind());
      }
    }

    @Override
    public void updateWeights(Map<String, Tensor> weights) {
      forward = reference.compile(node, weights);
      Tensor t = weights.get(node.name() + ".weight");
      w = t == null ? null : t.toFloatArray();
    }
  }
}
