package dev.jrnn.exec;

import dev.jrnn.DType;
import dev.jrnn.Precision;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Precisions;
import dev.jrnn.ir.WeightSpec;
import dev.jrnn.spi.Backend;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The weights a node compiles with, in the precision the session asks for: the requested {@link
 * Precision} (or the one each matrix is stored in) for weight matrices, f32 for everything else;
 * widened to f32 once, with one log line per session, where the node's backend has no kernel for
 * that precision — so every backend computes with the same weight values.
 */
final class NodeWeights {

  private static final Logger LOG = System.getLogger("dev.jrnn");

  private NodeWeights() {}

  /**
   * Node {@code n}'s weights by canonical name (int8 matrices with their {@code .scale}) for
   * backend {@code b}: views of {@code weights} where nothing changes, else new tensors added to
   * {@code owned} (the caller closes them once the node is compiled). {@code requested}: the
   * session's precision, or null for the stored one; {@code widened} collects what was logged;
   * {@code read} gets each weight matrix's name and the precision the backend's kernels read it in.
   */
  static Map<String, Tensor> of(
      Node n,
      Weights weights,
      Precision requested,
      Backend b,
      List<Tensor> owned,
      Set<String> widened,
      Map<String, Precision> read) {
    Map<String, Tensor> w = new LinkedHashMap<>();
    for (WeightSpec s : n.weights()) {
      String name = s.name();
      Tensor t = weights.get(name);
      Tensor scale = scaleOf(weights, name, t);
      Precision stored = Precisions.of(t.dtype());
      Precision p = !s.matrix() ? Precision.F32 : requested != null ? requested : stored;
      Tensor v = t; // the weight in precision p
      Tensor vs = scale;
      if (p != stored) {
        Map<String, Tensor> c = keep(Precisions.convert(name, t, scale, p), owned);
        v = c.get(name);
        vs = c.get(Precisions.scaleName(name));
      }
      boolean kernels = p == Precision.F32 || b.reducedWeights(n, p);
      if (s.matrix()) {
        read.put(name, kernels ? p : Precision.F32);
      }
      if (kernels) {
        w.put(name, v);
        if (vs != null) {
          w.put(Precisions.scaleName(name), vs);
        }
      } else { // a precision the backend has no kernels for: its values, in f32
        if (widened.add(b.name() + "/" + p)) {
          LOG.log(
              Level.INFO,
              "jrnn: "
                  + b.name()
                  + " has no "
                  + p.name().toLowerCase()
                  + " kernels for "
                  + n.op().kind()
                  + " '"
                  + n.name()
                  + "': its "
                  + p.name().toLowerCase()
                  + " weights are widened to f32 once, at open");
        }
        w.put(name, keep(Tensor.of(Precisions.floats(name, v, vs), t.shape()), owned));
      }
    }
    return w;
  }

  /** A copy of {@code weights} with {@code graph}'s matrices in {@code precision}. */
  static Weights convert(IrGraph graph, Weights weights, Precision precision) {
    Map<String, WeightSpec> specs = new LinkedHashMap<>();
    for (Node n : graph.nodes()) {
      for (WeightSpec s : n.weights()) {
        specs.put(s.name(), s);
      }
    }
    weights.checkAgainst(graph);
    Weights out = Weights.empty();
    try {
      for (String name : weights.names()) {
        String base = name.endsWith(".scale") ? name.substring(0, name.length() - 6) : null;
        if (base != null && weights.contains(base) && weights.get(base).dtype() == DType.I8) {
          continue; // the scale of an int8 matrix: converted with it
        }
        Tensor t = weights.get(name);
        WeightSpec s = specs.get(name);
        if (s != null && s.matrix()) {
          Precisions.convert(name, t, scaleOf(weights, name, t), precision).forEach(out::put);
        } else {
          out.put(name, t.copy());
        }
      }
      weights.metadata().forEach(out::putMetadata);
      return out;
    } catch (RuntimeException e) {
      out.close();
      throw e;
    }
  }

  /** Every weight {@code graph} trains must be f32: throws naming the first that is not. */
  static void requireF32(IrGraph graph, Weights weights) {
    graph
        .weightShapes()
        .keySet()
        .forEach(
            name -> {
              DType d = weights.contains(name) ? weights.get(name).dtype() : DType.F32;
              if (d != DType.F32) {
                throw new IllegalArgumentException(
                    "weight '"
                        + name
                        + "' is "
                        + d
                        + ": training needs f32 weights; widen them first with"
                        + " weights.toPrecision(graph, Precision.F32)");
              }
            });
  }

  private static Tensor scaleOf(Weights weights, String name, Tensor t) {
    return t.dtype() == DType.I8 ? weights.get(Precisions.scaleName(name)) : null;
  }

  private static Tensor keep(Tensor t, List<Tensor> owned) {
    owned.add(t);
    return t;
  }

  private static Map<String, Tensor> keep(Map<String, Tensor> ts, List<Tensor> owned) {
    owned.addAll(ts.values());
    return ts;
  }

  /** Closes what {@link #of} allocated. */
  static void close(List<Tensor> owned) {
    owned.forEach(Tensor::close);
    owned.clear();
  }

  static List<Tensor> newOwned() {
    return new ArrayList<>();
  }
}
