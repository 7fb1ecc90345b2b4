package dev.jrnn.cli;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.io.Npy;
import dev.jrnn.ir.DataOp;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.IrValue;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Named tensors from {@code --input NAME=FILE.npy} options, or made up for benchmarking. */
final class Inputs implements AutoCloseable {

  final Map<String, Tensor> values = new LinkedHashMap<>();

  /** Reads every {@code --input NAME=FILE.npy}; {@code specs} are the option's values. */
  static Inputs read(List<String> specs) throws IOException {
    Inputs in = new Inputs();
    try {
      for (String spec : specs) {
        int eq = spec.indexOf('=');
        if (eq <= 0 || eq == spec.length() - 1) {
          throw new UsageException("--input takes NAME=FILE.npy, got '" + spec + "'");
        }
        String name = spec.substring(0, eq);
        if (in.values.containsKey(name)) {
          throw new UsageException("input '" + name + "' is given twice");
        }
        in.values.put(name, Npy.read(Path.of(spec.substring(eq + 1))));
      }
    } catch (IOException | RuntimeException e) {
      in.close();
      throw e;
    }
    return in;
  }

  /**
   * Fills every graph input not given with random data: floats uniform in [-1, 1), token ids below
   * the vocabulary of the embedding that reads them, sequence lengths equal to the full length.
   * Dynamic dimensions take their sizes from {@code dims} (name to size).
   */
  void fillMissing(Graph g, Map<String, Integer> dims, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    Map<String, Integer> sizes = new HashMap<>(dims);
    for (Map.Entry<String, Value> e : g.inputs().entrySet()) { // sizes of given inputs count too
      Tensor t = values.get(e.getKey());
      if (t != null && t.rank() == e.getValue().dims().size()) {
        for (int i = 0; i < t.rank(); i++) {
          Dim d = e.getValue().dims().get(i);
          if (!d.isFixed()) {
            sizes.putIfAbsent(d.name(), t.dim(i));
          }
        }
      }
    }
    List<String> missing = new ArrayList<>();
    for (Map.Entry<String, Value> e : g.inputs().entrySet()) {
      if (values.containsKey(e.getKey())) {
        continue;
      }
      List<Dim> ds = e.getValue().dims();
      int[] shape = new int[ds.size()];
      for (int i = 0; i < shape.length; i++) {
        Dim d = ds.get(i);
        Integer s = d.isFixed() ? Integer.valueOf(d.size()) : sizes.get(d.name());
        if (s == null) {
          missing.add(d.name() + " (input '" + e.getKey() + "' axis " + i + ")");
          s = 1;
        }
        shape[i] = s;
      }
      if (!missing.isEmpty()) {
        continue;
      }
      Tensor t = Tensor.allocate(e.getValue().dtype(), shape);
      values.put(e.getKey(), t);
      if (t.dtype() == DType.F32) {
        for (long i = 0; i < t.size(); i++) {
          t.setFloat(i, (float) (rnd.nextDouble() * 2 - 1));
        }
        continue;
      }
      Use use = use(g, e.getValue(), sizes);
      for (long i = 0; i < t.size(); i++) {
        t.setInt(i, use.vocab > 0 ? rnd.nextInt(use.vocab) : use.length);
      }
      if (use.vocab == 0 && use.length == 0) {
        throw new UsageException(
            "cannot make up int32 input '"
                + e.getKey()
                + "' (not token ids nor sequence lengths): give it with --input");
      }
    }
    if (!missing.isEmpty()) {
      throw new UsageException(
          "give the size of each dynamic dimension with --dim NAME=SIZE: " + missing);
    }
  }

  private record Use(int vocab, int length) {}

  /** How an int32 input is read: as embedding ids (vocabulary) or as sequence lengths. */
  private Use use(Graph g, Value v, Map<String, Integer> sizes) {
    for (Node n : IrGraph.of(g).nodes()) {
      for (int i = 0; i < n.inputCount(); i++) {
        if (n.input(i) != v) {
          continue;
        }
        if (n.op() instanceof Op.Embedding e) {
          return new Use(e.vocab(), 0);
        }
        if (n.op() instanceof Op.RecurrentLayer r && i == Op.RecurrentLayer.LENGTHS) {
          Dim t = n.input(0).dims().get(r.spec().isBatchFirst() ? 1 : 0);
          Integer steps = t.isFixed() ? Integer.valueOf(t.size()) : sizes.get(t.name());
          return new Use(0, steps == null ? 0 : steps);
        }
        if (n.op() instanceof DataOp.Gather && i == 1) {
          Tensor table = values.get(inputName(n.input(0)));
          return new Use(table == null ? 0 : table.dim(0), 0);
        }
      }
    }
    return new Use(0, 0);
  }

  private static String inputName(IrValue v) {
    return v.node().op() instanceof Op.Input in ? in.name() : null;
  }

  /** The inputs the graph reads (weight inputs of an ONNX model left out). */
  Map<String, Tensor> forGraph(Graph g) {
    Map<String, Tensor> m = new LinkedHashMap<>();
    values.forEach(
        (k, v) -> {
          if (g.inputs().containsKey(k)) {
            m.put(k, v);
          }
        });
    return m;
  }

  @Override
  public void close() {
    values.values().forEach(Tensor::close);
  }
}
