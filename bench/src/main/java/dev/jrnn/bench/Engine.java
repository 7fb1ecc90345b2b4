package dev.jrnn.bench;

import dev.jrnn.Tensor;
import dev.jrnn.Weights;

/** Something that runs a {@link Workload} repeatedly into preallocated outputs. */
public interface Engine extends AutoCloseable {

  /** One forward pass. */
  void run();

  /** The output sequence y as time-major {@code [T, N, D·H]} floats, after {@link #run}. */
  float[] output();

  @Override
  void close();

  /**
   * Opens {@code name} ({@code ort} for ONNX Runtime, else a jrnn backend) on the workload with the
   * given weights and input.
   */
  static Engine open(String name, Workload w, int threads, Weights weights, Tensor x) {
    return name.equals("ort")
        ? new OrtEngine(w, threads, weights, x)
        : new JrnnEngine(name, w, threads, weights, x);
  }
}
