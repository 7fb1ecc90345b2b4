package dev.jrnn.opencl;

import dev.jrnn.Activation;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.ir.Shapes;
import dev.jrnn.spi.CompiledNode;
import org.jocl.cl_mem;

/**
 * The ops around the recurrent layers, each one launch between an upload of its input and a read of
 * its output: embedding gather, linear (the tiled GEMM with bias), activations, softmax and
 * log-softmax, last-step select.
 */
final class ClOps {

  private ClOps() {}

  static CompiledNode embedding(OpenClContext owner, Op.Embedding e, Node node, Tensor table) {
    cl_mem t = owner.weights(table.toFloatArray());
    return (in, out, ctx) -> {
      int[] ids = in[0].toIntArray();
      for (int i = 0; i < ids.length; i++) {
        e.checkId(ids[i], i, node); // on the host: the message names the position
      }
      if (out[0].size() == 0) {
        return;
      }
      Lane lane = owner.lane(ctx);
      try {
        cl_mem idBuf = lane.buffer("ids", ids.length * 4L);
        lane.upload(ids, idBuf);
        cl_mem y = lane.buffer("out", out[0].byteSize());
        lane.launch(
            "embeddingGather",
            new long[] {e.dim(), ids.length},
            null,
            ids.length,
            e.dim(),
            idBuf,
            t,
            y);
        lane.download(y, 0, out[0]);
      } finally {
        lane.finish();
      }
    };
  }

  static CompiledNode linear(OpenClContext owner, Op.Linear l, Tensor weight, Tensor bias) {
    cl_mem w = owner.weights(weight.toFloatArray());
    cl_mem b = bias != null ? owner.weights(bias.toFloatArray()) : null;
    return (in, out, ctx) -> {
      long rows = l.out() == 0 ? 0 : out[0].size() / l.out();
      if (out[0].size() == 0) {
        return;
      }
      Lane lane = owner.lane(ctx);
      try {
        cl_mem x = lane.buffer("in", in[0].byteSize());
        lane.upload(in[0], x, 0);
        cl_mem y = lane.buffer("out", out[0].byteSize());
        lane.gemm(
            (int) rows, l.out(), l.in(), x, 0, l.in(), w, 0, l.in(), y, 0, l.out(), b, 0, false);
        lane.download(y, 0, out[0]);
      } finally {
        lane.finish();
      }
    };
  }

  static CompiledNode unary(OpenClContext owner, Activation fn) {
    return (in, out, ctx) -> {
      long n = in[0].size();
      if (n == 0) {
        return;
      }
      Lane lane = owner.lane(ctx);
      try {
        cl_mem x = lane.buffer("in", in[0].byteSize());
        lane.upload(in[0], x, 0);
        cl_mem y = lane.buffer("out", out[0].byteSize());
        lane.launch(
            "unaryActivation",
            new long[] {n},
            null,
            (int) n,
            fn.kind().ordinal(),
            fn.alpha(),
            fn.beta(),
            x,
            y);
        lane.download(y, 0, out[0]);
      } finally {
        lane.finish();
      }
    };
  }

  static CompiledNode softmax(OpenClContext owner, Op.Softmax s) {
    return (in, out, ctx) -> {
      int[] shape = in[0].shape();
      int ax = Shapes.axis(s.axis(), shape.length);
      int len = shape[ax];
      int inner = 1;
      for (int i = ax + 1; i < shape.length; i++) {
        inner *= shape[i];
      }
      long size = in[0].size();
      if (size == 0) {
        return;
      }
      int outer = (int) (size / ((long) len * inner));
      Lane lane = owner.lane(ctx);
      try {
        cl_mem x = lane.buffer("in", in[0].byteSize());
        lane.upload(in[0], x, 0);
        cl_mem y = lane.buffer("out", out[0].byteSize());
        lane.launch(
            "softmaxAlongAxis",
            new long[] {inner, outer},
            null,
            outer,
            len,
            inner,
            s.log() ? 1 : 0,
            x,
            y);
        lane.download(y, 0, out[0]);
      } finally {
        lane.finish();
      }
    };
  }

  static CompiledNode lastStep(OpenClContext owner, Op.LastStep l) {
    boolean bf = l.batchFirst();
    return (in, out, ctx) -> {
      Tensor seq = in[0];
      Tensor lengths = in.length > Op.LastStep.LENGTHS ? in[Op.LastStep.LENGTHS] : null;
      int steps = seq.dim(bf ? 1 : 0);
      int batch = seq.dim(bf ? 0 : 1);
      int c = seq.dim(2);
      if (out[0].size() == 0) {
        return;
      }
      Lane lane = owner.lane(ctx);
      try {
        cl_mem x = lane.buffer("in", seq.byteSize());
        lane.upload(seq, x, 0);
        cl_mem len = lane.buffer("len", batch * 4L);
        if (lengths != null) {
          lane.upload(lengths, len, 0);
        }
        cl_mem y = lane.buffer("out", out[0].byteSize());
        lane.launch(
            "lastStepGather",
            new long[] {c, batch},
            null,
            steps,
            batch,
            c,
            bf ? 1 : 0,
            lengths != null ? 1 : 0,
            len,
            x,
            y);
        lane.download(y, 0, out[0]);
      } finally {
        lane.finish();
      }
    };
  }
}
