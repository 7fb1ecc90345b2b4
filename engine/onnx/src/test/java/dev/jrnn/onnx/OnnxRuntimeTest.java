package dev.jrnn.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.jrnn.DType;
import dev.jrnn.Options;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.testing.OnnxFixture;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * ONNX Runtime Java as a second oracle for the imported models: every test model it can run, on
 * jrnn's {@code java} backend, at ≤ 1e-5 from ONNX Runtime's outputs. (The expected outputs are
 * checked on every backend by {@link dev.jrnn.testing.OnnxSuite}.)
 */
class OnnxRuntimeTest {

  private static final Map<String, Double> WORST = new ConcurrentHashMap<>();

  /**
   * ONNX Runtime as a second oracle. It rejects {@code layout=1} (the batchwise and layout1
   * models), so those are compared with the expected values only.
   */
  static Stream<String> ortCases() {
    return OnnxFixture.names().stream()
        .filter(n -> !n.contains("layout1") && !n.contains("batchwise"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("ortCases")
  void matchesOnnxRuntime(String name) throws Exception {
    OrtEnvironment env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
    try (OnnxFixture f = OnnxFixture.load(name);
        OrtSession ort = env.createSession(f.model, new OrtSession.SessionOptions())) {
      Map<String, OnnxTensor> in = new HashMap<>();
      try {
        for (Map.Entry<String, NodeInfo> e : ort.getInputInfo().entrySet()) {
          Tensor t = f.inputs().get(e.getKey());
          TensorInfo info = (TensorInfo) e.getValue().getInfo();
          long[] shape = java.util.Arrays.stream(t.shape()).asLongStream().toArray();
          if (info.type == OnnxJavaType.INT64) {
            int[] v = t.toIntArray();
            LongBuffer lb =
                ByteBuffer.allocateDirect(v.length * 8)
                    .order(ByteOrder.nativeOrder())
                    .asLongBuffer();
            for (int x : v) {
              lb.put(x);
            }
            in.put(e.getKey(), OnnxTensor.createTensor(env, lb.rewind(), shape));
          } else if (t.dtype() == DType.I32) {
            in.put(
                e.getKey(),
                OnnxTensor.createTensor(env, java.nio.IntBuffer.wrap(t.toIntArray()), shape));
          } else {
            in.put(
                e.getKey(),
                OnnxTensor.createTensor(env, FloatBuffer.wrap(t.toFloatArray()), shape));
          }
        }
        OnnxModel m = OnnxModel.read(f.model, name);
        Map<String, Tensor> data = new LinkedHashMap<>(f.inputs());
        m.weightInputs().forEach(data::remove);
        try (OrtSession.Result ortOut = ort.run(in);
            Weights w = m.weights(f.inputs());
            Session s = Session.open(m.graph(), w, Options.backend("java"));
            Result r = s.run(data)) {
          double worst = 0;
          for (Map.Entry<String, OnnxValue> e : ortOut) {
            float[] ours = r.get(e.getKey()).toFloatArray();
            FloatBuffer theirs = ((OnnxTensor) e.getValue()).getFloatBuffer();
            assertEquals(theirs.remaining(), ours.length, e.getKey() + " sizes");
            for (int i = 0; i < ours.length; i++) {
              worst = Math.max(worst, Math.abs((double) ours[i] - theirs.get(i)));
            }
          }
          WORST.put(name, worst);
          System.out.printf("onnx %-42s vs onnxruntime max|diff| %.2e%n", name, worst);
          assertTrue(worst <= 1e-5, name + " vs ONNX Runtime: max abs diff " + worst);
        }
      } finally {
        in.values().forEach(OnnxTensor::close);
      }
    }
  }

  @AfterAll
  static void summary() {
    WORST.entrySet().stream()
        .max(Map.Entry.comparingByValue())
        .ifPresent(
            e ->
                System.out.printf(
                    "onnx vs onnxruntime: %d models, largest max|diff| %.2e (%s)%n",
                    WORST.size(), e.getValue(), e.getKey()));
  }
}
