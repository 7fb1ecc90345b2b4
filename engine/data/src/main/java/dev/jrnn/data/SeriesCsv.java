package dev.jrnn.data;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Reads a numeric column of a CSV file with a header line (RFC 4180 quoting: quoted fields may hold
 * commas, doubled quotes and line breaks), in file order.
 */
public final class SeriesCsv {

  private SeriesCsv() {}

  /**
   * The values of {@code column}, one per record, in file order.
   *
   * @throws IllegalArgumentException if the file is empty, has no such column (the message lists
   *     the columns present), a record has the wrong number of fields, or a value is empty or not a
   *     finite number (the message names the line and the text)
   * @throws UncheckedIOException naming the file if it cannot be read
   */
  public static double[] column(Path csv, String column) {
    Objects.requireNonNull(csv, "csv");
    Objects.requireNonNull(column, "column");
    Csv c = Csv.read(csv);
    int k = c.column(column);
    double[] out = new double[c.rows.size()];
    for (int r = 0; r < out.length; r++) {
      Csv.Row row = c.rows.get(r);
      c.checkWidth(row);
      out[r] = number(c, row, column, row.fields().get(k));
    }
    return out;
  }

  /** The header's column names, trimmed, in file order. */
  public static List<String> columns(Path csv) {
    return Csv.read(Objects.requireNonNull(csv, "csv")).header;
  }

  static double number(Csv c, Csv.Row row, String column, String text) {
    String t = text.strip();
    double v;
    try {
      if (t.isEmpty() || !looksNumeric(t)) {
        throw new NumberFormatException();
      }
      v = Double.parseDouble(t);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          c.source
              + " line "
              + row.line()
              + ": column '"
              + column
              + "' holds "
              + (t.isEmpty() ? "an empty value" : "'" + text + "'")
              + ", not a number");
    }
    if (!Double.isFinite(v)) {
      throw new IllegalArgumentException(
          c.source
              + " line "
              + row.line()
              + ": column '"
              + column
              + "' holds '"
              + text
              + "', not a finite number");
    }
    return v;
  }

  /** Plain decimal notation only ({@link Double#parseDouble} also takes "1f", "0x1p3", "NaN"). */
  private static boolean looksNumeric(String t) {
    for (int i = 0; i < t.length(); i++) {
      char ch = t.charAt(i);
      if (!((ch >= '0' && ch <= '9')
          || ch == '.'
          || ch == '-'
          || ch == '+'
          || ch == 'e'
          || ch == 'E')) {
        return false;
      }
    }
    return true;
  }
}
