package dev.jrnn.flink;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Options;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.State;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One task's session and a batch of {@code rows} streams: each row is loaded from a key's stored
 * state, given one event's inputs, stepped together with the others by one {@link Session#step},
 * and read back. Every step has {@code rows} rows (unused ones carry stale values, rows being
 * independent), so the session plans once and the step allocates nothing.
 *
 * <p>Layouts are found by probing the session once: whether inputs are batch-first (a {@code [1, 2,
 * …]} input makes a state of batch 2 for a time-major graph, of batch 1 for a batch-first one), and
 * which axis of each output is the batch (the one that grows from batch 2 to batch 3).
 */
final class Stepper<K, IN> implements AutoCloseable {

  private final Session session;
  private final State state;
  private final int rows;
  private final int rowSize;
  private final float[] zeros;
  private final List<RecurrentSpec.Input<IN>> specs;
  private final String[] inputNames;
  private final int[] perRow; // elements of one row of each input
  private final Tensor[] inputs;
  private final Map<String, Tensor> inputMap = new HashMap<>();
  private final String[] outputNames;
  private final int[] outer; // each output: elements before its batch axis …
  private final int[] inner; // … and after it
  private final Tensor[] outputs;
  private final Map<String, Tensor> outputMap = new HashMap<>();

  Stepper(RecurrentSpec<K, IN, ?> spec, int rows) {
    this.rows = rows;
    this.specs = spec.inputs();
    Options options = Options.backend(spec.backend()).threads(spec.threads());
    this.session = open(spec, options);
    try {
      Map<String, Value> declared = session.graph().inputs();
      for (RecurrentSpec.Input<IN> in : specs) {
        if (!declared.containsKey(in.name())) {
          throw new IllegalArgumentException(
              "the model has no input '" + in.name() + "'; its inputs: " + declared.keySet());
        }
      }
      for (String name : declared.keySet()) {
        if (specs.stream().noneMatch(i -> i.name().equals(name))) {
          throw new IllegalArgumentException(
              "the model's input '" + name + "' is not given; give every input: " + declared);
        }
      }
      int n = specs.size();
      inputNames = new String[n];
      perRow = new int[n];
      int[][] rest = new int[n][];
      for (int i = 0; i < n; i++) {
        RecurrentSpec.Input<IN> in = specs.get(i);
        Value v = declared.get(in.name());
        DType want = in.floats() != null ? DType.F32 : DType.I32;
        if (v.dtype() != want) {
          throw new IllegalArgumentException(
              "input '"
                  + in.name()
                  + "' is "
                  + v.dtype()
                  + " in the model, given as "
                  + want
                  + (want == DType.F32 ? " (use intInput)" : " (use input)"));
        }
        List<Dim> dims = v.dims();
        if (dims.size() < 2) {
          throw new IllegalArgumentException(
              "input '" + in.name() + "' is " + dims + "; a step needs [T, N, ...] or [N, T, ...]");
        }
        rest[i] = new int[dims.size() - 2];
        int count = 1;
        for (int d = 2; d < dims.size(); d++) {
          if (!dims.get(d).isFixed()) {
            throw new IllegalArgumentException(
                "input '"
                    + in.name()
                    + "' is "
                    + dims
                    + "; its dimensions after T and N must be fixed");
          }
          rest[i][d - 2] = dims.get(d).size();
          count *= rest[i][d - 2];
        }
        inputNames[i] = in.name();
        perRow[i] = count;
      }
      boolean batchFirst = probeBatchFirst(rest);
      Map<String, int[]> two = probeOutputShapes(rest, batchFirst, 2);
      Map<String, int[]> three = probeOutputShapes(rest, batchFirst, 3);
      outputNames = two.keySet().toArray(String[]::new);
      outer = new int[outputNames.length];
      inner = new int[outputNames.length];
      outputs = new Tensor[outputNames.length];
      inputs = new Tensor[n];
      for (int o = 0; o < outputNames.length; o++) {
        int[] a = two.get(outputNames[o]);
        int[] b = three.get(outputNames[o]);
        int axis = -1;
        for (int d = 0; d < a.length; d++) {
          if (a[d] == 2 && b[d] == 3) {
            if (axis >= 0) {
              throw new IllegalArgumentException(
                  "output '" + outputNames[o] + "' has two axes that follow the batch size");
            }
            axis = d;
          } else if (a[d] != b[d]) {
            throw new IllegalArgumentException(
                "output '" + outputNames[o] + "' changes shape oddly with the batch size");
          }
        }
        if (axis < 0) {
          throw new IllegalArgumentException(
              "output '"
                  + outputNames[o]
                  + "' "
                  + Arrays.toString(a)
                  + " has no batch axis, so it has no row per key");
        }
        outer[o] = 1;
        inner[o] = 1;
        for (int d = 0; d < a.length; d++) {
          if (d < axis) {
            outer[o] *= a[d];
          } else if (d > axis) {
            inner[o] *= a[d];
          }
        }
        int[] shape = a.clone();
        shape[axis] = rows;
        outputs[o] = Tensor.allocate(DType.F32, shape);
        outputMap.put(outputNames[o], outputs[o]);
      }
      for (int i = 0; i < n; i++) {
        inputs[i] = Tensor.allocate(dtype(i), inputShape(rest[i], batchFirst, rows));
        inputMap.put(inputNames[i], inputs[i]);
      }
      state = session.newState();
      state.reset(rows);
      rowSize = state.rowSize();
      zeros = new float[rowSize];
    } catch (RuntimeException | Error e) {
      close();
      throw e;
    }
  }

