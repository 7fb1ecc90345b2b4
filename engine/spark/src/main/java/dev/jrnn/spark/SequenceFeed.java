package dev.jrnn.spark;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * How a DataFrame's sequences feed a graph: which input takes them and in which layout ({@code [T,
 * N]} token ids, {@code [T, N]} or {@code [T, N, C]} values; batch-first swaps T and N), which
 * input takes the lengths, and the checks on each row. Rows of a batch are padded with zeros to the
 * longest; the lengths input tells the graph where each row ends. Worked out on the driver from the
 * graph and shipped with the tasks.
 */
final class SequenceFeed implements Serializable {

  private static final long serialVersionUID = 1L;

  final String input; // the graph input fed with the sequences
  final DType dtype; // I32 token ids or F32 values
  final int rank; // 2: [T, N] (or [N, T]); 3: [T, N, C] (or [N, T, C])
  final boolean batchFirst;
  final int fixedSteps; // T when the graph fixes it, else -1
  final int channels; // C (1 for rank 2)
  final String lengthsInput; // the graph's I32 [N] lengths input, or null
  final String batchDim; // the name of N, to find the batch axis of outputs
  final String timeDim; // the name of T when dynamic, to cut outputs to each row's length; or null
  final String declared; // the input's declaration, for messages

  private SequenceFeed(
      String input,
      DType dtype,
      int rank,
      boolean batchFirst,
      int fixedSteps,
      int channels,
      String lengthsInput,
      String batchDim,
      String timeDim,
      String declared) {
    this.input = input;
    this.dtype = dtype;
    this.rank = rank;
    this.batchFirst = batchFirst;
    this.fixedSteps = fixedSteps;
    this.channels = channels;
    this.lengthsInput = lengthsInput;
    this.batchDim = batchDim;
    this.timeDim = timeDim;
    this.declared = declared;
  }

  /**
   * The feed of {@code graph}: {@code inputName} (blank: the graph's one input other than the
   * lengths), {@code lengthsName} (blank: the graph's one I32 rank-1 input other than the
   * sequences, if there is one). Every graph input must be one of the two.
   */
  static SequenceFeed of(Graph graph, String inputName, String lengthsName, boolean batchFirst) {
    Map<String, Value> inputs = graph.inputs();
    String lengths = blank(lengthsName) ? null : lengthsName;
    String seq = blank(inputName) ? null : inputName;
    if (lengths != null && !inputs.containsKey(lengths)) {
      throw new IllegalArgumentException(
          "lengths input '" + lengths + "' is not a graph input; inputs: " + describe(inputs));
    }
    if (seq != null && !inputs.containsKey(seq)) {
      throw new IllegalArgumentException(
          "input '" + seq + "' is not a graph input; inputs: " + describe(inputs));
    }
    if (lengths == null) {
      List<String> candidates = new ArrayList<>();
      for (Map.Entry<String, Value> e : inputs.entrySet()) {
        Value v = e.getValue();
        if (!e.getKey().equals(seq) && v.dtype() == DType.I32 && v.dims().size() == 1) {
          candidates.add(e.getKey());
        }
      }
      if (candidates.size() == 1 && (seq != null || inputs.size() == 2)) {
        lengths = candidates.get(0);
      }
    }
    if (seq == null) {
      List<String> rest = new ArrayList<>(inputs.keySet());
      rest.remove(lengths);
      if (rest.size() != 1) {
        throw new IllegalArgumentException(
            "name the graph input that takes the sequences (inputName); inputs: "
                + describe(inputs));
      }
      seq = rest.get(0);
    }
    for (String n : inputs.keySet()) {
      if (!n.equals(seq) && !n.equals(lengths)) {
        throw new IllegalArgumentException(
            "graph input '"
                + n
                + "' would not be fed: rows feed the sequence input '"
                + seq
                + "'"
                + (lengths == null ? "" : " and the lengths input '" + lengths + "'")
                + "; inputs: "
                + describe(inputs));
      }
    }
    Value v = inputs.get(seq);
    List<Dim> d = v.dims();
    String declared = "'" + seq + "' (" + v.dtype() + " " + d + ")";
    boolean ids = v.dtype() == DType.I32;
    if (!(ids && d.size() == 2) && !(v.dtype() == DType.F32 && (d.size() == 2 || d.size() == 3))) {
      throw new IllegalArgumentException(
          "input "
              + declared
              + " is not a sequence input: token ids are I32 [T, N], values F32 [T, N] or [T, N, C]"
              + " (batch-first [N, T, ...])");
    }
    Dim time = d.get(batchFirst ? 1 : 0);
    Dim batch = d.get(batchFirst ? 0 : 1);
    if (batch.isFixed() || batch.isDerived()) {
      throw new IllegalArgumentException(
          "input "
              + declared
              + " needs a named dynamic batch dimension at axis "
              + (batchFirst ? 0 : 1)
              + (batchFirst ? " (batchFirst is set)" : " (time-major; set batchFirst otherwise)")
              + ", rows are batched along it");
    }
    int channels = 1;
    if (d.size() == 3) {
      if (!d.get(2).isFixed()) {
        throw new IllegalArgumentException(
            "input " + declared + " needs a fixed feature size C (its last dimension)");
      }
      channels = d.get(2).size();
    }
    if (lengths != null) {
      Value l = inputs.get(lengths);
      if (l.dtype() != DType.I32 || l.dims().size() != 1) {
        throw new IllegalArgumentException(
            "lengths input '" + lengths + "' must be I32 [N], got " + l.dtype() + " " + l.dims());
      }
    }
    return new SequenceFeed(
        seq,
        v.dtype(),
        d.size(),
        batchFirst,
        time.isFixed() ? time.size() : -1,
        channels,
        lengths,
        batch.name(),
        time.isFixed() || time.isDerived() ? null : time.name(),
        declared);
  }

