package dev.jrnn.io;

import static dev.jrnn.io.TorchImport.key;
import static dev.jrnn.io.TorchImport.torchKey;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Model;
import dev.jrnn.ModelFormatException;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.IrValue;
import dev.jrnn.ir.Op;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A PyTorch model as a {@code state_dict} plus a small JSON description of its layers: the graph
 * comes from the description, the sizes (vocabulary, hidden size, layers, directions, projection,
 * biases) from the tensors, the weights through {@link TorchImport}.
 *
 * <pre>{@code
 * {"inputs": [{"name": "ids", "dtype": "int32", "dims": ["N", "T"]}],
 *  "layers": [{"type": "embedding", "module": "emb"},
 *             {"type": "lstm", "module": "rnn", "batch_first": true},
 *             {"type": "last_step"},
 *             {"type": "linear", "module": "fc"},
 *             {"type": "log_softmax"}],
 *  "output": "log_probs"}
 * }</pre>
 *
 * Layer types: {@code embedding}, {@code lstm}, {@code gru}, {@code rnn} ({@code "nonlinearity":
 * "tanh"|"relu"}), {@code linear}, {@code last_step}, {@code dropout} ({@code "p"}, default 0.5;
 * identity at inference), {@code tanh}, {@code sigmoid}, {@code relu}, {@code softmax}, {@code
 * log_softmax}. A recurrent layer may take {@code "initial_state": ["h0", "c0"]} (new graph inputs)
 * and {@code "final_state": ["h_n", "c_n"]} (extra graph outputs); a top-level {@code "lengths":
 * "<input>"} names an int32 {@code [N]} input of sequence lengths for every recurrent layer and
 * {@code last_step}. Keys the model does not use are an error unless {@code "strict": false}.
 */
public final class TorchDescription {

  /** The format's name, as {@link Model#format()} gives it. */
  public static final String FORMAT = "PyTorch state_dict";

  /** The layer types a description may use. */
  public static final List<String> LAYER_TYPES =
      List.of(
          "embedding",
          "lstm",
          "gru",
          "rnn",
          "linear",
          "last_step",
          "dropout",
          "tanh",
          "sigmoid",
          "relu",
          "softmax",
          "log_softmax");

  private TorchDescription() {}

