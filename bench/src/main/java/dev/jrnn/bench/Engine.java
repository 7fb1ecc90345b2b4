package dev.jrnn.bench;

import dev.jrnn.Precision;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;

/** Something that runs a {@link Workload} repeatedly into preallocated outputs. */
public interface Engine extends AutoCloseable {

  /** One forward pass. */
  void run();

  /** The output sequence y as time-major {@code [T, N, D·H]} floats, after {@link #run}. */
  float[] output();

  /**
   * The precision the engine's kernels read the weight matrices in: the one it was opened with, or
   * {@link Precision#F32} where the session widened a reduced precision it has no kernels for.
   */
  default Precision readPrecision() {
    return Precision.F32;
  }

  @Override
  void close();

  /**
   * Opens {@code name} ({@code ort} for ONNX Runtime, else a jrnn backend) on the workload with the
   * given weights and input.
   */
  static Engine open(String name, Workload w, int threads, Weights weights, Tensor x) {
    return open(name, w, threads, weights, x, Precision.F32);
  }

  /**
   * Opens {@code name} with its weight matrices in precision {@code p} (see {@link
   * #readPrecision}); ONNX Runtime ({@code ort}) runs f32 only.
   *
   * @throws IllegalArgumentException for {@code ort} in a reduced precision
   */
  static Engine open(String name, Workload w, int threads, Weights weights, Tensor x, Precision p) {
    if (name.equals("ort")) {
      if (p != Precision.F32) {
        throw new IllegalArgumentException(
            "ort (ONNX Runtime) runs f32 weights only, not " + p.name().toLowerCase());
      }
      return new OrtEngine(w, threads, weights, x);
    }
    return new JrnnEngine(name, w, threads, weights, x, p);
  }
}