  private static boolean blank(String s) {
    return s == null || s.isBlank();
  }

  private static String describe(Map<String, Value> inputs) {
    List<String> s = new ArrayList<>();
    inputs.forEach((n, v) -> s.add(n + " " + v.dtype() + " " + v.dims()));
    return String.join(", ", s);
  }

  /** What a column of this feed must hold, as Spark writes types. */
  String expectedColumn() {
    if (dtype == DType.I32) {
      return "array<int> (token ids)";
    }
    return rank == 2
        ? "array<float> (one value per step)"
        : "array<array<float>> (" + channels + " values per step) or array<float> (flattened)";
  }

  /** Checks that {@code column} of {@code schema} can feed this input. */
  void checkColumn(StructType schema, String column) {
    DataType t = field(schema, column).dataType();
    boolean ok = false;
    if (t instanceof ArrayType a) {
      DataType e = a.elementType();
      if (dtype == DType.I32) {
        ok = integral(e);
      } else if (rank == 2) {
        ok = numeric(e);
      } else {
        ok = numeric(e) || (e instanceof ArrayType inner && numeric(inner.elementType()));
      }
    }
    if (!ok) {
      throw new IllegalArgumentException(
          "column '"
              + column
              + "' is "
              + t.simpleString()
              + "; input "
              + declared
              + " needs "
              + expectedColumn());
    }
  }

  static StructField field(StructType schema, String column) {
    for (StructField f : schema.fields()) {
      if (f.name().equals(column)) {
        return f;
      }
    }
    throw new IllegalArgumentException(
        "no column '" + column + "'; columns: " + String.join(", ", schema.fieldNames()));
  }

  static boolean integral(DataType t) {
    return t == DataTypes.IntegerType
        || t == DataTypes.LongType
        || t == DataTypes.ShortType
        || t == DataTypes.ByteType;
  }

  static boolean numeric(DataType t) {
    return integral(t) || t == DataTypes.FloatType || t == DataTypes.DoubleType;
  }

