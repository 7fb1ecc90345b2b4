package dev.jrnn.io;

import dev.jrnn.Activation;
import dev.jrnn.DType;
import dev.jrnn.Graph;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.ir.DataOp;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.ir.Precisions;
import dev.jrnn.ir.WeightSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * PyTorch {@code state_dict}s saved as safetensors, under PyTorch's own key names, into canonical
 * {@link Weights}.
 *
 * <p>For a graph, {@link #weights(Graph, Map, Map, boolean)} maps each node with weights to a
 * PyTorch module (by default the module named like the node): {@code Embedding} reads {@code
 * <module>.weight}, {@code Linear} {@code <module>.weight} and {@code .bias}, a recurrent layer
 * {@code <module>.weight_ih_l<k>[_reverse]}, {@code weight_hh}, {@code bias_ih}, {@code bias_hh}
 * and {@code weight_hr} (LSTM {@code proj_size}). GRU gates are reordered from PyTorch's r, z, n to
 * the canonical z, r, n; a layer built with {@code bias=False} gets zero biases. {@link
 * TorchDescription} builds the graph itself from a small JSON description.
 */
public final class TorchImport {

  private TorchImport() {}

  /** Reads the state_dict of a graph built in code; modules are named like the nodes. */
  public static Weights weights(Graph graph, Path stateDict) {
    try (SafeTensors.Contents sd = readStateDict(stateDict)) {
      return weights(graph, sd.tensors(), Map.of(), true);
    }
  }

  /** A state_dict's tensors, bfloat16 ones widened to F32 (exact). */
  static SafeTensors.Contents readStateDict(Path file) {
    try {
      SafeTensors.Contents c = SafeTensors.read(file);
      c.tensors()
          .replaceAll(
              (name, t) -> {
                if (t.dtype() != DType.BF16) {
                  return t;
                }
                try (t) {
                  return Tensor.of(Precisions.floats(name, t, null), t.shape());
                }
              });
      return c;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }

  /**
   * Canonical weights for {@code graph} from a state_dict (the caller keeps ownership of its
   * tensors; the result holds copies).
   *
   * @param modules node name to PyTorch module prefix ({@code ""} for a bare module such as a
   *     state_dict of one {@code nn.LSTM}); nodes not listed use their own name
   * @param strict whether state_dict keys the graph does not read are an error
   */
  public static Weights weights(
      Graph g, Map<String, Tensor> stateDict, Map<String, String> modules, boolean strict) {
    IrGraph graph = IrGraph.of(g);
    Reader r = new Reader(stateDict);
    Weights w = Weights.empty();
    try {
      for (Node n : graph.nodes()) {
        String module = modules.getOrDefault(n.name(), n.name());
        List<WeightSpec> specs = n.weights();
        switch (n.op()) {
          case Op.Embedding e -> r.copy(w, specs.get(0), key(module, "weight"), n);
          case Op.Linear l -> {
            r.copy(w, specs.get(0), key(module, "weight"), n);
            if (l.bias()) {
              r.copy(w, specs.get(1), key(module, "bias"), n);
            }
          }
          case Op.RecurrentLayer rl -> recurrent(r, w, n, rl, module);
          case Op.Input i -> {}
          case Op.Constant c -> {}
          case Op.Unary u -> {}
          case Op.Softmax s -> {}
          case Op.Binary b -> {}
          case Op.Concat c -> {}
          case Op.LastStep l -> {}
          case Op.Dropout d -> {}
          case DataOp d -> {}
        }
      }
      if (strict) {
        Set<String> unused = new TreeSet<>(stateDict.keySet());
        unused.removeAll(r.used);
        if (!unused.isEmpty()) {
          throw new IllegalArgumentException(
              "the state_dict has keys the model does not use: "
                  + String.join(", ", unused)
                  + " (pass strict=false, or \"strict\": false in a description, to ignore them)");
        }
      }
      w.checkAgainst(graph);
      return w;
    } catch (RuntimeException e) {
      w.close();
      throw e;
    }
  }

  static String key(String module, String name) {
    return module.isEmpty() ? name : module + "." + name;
  }

  static String torchKey(String module, String kind, int layer, boolean reverse) {
    return key(module, kind + "_l" + layer + (reverse ? "_reverse" : ""));
  }

  private static void recurrent(Reader r, Weights w, Node n, Op.RecurrentLayer op, String module) {
    Recurrent s = op.spec();
    Map<String, WeightSpec> byName = new HashMap<>();
    for (WeightSpec ws : n.weights()) {
      byName.put(ws.name(), ws);
    }
    if (s.hasPeepholes() || s.isCoupledInputForget() || s.hasClip() || !torchActivations(s)) {
      throw new IllegalArgumentException(
          "node '"
              + n.name()
              + "': PyTorch recurrent layers have no peepholes, clip, coupled"
              + " gates or custom activations; "
              + s
              + " cannot come from a state_dict");
    }
    if (s.cell() == Recurrent.Cell.GRU && !s.isLinearBeforeReset()) {
      throw new IllegalArgumentException(
          "node '" + n.name() + "': PyTorch's GRU is linear-before-reset; this one is not");
    }
    if (s.direction() == Recurrent.Direction.REVERSE) {
      throw new IllegalArgumentException(
          "node '" + n.name() + "': PyTorch has no reverse-only recurrent layer");
    }
    int[] order = s.cell() == Recurrent.Cell.GRU ? new int[] {1, 0, 2} : null; // r,z,n -> z,r,n
    for (int l = 0; l < s.layers(); l++) {
      for (int d = 0; d < s.directions(); d++) {
        String p = op.weightPrefix(n.name(), l, d); // PyTorch has no reverse-only layer: d=1 rev
        boolean rev = d == 1;
        r.gates(w, byName.get(p + "W"), torchKey(module, "weight_ih", l, rev), n, order);
        r.gates(w, byName.get(p + "R"), torchKey(module, "weight_hh", l, rev), n, order);
        String bih = torchKey(module, "bias_ih", l, rev);
        String bhh = torchKey(module, "bias_hh", l, rev);
        if (r.has(bih) || r.has(bhh)) {
          r.gates(w, byName.get(p + "bW"), bih, n, order);
          r.gates(w, byName.get(p + "bR"), bhh, n, order);
        } else { // bias=False
          w.put(p + "bW", Tensor.allocate(DType.F32, byName.get(p + "bW").shape()));
          w.put(p + "bR", Tensor.allocate(DType.F32, byName.get(p + "bR").shape()));
        }
        if (s.projection() > 0) {
          r.copy(w, byName.get(p + "Wp"), torchKey(module, "weight_hr", l, rev), n);
        }
      }
    }
  }

  private static boolean torchActivations(Recurrent s) {
    if (s.hasDefaultActivations()) {
      return true;
    }
    return s.cell() == Recurrent.Cell.RNN
        && s.activations().stream().allMatch(a -> a.kind() == Activation.Kind.RELU);
  }

  /** Looks up state_dict tensors, checks their shapes and remembers which were read. */
  private static final class Reader {
    final Map<String, Tensor> sd;
    final Set<String> used = new LinkedHashSet<>();

    Reader(Map<String, Tensor> sd) {
      this.sd = sd;
    }

    boolean has(String key) {
      return sd.containsKey(key);
    }

    Tensor get(String key, WeightSpec spec, Node n) {
      Tensor t = sd.get(key);
      if (t == null) {
        int dot = key.lastIndexOf('.');
        String prefix = dot < 0 ? "" : key.substring(0, dot + 1);
        List<String> near =
            sd.keySet().stream().filter(k -> k.startsWith(prefix)).sorted().toList();
        throw new IllegalArgumentException(
            "the state_dict has no '"
                + key
                + "' for node '"
                + n.name()
                + "' ("
                + n.op().kind()
                + ")"
                + (near.isEmpty()
                    ? "; it has no keys starting with '" + prefix + "' either (wrong module name?)"
                    : "; keys under '" + prefix + "': " + String.join(", ", near)));
      }
      if (t.dtype() != DType.F32) {
        throw new IllegalArgumentException(
            "state_dict '" + key + "' is " + t.describe() + ", a weight must be floating point");
      }
      if (!Arrays.equals(t.shape(), spec.shape())) {
        throw new IllegalArgumentException(
            "state_dict '"
                + key
                + "' has shape "
                + Arrays.toString(t.shape())
                + " but node '"
                + n.name()
                + "' needs "
                + Arrays.toString(spec.shape())
                + " ("
                + spec.name()
                + ")");
      }
      used.add(key);
      return t;
    }

    void copy(Weights w, WeightSpec spec, String key, Node n) {
      w.put(spec.name(), get(key, spec, n).copy());
    }

    /**
     * Copies with the gate blocks (first dimension, 3 equal blocks) permuted when order != null.
     */
    void gates(Weights w, WeightSpec spec, String key, Node n, int[] order) {
      Tensor t = get(key, spec, n);
      if (order == null) {
        w.put(spec.name(), t.copy());
        return;
      }
      float[] src = t.toFloatArray();
      float[] dst = new float[src.length];
      int block = src.length / order.length;
      for (int g = 0; g < order.length; g++) {
        System.arraycopy(src, order[g] * block, dst, g * block, block);
      }
      w.put(spec.name(), Tensor.of(dst, t.shape()));
    }
  }
}
