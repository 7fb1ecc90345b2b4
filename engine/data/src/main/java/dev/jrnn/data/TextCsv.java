package dev.jrnn.data;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Reads labelled texts from a CSV file with a header line. Fields follow RFC 4180: a field in
 * double quotes may hold commas, line breaks and doubled quotes ({@code ""} for {@code "}).
 */
public final class TextCsv {

  private TextCsv() {}

  /**
   * The (text, label) pairs of {@code csv}, in file order; the text exactly as in the file, the
   * label stripped of surrounding whitespace.
   *
   * @param textColumn the header name of the text column
   * @param labelColumn the header name of the label column
   * @throws IllegalArgumentException if the file is empty, a column is missing (the message lists
   *     the columns present), a record has too few or too many fields or an empty label (naming the
   *     line), or a quoted field is never closed
   * @throws UncheckedIOException naming the file if it cannot be read
   */
  public static List<Labeled> read(Path csv, String textColumn, String labelColumn) {
    Objects.requireNonNull(csv, "csv");
    Objects.requireNonNull(textColumn, "textColumn");
    Objects.requireNonNull(labelColumn, "labelColumn");
    Csv c = Csv.read(csv);
    int t = c.column(textColumn);
    int l = c.column(labelColumn);
    List<Labeled> out = new ArrayList<>(c.rows.size());
    for (Csv.Row row : c.rows) {
      c.checkWidth(row);
      String label = row.fields().get(l).strip();
      if (label.isEmpty()) {
        throw new IllegalArgumentException(
            c.source + " line " + row.line() + ": column '" + labelColumn + "' is empty");
      }
      out.add(new Labeled(row.fields().get(t), label));
    }
    return out;
  }
}