  /**
   * Reads one row's sequence from column {@code col} (and its length from {@code lengthsCol}, or -1
   * for the array's length). A null, an empty or over-long sequence, a step of the wrong width, a
   * null element or an id beyond int throws naming {@code where}.
   */
  Example read(Row row, int col, int lengthsCol, RowPosition where) {
    if (row.isNullAt(col)) {
      throw where.error(row, "the sequence is null");
    }
    List<Object> seq = row.getList(col);
    int steps;
    int[] ids = null;
    float[] values = null;
    if (dtype == DType.I32) {
      steps = seq.size();
      ids = new int[steps];
      for (int i = 0; i < steps; i++) {
        ids[i] = id(seq.get(i), i, row, where);
      }
    } else if (rank == 2 || seq.isEmpty() || !(seq.get(0) instanceof scala.collection.Seq)) {
      if (seq.size() % channels != 0) {
        throw where.error(
            row,
            "the flattened sequence has "
                + seq.size()
                + " values, not a multiple of the "
                + channels
                + " per step that input "
                + declared
                + " needs");
      }
      steps = seq.size() / channels;
      values = new float[seq.size()];
      for (int i = 0; i < values.length; i++) {
        values[i] = value(seq.get(i), "element " + i, row, where);
      }
    } else {
      steps = seq.size();
      values = new float[steps * channels];
      for (int t = 0; t < steps; t++) {
        Object s = seq.get(t);
        if (s == null) {
          throw where.error(row, "step " + t + " is null");
        }
        scala.collection.Seq<?> step = (scala.collection.Seq<?>) s;
        if (step.size() != channels) {
          throw where.error(
              row,
              "step "
                  + t
                  + " has "
                  + step.size()
                  + " values; input "
                  + declared
                  + " needs "
                  + channels);
        }
        for (int c = 0; c < channels; c++) {
          values[t * channels + c] = value(step.apply(c), "step " + t + " value " + c, row, where);
        }
      }
    }
    int length = steps;
    if (lengthsCol >= 0) {
      if (row.isNullAt(lengthsCol)) {
        throw where.error(row, "the length is null");
      }
      long l = ((Number) row.get(lengthsCol)).longValue();
      if (l < 1 || l > steps) {
        throw where.error(
            row, "the length " + l + " is outside [1, " + steps + "] (the sequence's steps)");
      }
      length = (int) l;
    }
    if (length == 0) {
      throw where.error(row, "the sequence is empty");
    }
    if (fixedSteps >= 0
        && (length > fixedSteps || (lengthsInput == null && length != fixedSteps))) {
      throw where.error(
          row,
          "the sequence has "
              + length
              + " steps; input "
              + declared
              + " takes "
              + (lengthsInput == null ? "exactly " : "at most ")
              + fixedSteps);
    }
    return new Example(ids, values, length, null, null);
  }

  private static int id(Object o, int i, Row row, RowPosition where) {
    if (o == null) {
      throw where.error(row, "token " + i + " is null");
    }
    long v = ((Number) o).longValue();
    if (v != (int) v) {
      throw where.error(row, "token " + i + " is " + v + ", beyond the int range of token ids");
    }
    return (int) v;
  }

  private static float value(Object o, String what, Row row, RowPosition where) {
    if (o == null) {
      throw where.error(row, what + " is null");
    }
    return ((Number) o).floatValue();
  }

  /** The steps a batch of these rows is padded to. */
  int steps(List<Example> rows) {
    if (fixedSteps >= 0) {
      return fixedSteps;
    }
    int t = 0;
    for (Example e : rows) {
      t = Math.max(t, e.length());
    }
    return t;
  }

  /**
   * The inputs of one batch: the sequences padded with zeros to {@link #steps} in the input's
   * layout, and the lengths. The caller closes the tensors.
   */
  Map<String, Tensor> tensors(List<Example> rows) {
    int n = rows.size();
    int steps = steps(rows);
    int c = channels;
    Map<String, Tensor> m = new LinkedHashMap<>();
    int[] shape = rank == 2 ? new int[] {steps, n} : new int[] {steps, n, c};
    if (batchFirst) {
      shape[0] = n;
      shape[1] = steps;
    }
    if (dtype == DType.I32) {
      int[] a = new int[n * steps];
      for (int r = 0; r < n; r++) {
        int[] ids = rows.get(r).ids();
        int len = rows.get(r).length();
        for (int t = 0; t < len; t++) {
          a[batchFirst ? r * steps + t : t * n + r] = ids[t];
        }
      }
      m.put(input, Tensor.of(a, shape));
    } else {
      float[] a = new float[n * steps * c];
      for (int r = 0; r < n; r++) {
        float[] v = rows.get(r).values();
        int len = rows.get(r).length();
        for (int t = 0; t < len; t++) {
          System.arraycopy(v, t * c, a, (batchFirst ? r * steps + t : t * n + r) * c, c);
        }
      }
      m.put(input, Tensor.of(a, shape));
    }
    if (lengthsInput != null) {
      int[] l = new int[n];
      for (int r = 0; r < n; r++) {
        l[r] = rows.get(r).length();
      }
      m.put(lengthsInput, Tensor.of(l, n));
    }
    return m;
  }
}
