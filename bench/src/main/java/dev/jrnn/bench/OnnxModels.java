package dev.jrnn.bench;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import dev.jrnn.Activation;
import dev.jrnn.Recurrent;
import dev.jrnn.Weights;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Writes ONNX models (protobuf wire format, field numbers from {@code onnx.proto}) holding one
 * {@code LSTM}, {@code GRU} or {@code RNN} node built from jrnn's canonical weights, so ONNX
 * Runtime runs exactly the layer jrnn runs. Inputs {@code X [T, N, I]}; outputs {@code Y [T, D, N,
 * H]}, {@code Y_h [D, N, H]} and, for LSTM, {@code Y_c}.
 */
public final class OnnxModels {

  private static final int FLOAT = 1;
  private static final int OPSET = 14;

  private OnnxModels() {}

  /** A single-layer recurrent node; weights named {@code <node>.l0.<fwd|rev>.*}. */
  public static byte[] recurrent(Recurrent spec, int inputSize, Weights w, String node) {
    if (spec.layers() != 1) {
      throw new IllegalArgumentException("an ONNX recurrent node is a single layer");
    }
    if (spec.projection() > 0 || spec.merge() == Recurrent.Merge.SUM || spec.isBatchFirst()) {
      throw new IllegalArgumentException(
          "ONNX recurrent nodes have no projection, sum or layout here");
    }
    int d = spec.directions();
    int h = spec.hidden();
    int g = spec.cell().gates();
    String opType = spec.cell().name();
    float[] wAll = new float[d * g * h * inputSize];
    float[] rAll = new float[d * g * h * h];
    float[] bAll = new float[d * 2 * g * h];
    float[] pAll = spec.hasPeepholes() ? new float[d * 3 * h] : null;
    for (int k = 0; k < d; k++) {
      String pre =
          node
              + ".l0."
              + (spec.direction() == Recurrent.Direction.REVERSE || k == 1 ? "rev" : "fwd")
              + ".";
      int[] order = spec.cell() == Recurrent.Cell.LSTM ? new int[] {0, 3, 1, 2} : identity(g);
      gather(w.get(pre + "W").toFloatArray(), order, h * inputSize, wAll, k * g * h * inputSize);
      gather(w.get(pre + "R").toFloatArray(), order, h * h, rAll, k * g * h * h);
      gather(w.get(pre + "bW").toFloatArray(), order, h, bAll, k * 2 * g * h);
      gather(w.get(pre + "bR").toFloatArray(), order, h, bAll, k * 2 * g * h + g * h);
      if (pAll != null) {
        gather(w.get(pre + "P").toFloatArray(), new int[] {0, 2, 1}, h, pAll, k * 3 * h);
      }
    }
    Msg nodeMsg = new Msg();
    List<String> inputs = new ArrayList<>(List.of("X", "W", "R", "B"));
    if (pAll != null) {
      inputs.addAll(List.of("", "", "", "P"));
    }
    inputs.forEach(i -> nodeMsg.string(1, i));
    nodeMsg.string(2, "Y").string(2, "Y_h");
    if (spec.cell() == Recurrent.Cell.LSTM) {
      nodeMsg.string(2, "Y_c");
    }
    nodeMsg.string(3, node).string(4, opType);
    nodeMsg.message(5, intAttr("hidden_size", h));
    nodeMsg.message(5, stringAttr("direction", spec.direction().name().toLowerCase(Locale.ROOT)));
    if (spec.cell() == Recurrent.Cell.GRU) {
      nodeMsg.message(5, intAttr("linear_before_reset", spec.isLinearBeforeReset() ? 1 : 0));
    }
    if (spec.cell() == Recurrent.Cell.LSTM && spec.isCoupledInputForget()) {
      nodeMsg.message(5, intAttr("input_forget", 1));
    }
    if (spec.hasClip()) {
      nodeMsg.message(5, floatAttr("clip", spec.clip()));
    }
    if (!spec.hasDefaultActivations()) {
      Msg a = new Msg().string(1, "activations").varint(20, 8);
      Msg alpha = new Msg().string(1, "activation_alpha").varint(20, 6);
      Msg beta = new Msg().string(1, "activation_beta").varint(20, 6);
      for (int k = 0; k < d; k++) {
        for (int i = 0; i < spec.cell().activationCount(); i++) {
          Activation act = spec.activation(k, i);
          a.bytes(9, ByteString.copyFromUtf8(onnxName(act.kind())));
          alpha.fixed32(7, act.alpha());
          beta.fixed32(7, act.beta());
        }
      }
      nodeMsg.message(5, a).message(5, alpha).message(5, beta);
    }
    Msg graph = new Msg().message(1, nodeMsg).string(2, "jrnn-" + opType.toLowerCase(Locale.ROOT));
    graph.message(5, tensor("W", new long[] {d, (long) g * h, inputSize}, wAll));
    graph.message(5, tensor("R", new long[] {d, (long) g * h, h}, rAll));
    graph.message(5, tensor("B", new long[] {d, 2L * g * h}, bAll));
    if (pAll != null) {
      graph.message(5, tensor("P", new long[] {d, 3L * h}, pAll));
    }
    graph.message(11, valueInfo("X", "T", "N", Integer.toString(inputSize)));
    graph.message(12, valueInfo("Y", "T", Integer.toString(d), "N", Integer.toString(h)));
    graph.message(12, valueInfo("Y_h", Integer.toString(d), "N", Integer.toString(h)));
    if (spec.cell() == Recurrent.Cell.LSTM) {
      graph.message(12, valueInfo("Y_c", Integer.toString(d), "N", Integer.toString(h)));
    }
    Msg opset = new Msg().string(1, "").varint(2, OPSET);
    return new Msg()
        .varint(1, 8)
        .string(2, "jrnn-bench")
        .message(7, graph)
        .message(8, opset)
        .bytes();
  }

