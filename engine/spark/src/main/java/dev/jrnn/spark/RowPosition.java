package dev.jrnn.spark;

import java.io.Serializable;
import org.apache.spark.sql.Row;

/**
 * Where a row is, for error messages: its partition and index in it, and its id when the data has
 * an id column. Counts the rows of one partition as they are read.
 */
final class RowPosition implements Serializable {

  private static final long serialVersionUID = 1L;

  private final int partition;
  private final int idColumn; // -1: none
  private final String idName;
  private long index = -1;

  RowPosition(int partition, int idColumn, String idName) {
    this.partition = partition;
    this.idColumn = idColumn;
    this.idName = idName;
  }

  /** Moves to the next row of the partition. */
  void next() {
    index++;
  }

  /** The partition's index. */
  int partition() {
    return partition;
  }

  /** The index of the current row in its partition. */
  long index() {
    return index;
  }

  /** "row 17 of partition 3 (id = 4711)" for the row at {@code index}. */
  String describe(Row row, long index) {
    String s = "row " + index + " of partition " + partition;
    if (idColumn >= 0 && row != null) {
      s += " (" + idName + " = " + row.get(idColumn) + ")";
    }
    return s;
  }

  /** An error about the current row: its position, then what is wrong. */
  IllegalArgumentException error(Row row, String what) {
    return new IllegalArgumentException(describe(row, index) + ": " + what);
  }
}