  /** Reads a state_dict file and a JSON description file into a whole model. */
  public static Model load(Path stateDict, Path description) {
    String json;
    try {
      json = Files.readString(description);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + description, e);
    }
    try (SafeTensors.Contents sd = TorchImport.readStateDict(stateDict)) {
      return fromDescription(json, sd.tensors(), description.toString());
    }
  }

  /**
   * Builds the model a JSON description gives (see the class comment) and reads its weights from
   * {@code stateDict} (the caller keeps ownership of its tensors). {@code where} names the
   * description in errors.
   */
  public static Model fromDescription(String json, Map<String, Tensor> stateDict, String where) {
    Map<String, Object> d = Json.parseObject(json, where);
    Description desc = new Description(d, stateDict, where);
    Graph g = desc.build();
    boolean strict = !Boolean.FALSE.equals(d.get("strict"));
    try {
      return new Model(g, TorchImport.weights(g, stateDict, desc.modules, strict), FORMAT);
    } catch (IllegalArgumentException e) {
      throw new ModelFormatException(where + ": " + e.getMessage(), e);
    }
  }

  private static final class Description {
    final Map<String, Object> d;
    final Map<String, Tensor> sd;
    final String where;
    final Map<String, String> modules = new HashMap<>();
    final IrGraph.Builder b = IrGraph.builder();
    final Map<String, IrValue> inputs = new LinkedHashMap<>();
    final Set<String> names = new java.util.HashSet<>();

    Description(Map<String, Object> d, Map<String, Tensor> sd, String where) {
      this.d = d;
      this.sd = sd;
      this.where = where;
    }

    IrGraph build() {
      try {
        List<Object> ins = GraphJson.list(d, "inputs", where);
        if (ins.isEmpty()) {
          throw new ModelFormatException(where + ": 'inputs' is empty");
        }
        for (Object o : ins) {
          Map<String, Object> in = GraphJson.object(o, where);
          String name = GraphJson.str(in, "name", where);
          List<Object> dl = GraphJson.list(in, "dims", where);
          Dim[] dims = new Dim[dl.size()];
          for (int i = 0; i < dims.length; i++) {
            dims[i] =
                dl.get(i) instanceof Long l
                    ? Dim.of(Math.toIntExact(l))
                    : GraphJson.dim(String.valueOf(dl.get(i)));
          }
          inputs.put(name, b.input(name, dtype(GraphJson.str(in, "dtype", where)), dims));
        }
        IrValue lengths = null;
        if (d.get("lengths") != null) {
          String ln = GraphJson.str(d, "lengths", where);
          lengths = inputs.get(ln);
          if (lengths == null) {
            throw new ModelFormatException(
                where
                    + ": 'lengths' names '"
                    + ln
                    + "', which is not among the inputs "
                    + inputs.keySet());
          }
        }
        IrValue cur =
            inputs.values().stream()
                .filter(v -> !v.node().name().equals(String.valueOf(d.get("lengths"))))
                .findFirst()
                .orElseThrow(() -> new ModelFormatException(where + ": no sequence input"));
        boolean batchFirst = false;
        List<Object> layers = GraphJson.list(d, "layers", where);
        for (int i = 0; i < layers.size(); i++) {
          Map<String, Object> l = GraphJson.object(layers.get(i), where);
          String at = where + ": layer " + i;
          String type = GraphJson.str(l, "type", at).toLowerCase(Locale.ROOT);
          at += " (" + type + ")";
          switch (type) {
            case "embedding" -> {
              String m = module(l, at);
              int[] s = shape(key(m, "weight"), 2, at);
              cur = b.embedding(nodeName(l, m), cur, s[0], s[1]);
            }
            case "linear" -> {
              String m = module(l, at);
              int[] s = shape(key(m, "weight"), 2, at);
              cur = b.linear(nodeName(l, m), cur, s[0], sd.containsKey(key(m, "bias")));
            }
            case "lstm", "gru", "rnn" -> {
              Recurrent spec = spec(type, l, at);
              batchFirst = spec.isBatchFirst();
              List<String> init = names(l, "initial_state", at);
              int states = type.equals("lstm") ? 2 : 1;
              if (!init.isEmpty() && init.size() != states) {
                throw new ModelFormatException(
                    at + ": 'initial_state' needs " + states + " names, got " + init);
              }
              IrValue h0 =
                  init.isEmpty() ? null : stateInput(init.get(0), spec, spec.outputHidden());
              IrValue c0 = init.size() < 2 ? null : stateInput(init.get(1), spec, spec.hidden());
              cur = b.recurrent(cur, spec, lengths, h0, c0);
              List<String> fin = names(l, "final_state", at);
              if (fin.size() > states) {
                throw new ModelFormatException(
                    at + ": 'final_state' has at most " + states + " names, got " + fin);
              }
              for (int k = 0; k < fin.size(); k++) {
                b.output(fin.get(k), k == 0 ? cur.finalH() : cur.finalC());
              }
            }
            case "last_step" ->
                cur =
                    cur.node().op() instanceof Op.RecurrentLayer && cur.index() == 0
                        ? b.lastStep(cur)
                        : b.lastStep(cur, lengths, batchFirst);
            case "dropout" -> cur = b.dropout(cur, probability(l, "p", 0.5, at));
            case "tanh" -> cur = b.tanh(cur);
            case "sigmoid" -> cur = b.sigmoid(cur);
            case "relu" -> cur = b.relu(cur);
            case "softmax" -> cur = b.softmax(cur);
            case "log_softmax" -> cur = b.logSoftmax(cur);
            default ->
                throw new ModelFormatException(
                    at + ": unknown layer type; known: " + String.join(", ", LAYER_TYPES));
          }
        }
        String out = d.get("output") == null ? "output" : GraphJson.str(d, "output", where);
        b.output(out, cur);
        return b.build();
      } catch (IllegalArgumentException | ArithmeticException e) {
        if (e instanceof ModelFormatException m) {
          throw m;
        }
        throw new ModelFormatException(where + ": " + e.getMessage(), e);
      }
    }

    private IrValue stateInput(String name, Recurrent spec, int size) {
      if (inputs.containsKey(name)) {
        return inputs.get(name);
      }
      IrValue v =
          b.input(
              name,
              DType.F32,
              Dim.of(spec.layers() * spec.directions()),
              Dim.dyn("N"),
              Dim.of(size));
      inputs.put(name, v);
      return v;
    }

    private String module(Map<String, Object> l, String at) {
      if (!(l.get("module") instanceof String m)) {
        throw new ModelFormatException(
            at
                + ": 'module' (the PyTorch module name, the prefix of its state_dict keys) is"
                + " required");
      }
      return m;
    }

    private String nodeName(Map<String, Object> l, String module) {
      String n = l.get("name") instanceof String s ? s : module.isEmpty() ? "module" : module;
      modules.put(n, module);
      return n;
    }

    private int[] shape(String key, int rank, String at) {
      Tensor t = sd.get(key);
      if (t == null) {
        throw new ModelFormatException(
            at
                + ": the state_dict has no '"
                + key
                + "'; its keys: "
                + String.join(", ", new TreeSet<>(sd.keySet())));
      }
      if (t.rank() != rank) {
        throw new ModelFormatException(
            at
                + ": '"
                + key
                + "' has shape "
                + Arrays.toString(t.shape())
                + ", expected rank "
                + rank);
      }
      return t.shape();
    }

    /** A probability in [0, 1) under {@code key}, else {@code def}. */
    private static double probability(Map<String, Object> l, String key, double def, String at) {
      double p = l.get(key) == null ? def : GraphJson.number(l.get(key), at).doubleValue();
      if (!(p >= 0 && p < 1)) {
        throw new ModelFormatException(at + ": '" + key + "' must be in [0, 1), got " + p);
      }
      return p;
    }

    private Recurrent spec(String type, Map<String, Object> l, String at) {
      String m = module(l, at);
      int gates = type.equals("lstm") ? 4 : type.equals("gru") ? 3 : 1;
      int[] wih = shape(torchKey(m, "weight_ih", 0, false), 2, at);
      if (wih[0] % gates != 0) {
        throw new ModelFormatException(
            at
                + ": '"
                + torchKey(m, "weight_ih", 0, false)
                + "' has "
                + wih[0]
                + " rows, not a multiple of "
                + gates
                + " gates: is this really a "
                + type
                + "?");
      }
      int hidden = wih[0] / gates;
      int layers = 0;
      while (sd.containsKey(torchKey(m, "weight_ih", layers, false))) {
        layers++;
      }
      boolean bidirectional = sd.containsKey(torchKey(m, "weight_ih", 0, true));
      Recurrent s =
          switch (type) {
            case "lstm" -> Recurrent.lstm(hidden);
            case "gru" -> Recurrent.gru(hidden);
            default -> Recurrent.rnn(hidden);
          };
      s =
          s.layers(layers)
              .name(nodeName(l, m))
              .batchFirst(Boolean.TRUE.equals(l.get("batch_first")));
      if (bidirectional) {
        s = s.bidirectional();
      }
      if (l.get("dropout") != null) {
        s = s.dropout(probability(l, "dropout", 0, at));
      }
      String hr = torchKey(m, "weight_hr", 0, false);
      if (sd.containsKey(hr)) {
        if (!type.equals("lstm")) {
          throw new ModelFormatException(at + ": '" + hr + "' exists but only LSTMs project");
        }
        s = s.projection(shape(hr, 2, at)[0]);
      }
      if (type.equals("rnn")) {
        String nl = l.get("nonlinearity") == null ? "tanh" : GraphJson.str(l, "nonlinearity", at);
        switch (nl) {
          case "tanh" -> {}
          case "relu" -> s = s.relu();
          default ->
              throw new ModelFormatException(
                  at + ": nonlinearity '" + nl + "' is not tanh or relu");
        }
      } else if (l.containsKey("nonlinearity")) {
        throw new ModelFormatException(at + ": 'nonlinearity' applies to rnn layers only");
      }
      expect(l, "hidden_size", hidden, at);
      expect(l, "num_layers", layers, at);
      expect(l, "proj_size", s.projection(), at);
      if (l.get("bidirectional") instanceof Boolean bi && bi != bidirectional) {
        throw new ModelFormatException(
            at
                + ": the description says bidirectional="
                + bi
                + ", the state_dict "
                + (bidirectional ? "has" : "has no")
                + " _reverse weights");
      }
      return s;
    }

    private void expect(Map<String, Object> l, String key, int actual, String at) {
      if (l.get(key) != null && GraphJson.integer(l, key, at) != actual) {
        throw new ModelFormatException(
            at
                + ": the description says "
                + key
                + "="
                + l.get(key)
                + ", the state_dict's"
                + " shapes say "
                + actual);
      }
    }

    private List<String> names(Map<String, Object> l, String key, String at) {
      if (l.get(key) == null) {
        return List.of();
      }
      List<String> out = new ArrayList<>();
      for (Object o : GraphJson.list(l, key, at)) {
        if (!(o instanceof String s) || !names.add(s)) {
          throw new ModelFormatException(at + ": '" + key + "' must list distinct names, got " + o);
        }
        out.add(s);
      }
      return out;
    }

    private DType dtype(String s) {
      return switch (s.toLowerCase(Locale.ROOT)) {
        case "float32", "float", "f32" -> DType.F32;
        case "int32", "int64", "long", "int", "i32" -> DType.I32;
        default ->
            throw new ModelFormatException(
                where + ": input dtype '" + s + "' is not float32, int32 or int64");
      };
    }
  }
}
