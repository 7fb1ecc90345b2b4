package dev.jrnn.bench;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.jrnn.DType;
import dev.jrnn.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * ONNX Runtime Java running a whole ONNX model file on jrnn tensors: int32 inputs become int64
 * where the model wants int64, outputs come back as float arrays by output name.
 */
public final class OrtModel implements AutoCloseable {

  private final OrtSession session;
  private final Map<String, OnnxTensor> inputs = new LinkedHashMap<>();

  /**
   * Loads {@code model} with {@code threads} intra-op threads and binds {@code values} (every model
   * input by name; extra entries are ignored).
   */
  public OrtModel(byte[] model, int threads, Map<String, Tensor> values) {
    try {
      OrtEnvironment env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
      session = env.createSession(model, options(threads));
      try {
        for (Map.Entry<String, NodeInfo> e : session.getInputInfo().entrySet()) {
          Tensor t = values.get(e.getKey());
          if (t == null) {
            throw new IllegalArgumentException(
                "ONNX Runtime needs input '" + e.getKey() + "', which was not given");
          }
          inputs.put(e.getKey(), tensor(env, t, (TensorInfo) e.getValue().getInfo()));
        }
      } catch (RuntimeException | OrtException e) {
        close();
        throw e;
      }
    } catch (OrtException e) {
      throw new IllegalStateException("ONNX Runtime cannot load the model: " + e.getMessage(), e);
    }
  }

  /**
   * How every ONNX Runtime session in the benchmarks is configured: {@code threads} intra-op
   * threads, sequential execution, all graph optimizations.
   */
  static OrtSession.SessionOptions options(int threads) throws OrtException {
    OrtSession.SessionOptions o = new OrtSession.SessionOptions();
    o.setIntraOpNumThreads(threads);
    o.setInterOpNumThreads(1);
    o.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
    o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
    return o;
  }

  private static OnnxTensor tensor(OrtEnvironment env, Tensor t, TensorInfo info)
      throws OrtException {
    long[] shape = java.util.Arrays.stream(t.shape()).asLongStream().toArray();
    int n = Math.toIntExact(t.size());
    ByteBuffer raw =
        ByteBuffer.allocateDirect(n * (info.type == OnnxJavaType.INT64 ? 8 : 4))
            .order(ByteOrder.nativeOrder());
    if (info.type == OnnxJavaType.INT64) {
      LongBuffer b = raw.asLongBuffer();
      for (long i = 0; i < n; i++) {
        b.put(t.dtype() == DType.I32 ? t.getInt(i) : (long) t.getFloat(i));
      }
      return OnnxTensor.createTensor(env, b.rewind(), shape);
    }
    if (info.type == OnnxJavaType.INT32) {
      IntBuffer b = raw.asIntBuffer();
      for (long i = 0; i < n; i++) {
        b.put(t.dtype() == DType.I32 ? t.getInt(i) : (int) t.getFloat(i));
      }
      return OnnxTensor.createTensor(env, b.rewind(), shape);
    }
    if (info.type != OnnxJavaType.FLOAT) {
      throw new IllegalArgumentException(
          "input " + t.describe() + ": ONNX Runtime wants " + info.type + ", not supported here");
    }
    FloatBuffer b = raw.asFloatBuffer();
    for (long i = 0; i < n; i++) {
      b.put(t.dtype() == DType.F32 ? t.getFloat(i) : t.getInt(i));
    }
    return OnnxTensor.createTensor(env, b.rewind(), shape);
  }

  /** Runs the model once and discards the outputs (for timing). */
  public void run() {
    try {
      session.run(inputs).close();
    } catch (OrtException e) {
      throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
    }
  }

  /** Runs the model once; every output as floats, by name. */
  public Map<String, float[]> outputs() {
    Map<String, float[]> out = new LinkedHashMap<>();
    try (OrtSession.Result r = session.run(inputs)) {
      for (Map.Entry<String, OnnxValue> e : r) {
        OnnxTensor t = (OnnxTensor) e.getValue();
        TensorInfo info = t.getInfo();
        float[] v = new float[(int) info.getNumElements()];
        switch (info.type) {
          case FLOAT -> t.getFloatBuffer().get(v);
          case INT64 -> {
            LongBuffer b = t.getLongBuffer();
            for (int i = 0; i < v.length; i++) {
              v[i] = b.get(i);
            }
          }
          case INT32 -> {
            IntBuffer b = t.getIntBuffer();
            for (int i = 0; i < v.length; i++) {
              v[i] = b.get(i);
            }
          }
          default -> throw new IllegalStateException("output " + e.getKey() + " is " + info.type);
        }
        out.put(e.getKey(), v);
      }
    } catch (OrtException e) {
      throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
    }
    return out;
  }

  @Override
  public void close() {
    inputs.values().forEach(OnnxValue::close);
    try {
      session.close();
    } catch (OrtException e) {
      throw new IllegalStateException(e);
    }
  }
}
