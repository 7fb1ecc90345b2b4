package dev.jrnn.bench;

import dev.jrnn.DType;
import dev.jrnn.Options;
import dev.jrnn.Precision;
import dev.jrnn.Recurrent;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import java.util.LinkedHashMap;
import java.util.Map;

/** A jrnn backend running the workload through {@link Session#run(Map, Map)}. */
final class JrnnEngine implements Engine {

  private final Session session;
  private final Map<String, Tensor> inputs;
  private final Map<String, Tensor> outputs = new LinkedHashMap<>();
  private final Precision read;

  JrnnEngine(String backend, Workload w, int threads, Weights weights, Tensor x, Precision p) {
    PrecisionProbe.Opened o =
        PrecisionProbe.open(w.graph(), weights, Options.backend(backend).threads(threads), p);
    this.session = o.session();
    this.read = o.read();
    this.inputs = Map.of("x", x);
    Recurrent s = w.spec();
    int ld = s.layers() * s.directions();
    outputs.put("y", Tensor.allocate(DType.F32, w.steps(), w.batch(), s.outputSize()));
    outputs.put("h", Tensor.allocate(DType.F32, ld, w.batch(), s.outputHidden()));
    if (s.cell() == Recurrent.Cell.LSTM) {
      outputs.put("c", Tensor.allocate(DType.F32, ld, w.batch(), s.hidden()));
    }
  }

  @Override
  public void run() {
    session.run(inputs, outputs);
  }

  @Override
  public float[] output() {
    return outputs.get("y").toFloatArray();
  }

  @Override
  public Precision readPrecision() {
    return read;
  }

  /** Node name to backend, for reports. */
  Map<String, String> placement() {
    return session.placement();
  }

  @Override
  public void close() {
    session.close();
    outputs.values().forEach(Tensor::close);
  }
}
