package dev.jrnn.spi;

import dev.jrnn.DType;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Const;
import dev.jrnn.ir.Op;
import dev.jrnn.ir.TensorType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;

/**
 * Runs an op on its run-time inputs through {@link Op#fold}: the data-movement ops (Gather,
 * Transpose, Slice…) that are not worth a kernel per backend. Trains through {@link FoldBackward}.
 * Allocates per call.
 */
public final class FoldKernel implements TrainableNode {

  private final Op op;

  public FoldKernel(Op op) {
    this.op = op;
  }

  @Override
  public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
    TensorType[] types = new TensorType[in.length];
    Const[] values = new Const[in.length];
    for (int i = 0; i < in.length; i++) {
      if (in[i] != null) {
        types[i] = TensorType.fixed(in[i].dtype(), in[i].shape());
        values[i] = Const.of(in[i]);
      }
    }
    Const[] r = Op.evaluate(op, types, values);
    for (int i = 0; i < out.length; i++) {
      if (out[i] != null) {
        write(r[i], out[i]);
      }
    }
  }

  @Override
  public Saved forward(Tensor[] in, Tensor[] out, ExecContext ctx) {
    run(in, out, ctx);
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
    FoldBackward.run(op, in, gradOut[0], gradIn);
  }

  @Override
  public void updateWeights(Map<String, Tensor> weights) {}

  /** Copies a value into a tensor of the same size (integers range-checked into I32). */
  public static void write(Const c, Tensor t) {
    if (c.size() != t.size() || c.dtype() != t.dtype()) {
      throw new IllegalStateException("value " + c + " does not fit " + t.describe());
    }
    MemorySegment s = t.segment();
    if (c.dtype() == DType.F32) {
      MemorySegment.copy(c.floats(), 0, s, ValueLayout.JAVA_FLOAT, 0, c.floats().length);
    } else {
      int[] v = c.ints();
      MemorySegment.copy(v, 0, s, ValueLayout.JAVA_INT, 0, v.length);
    }
  }
}
