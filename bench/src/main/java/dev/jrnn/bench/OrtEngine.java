package dev.jrnn.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * ONNX Runtime Java running a single-node ONNX model built from the same weights, with {@code
 * threads} intra-op threads and pinned (preallocated) outputs.
 */
final class OrtEngine implements Engine {

  private final Workload w;
  private final OrtSession session;
  private final OnnxTensor x;
  private final Map<String, OnnxValue> pinned = new LinkedHashMap<>();
  private final FloatBuffer y;

  OrtEngine(Workload w, int threads, Weights weights, Tensor input) {
    this.w = w;
    try {
      OrtEnvironment env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
      byte[] model = OnnxModels.recurrent(w.spec(), w.input(), weights, "rnn");
      session = env.createSession(model, OrtModel.options(threads));
      x =
          OnnxTensor.createTensor(
              env, direct(input.toFloatArray()), new long[] {w.steps(), w.batch(), w.input()});
      Recurrent s = w.spec();
      int d = s.directions();
      y = direct(new float[w.steps() * d * w.batch() * s.hidden()]);
      pinned.put(
          "Y", OnnxTensor.createTensor(env, y, new long[] {w.steps(), d, w.batch(), s.hidden()}));
      pinned.put(
          "Y_h",
          OnnxTensor.createTensor(
              env,
              direct(new float[d * w.batch() * s.hidden()]),
              new long[] {d, w.batch(), s.hidden()}));
      if (s.cell() == Recurrent.Cell.LSTM) {
        pinned.put(
            "Y_c",
            OnnxTensor.createTensor(
                env,
                direct(new float[d * w.batch() * s.hidden()]),
                new long[] {d, w.batch(), s.hidden()}));
      }
    } catch (OrtException e) {
      throw new IllegalStateException(
          "ONNX Runtime could not load the " + w.id() + " model: " + e.getMessage(), e);
    }
  }

  private static FloatBuffer direct(float[] v) {
    FloatBuffer b =
        ByteBuffer.allocateDirect(v.length * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
    b.put(v).rewind();
    return b;
  }

  @Override
  public void run() {
    try {
      session.run(Map.of("X", x), pinned).close();
    } catch (OrtException e) {
      throw new IllegalStateException(
          "ONNX Runtime failed on " + w.id() + ": " + e.getMessage(), e);
    }
  }

  /** Y [T, D, N, H] to jrnn's [T, N, D·H]. */
  @Override
  public float[] output() {
    Recurrent s = w.spec();
    int d = s.directions();
    int n = w.batch();
    int h = s.hidden();
    float[] out = new float[w.steps() * n * d * h];
    for (int t = 0; t < w.steps(); t++) {
      for (int k = 0; k < d; k++) {
        for (int i = 0; i < n; i++) {
          for (int j = 0; j < h; j++) {
            out[((t * n + i) * d + k) * h + j] = y.get(((t * d + k) * n + i) * h + j);
          }
        }
      }
    }
    return out;
  }

  @Override
  public void close() {
    try {
      session.close();
    } catch (OrtException e) {
      throw new IllegalStateException(e);
    }
    x.close();
    pinned.values().forEach(OnnxValue::close);
  }
}