  private static String onnxName(Activation.Kind k) {
    StringBuilder s = new StringBuilder();
    for (String part : k.name().toLowerCase(Locale.ROOT).split("_")) {
      s.append(Character.toUpperCase(part.charAt(0))).append(part.substring(1));
    }
    return s.toString();
  }

  private static int[] identity(int n) {
    int[] a = new int[n];
    for (int i = 0; i < n; i++) {
      a[i] = i;
    }
    return a;
  }

  /** Copies gate blocks of {@code block} floats from src in {@code order} to dst. */
  private static void gather(float[] src, int[] order, int block, float[] dst, int off) {
    for (int i = 0; i < order.length; i++) {
      System.arraycopy(src, order[i] * block, dst, off + i * block, block);
    }
  }

  private static Msg intAttr(String name, long v) {
    return new Msg().string(1, name).varint(3, v).varint(20, 2);
  }

  private static Msg floatAttr(String name, float v) {
    return new Msg().string(1, name).fixed32(2, v).varint(20, 1);
  }

  private static Msg stringAttr(String name, String v) {
    return new Msg().string(1, name).bytes(4, ByteString.copyFromUtf8(v)).varint(20, 3);
  }

  private static Msg tensor(String name, long[] dims, float[] data) {
    Msg t = new Msg();
    for (long dim : dims) {
      t.varint(1, dim);
    }
    t.varint(2, FLOAT).string(8, name);
    ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(data);
    return t.bytes(9, ByteString.copyFrom(b.array()));
  }

  private static Msg valueInfo(String name, String... dims) {
    Msg shape = new Msg();
    for (String dim : dims) {
      Msg dm = new Msg();
      if (Character.isDigit(dim.charAt(0))) {
        dm.varint(1, Long.parseLong(dim));
      } else {
        dm.string(2, dim);
      }
      shape.message(1, dm);
    }
    Msg tensorType = new Msg().varint(1, FLOAT).message(2, shape);
    Msg type = new Msg().message(1, tensorType);
    return new Msg().string(1, name).message(2, type);
  }

  /** A protobuf message under construction. */
  static final class Msg {
    private final ByteArrayOutputStream buf = new ByteArrayOutputStream();
    private final CodedOutputStream out = CodedOutputStream.newInstance(buf);

    Msg varint(int field, long v) {
      try {
        out.writeInt64(field, v);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return this;
    }

    Msg fixed32(int field, float v) {
      try {
        out.writeFloat(field, v);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return this;
    }

    Msg string(int field, String s) {
      return bytes(field, ByteString.copyFromUtf8(s));
    }

    Msg bytes(int field, ByteString b) {
      try {
        out.writeBytes(field, b);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return this;
    }

    Msg message(int field, Msg m) {
      return bytes(field, ByteString.copyFrom(m.bytes()));
    }

    byte[] bytes() {
      try {
        out.flush();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return buf.toByteArray();
    }
  }
}