  private static Session open(RecurrentSpec<?, ?, ?> spec, Options options) {
    if (spec.modelPath() != null) {
      return Session.open(Path.of(spec.modelPath()), options);
    }
    try {
      Path tmp = Files.createTempFile("jrnn-flink-model", ".bin");
      try {
        Files.write(tmp, spec.modelBytes());
        return Session.open(tmp, options);
      } finally {
        Files.deleteIfExists(tmp);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the model's bytes to a temporary file", e);
    }
  }

  private DType dtype(int i) {
    return specs.get(i).floats() != null ? DType.F32 : DType.I32;
  }

  private static int[] inputShape(int[] rest, boolean batchFirst, int batch) {
    int[] s = new int[rest.length + 2];
    s[0] = batchFirst ? batch : 1;
    s[1] = batchFirst ? 1 : batch;
    System.arraycopy(rest, 0, s, 2, rest.length);
    return s;
  }

  private Map<String, Tensor> zeroInputs(int[][] rest, boolean batchFirst, int batch) {
    Map<String, Tensor> m = new LinkedHashMap<>();
    for (int i = 0; i < rest.length; i++) {
      m.put(inputNames[i], Tensor.allocate(dtype(i), inputShape(rest[i], batchFirst, batch)));
    }
    return m;
  }

  /** A time-major graph reads {@code [1, 2, …]} as batch 2; a batch-first one as batch 1. */
  private boolean probeBatchFirst(int[][] rest) {
    Map<String, Tensor> in = zeroInputs(rest, false, 2);
    try (State probe = session.newState()) {
      session.step(probe, in).close();
      return probe.batchSize() != 2;
    } finally {
      in.values().forEach(Tensor::close);
    }
  }

  private Map<String, int[]> probeOutputShapes(int[][] rest, boolean batchFirst, int batch) {
    Map<String, Tensor> in = zeroInputs(rest, batchFirst, batch);
    try (State probe = session.newState();
        Result r = session.step(probe, in)) {
      Map<String, int[]> shapes = new LinkedHashMap<>();
      for (String name : session.graph().outputs().keySet()) {
        Tensor t = r.get(name);
        if (t.dtype() != DType.F32) {
          throw new IllegalArgumentException(
              "output '" + name + "' is " + t.dtype() + "; only F32 outputs can be mapped");
        }
        shapes.put(name, t.shape());
      }
      return shapes;
    } finally {
      in.values().forEach(Tensor::close);
    }
  }

  int rows() {
    return rows;
  }

  int rowSize() {
    return rowSize;
  }

  /** Row {@code row} starts from {@code stored} (as {@link #save} gave it), or zero when null. */
  void load(int row, float[] stored, Object key) {
    if (stored == null) {
      state.writeRow(row, zeros, 0);
      return;
    }
    if (stored.length != rowSize) {
      throw new IllegalStateException(
          "key "
              + key
              + ": its stored state has "
              + stored.length
              + " floats, this model's state has "
              + rowSize
              + " (was the job restored with another model?)");
    }
    state.writeRow(row, stored, 0);
  }

  /**
   * One timestep of every input of {@code event} (a {@code float[]} or {@code int[]} each), checked
   * against the model: a wrong count names the key, the input and both counts.
   */
  Object[] features(IN event, Object key) {
    Object[] f = new Object[inputs.length];
    for (int i = 0; i < inputs.length; i++) {
      RecurrentSpec.Input<IN> in = specs.get(i);
      if (in.floats() != null) {
        float[] v = in.floats().of(event);
        checkLength(i, v == null ? -1 : v.length, key);
        f[i] = v;
      } else {
        int[] v = in.ints().of(event);
        checkLength(i, v == null ? -1 : v.length, key);
        f[i] = v;
      }
    }
    return f;
  }

  /** Writes {@link #features} into row {@code row} of the inputs. */
  void input(int row, Object[] features) {
    for (int i = 0; i < inputs.length; i++) {
      long at = (long) row * perRow[i] * 4;
      if (features[i] instanceof float[] v) {
        MemorySegment.copy(v, 0, inputs[i].segment(), ValueLayout.JAVA_FLOAT, at, v.length);
      } else {
        int[] v = (int[]) features[i];
        MemorySegment.copy(v, 0, inputs[i].segment(), ValueLayout.JAVA_INT, at, v.length);
      }
    }
  }

  private void checkLength(int i, int length, Object key) {
    if (length != perRow[i]) {
      throw new IllegalArgumentException(
          "key "
              + key
              + ": input '"
              + inputNames[i]
              + "' needs "
              + perRow[i]
              + (dtype(i) == DType.F32 ? " floats" : " ints")
              + " per event, the event gave "
              + (length < 0 ? "null" : Integer.toString(length)));
    }
  }

  /** Advances every row by one timestep. */
  void step() {
    session.step(state, inputMap, outputMap);
  }

  /** Row {@code row}'s state after the step, a new array to store. */
  float[] save(int row) {
    float[] s = new float[rowSize];
    state.readRow(row, s, 0);
    return s;
  }

  /** Row {@code row} of every output, new arrays. */
  Map<String, float[]> outputs(int row) {
    Map<String, float[]> m = new LinkedHashMap<>();
    for (int o = 0; o < outputs.length; o++) {
      float[] v = new float[outer[o] * inner[o]];
      MemorySegment seg = outputs[o].segment();
      for (int j = 0; j < outer[o]; j++) {
        long at = ((long) j * rows + row) * inner[o] * 4;
        MemorySegment.copy(seg, ValueLayout.JAVA_FLOAT, at, v, j * inner[o], inner[o]);
      }
      m.put(outputNames[o], v);
    }
    return m;
  }

  @Override
  public void close() {
    if (state != null) {
      state.close();
    }
    for (Tensor[] ts : new Tensor[][] {inputs, outputs}) {
      if (ts != null) {
        for (Tensor t : ts) {
          if (t != null) {
            t.close();
          }
        }
      }
    }
    if (session != null) {
      session.close();
    }
  }
}
