package dev.jrnn.spark;

import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Loss;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import java.io.Serializable;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructType;

/**
 * The target of each row, for a loss on a per-row output {@code [N, ...]} with fixed other
 * dimensions: a class id (cross-entropy over {@code [N, C]}) or {@code K} values (the other losses;
 * a number when K is 1, else an array of K). Also each row's weight in a mean loss, so that
 * partitions' gradients combine into the batch's exactly.
 */
final class Targets implements Serializable {

  private static final long serialVersionUID = 1L;

  final boolean classes; // cross-entropy: I32 class ids
  final int[] rowShape; // the output's shape without N
  final int size; // K: values per row (classes: C)
  final boolean mean; // the loss's reduction
  final float[] classWeights; // cross-entropy's, or null
  final Integer ignoreIndex; // cross-entropy's, or null
  final String output;

  private Targets(
      boolean classes,
      int[] rowShape,
      int size,
      boolean mean,
      float[] classWeights,
      Integer ignoreIndex,
      String output) {
    this.classes = classes;
    this.rowShape = rowShape;
    this.size = size;
    this.mean = mean;
    this.classWeights = classWeights;
    this.ignoreIndex = ignoreIndex;
    this.output = output;
  }

  /** The targets of {@code loss}'s output of {@code graph}, batched as {@code feed} batches. */
  static Targets of(Graph graph, Loss loss, SequenceFeed feed) {
    Value v = graph.outputs().get(loss.output());
    if (v == null) {
      throw new IllegalArgumentException(
          "the loss is on output '"
              + loss.output()
              + "', which the graph does not have; outputs: "
              + String.join(", ", graph.outputs().keySet()));
    }
    List<Dim> d = v.dims();
    Dim n = d.isEmpty() ? null : d.get(0);
    boolean perRow = n != null && !n.isFixed() && n.name().equals(feed.batchDim);
    int[] rest = new int[Math.max(0, d.size() - 1)];
    for (int i = 1; i < d.size() && perRow; i++) {
      perRow = d.get(i).isFixed();
      rest[i - 1] = d.get(i).size();
    }
    if (!perRow || loss.lengthsInput().isPresent()) {
      throw new IllegalArgumentException(
          "data-parallel training takes one target per row: the loss's output '"
              + loss.output()
              + "' must be ["
              + feed.batchDim
              + ", fixed sizes...], got "
              + d
              + (loss.lengthsInput().isPresent() ? " with per-step lengths" : ""));
    }
    boolean ce = loss.kind() == Loss.Kind.CROSS_ENTROPY;
    if (ce && rest.length != 1) {
      throw new IllegalArgumentException(
          "cross-entropy here needs the output '"
              + loss.output()
              + "' as ["
              + feed.batchDim
              + ", C] logits, got "
              + d);
    }
    int size = 1;
    for (int s : rest) {
      size *= s;
    }
    return new Targets(
        ce,
        rest,
        size,
        loss.reduction() == Loss.Reduction.MEAN,
        loss.classWeights().orElse(null),
        loss.ignoreIndex().isPresent() ? loss.ignoreIndex().getAsInt() : null,
        loss.output());
  }

  /** What a label column must hold. */
  String expected() {
    if (classes) {
      return "an integer class id in [0, " + size + ")";
    }
    return size == 1 ? "a number" : "an array of " + size + " numbers";
  }

  /** Checks the label column's type. */
  void checkColumn(StructType schema, String column) {
    DataType t = SequenceFeed.field(schema, column).dataType();
    boolean ok =
        classes
            ? SequenceFeed.integral(t)
            : SequenceFeed.numeric(t)
                ? size == 1
                : t instanceof ArrayType a && SequenceFeed.numeric(a.elementType());
    if (!ok) {
      throw new IllegalArgumentException(
          "label column '"
              + column
              + "' is "
              + t.simpleString()
              + "; the loss on '"
              + output
              + "' needs "
              + expected()
              + " per row");
    }
  }

  /** Reads one row's target into {@code e}; a null or a wrong value throws naming the row. */
  Example read(Row row, int col, Example e, RowPosition where) {
    if (row.isNullAt(col)) {
      throw where.error(row, "the label is null");
    }
    if (classes) {
      long y = ((Number) row.get(col)).longValue();
      boolean ignored = ignoreIndex != null && y == ignoreIndex;
      if (!ignored && (y < 0 || y >= size)) {
        throw where.error(row, "the label " + y + " is not a class id in [0, " + size + ")");
      }
      return e.withTarget(new int[] {(int) y}, null);
    }
    float[] v = new float[size];
    if (size == 1 && !(row.get(col) instanceof scala.collection.Seq)) {
      v[0] = ((Number) row.get(col)).floatValue();
    } else {
      List<Object> l = row.getList(col);
      if (l.size() != size) {
        throw where.error(
            row,
            "the label has " + l.size() + " values; the loss on '" + output + "' needs " + size);
      }
      for (int i = 0; i < size; i++) {
        if (l.get(i) == null) {
          throw where.error(row, "label value " + i + " is null");
        }
        v[i] = ((Number) l.get(i)).floatValue();
      }
    }
    return e.withTarget(null, v);
  }

  /**
   * The weight of {@code rows} in a mean loss: the row count, or for cross-entropy the sum of the
   * rows' class weights, ignored rows counting 0 — the denominator of the loss's mean.
   */
  double weight(List<Example> rows) {
    if (!classes) {
      return rows.size();
    }
    double w = 0;
    for (Example e : rows) {
      int y = e.classes()[0];
      if (ignoreIndex != null && y == ignoreIndex) {
        continue;
      }
      w += classWeights == null ? 1 : classWeights[y];
    }
    return w;
  }

  /** The batch's target tensor: I32 {@code [N]} class ids or F32 {@code [N, ...]}. */
  Tensor tensor(List<Example> rows) {
    int n = rows.size();
    if (classes) {
      int[] y = new int[n];
      for (int i = 0; i < n; i++) {
        y[i] = rows.get(i).classes()[0];
      }
      return Tensor.of(y, n);
    }
    float[] v = new float[n * size];
    for (int i = 0; i < n; i++) {
      System.arraycopy(rows.get(i).targets(), 0, v, i * size, size);
    }
    int[] shape = new int[1 + rowShape.length];
    shape[0] = n;
    System.arraycopy(rowShape, 0, shape, 1, rowShape.length);
    return Tensor.of(v, shape);
  }
}
