package dev.jrnn.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A comma-separated file with a header line, parsed as RFC 4180 describes: fields in double quotes
 * may hold commas, line breaks and doubled quotes ({@code ""} for {@code "}); records end with
 * {@code \n}, {@code \r\n} or {@code \r}; empty lines are skipped. Spaces around a quoted field are
 * dropped; unquoted fields are taken as they are; header names are trimmed. Errors name the file
 * and the line.
 */
final class Csv {

  /** One record: the line it starts on (1-based) and its fields. */
  record Row(int line, List<String> fields) {}

  final String source;
  final List<String> header;
  final List<Row> rows;

  private Csv(String source, List<String> header, List<Row> rows) {
    this.source = source;
    this.header = header;
    this.rows = rows;
  }

  /** Reads and parses {@code file}; an empty file is an error. */
  static Csv read(Path file) {
    return parse(TextFile.read(file), file.toString());
  }

  /** Parses CSV {@code text}; {@code source} names it in errors. */
  static Csv parse(String text, String source) {
    List<Row> records = records(text, source);
    if (records.isEmpty()) {
      throw new IllegalArgumentException(source + " is empty: a CSV file needs a header line");
    }
    List<String> header = new ArrayList<>();
    for (String h : records.getFirst().fields()) {
      header.add(h.strip());
    }
    return new Csv(source, List.copyOf(header), records.subList(1, records.size()));
  }

  /** The index of column {@code name}; an error listing the columns if there is none. */
  int column(String name) {
    int i = header.indexOf(name);
    if (i < 0) {
      throw new IllegalArgumentException(
          "no column '" + name + "' in " + source + "; its columns: " + String.join(", ", header));
    }
    return i;
  }

  /** Checks that {@code row} has one field per column; an error naming the line if not. */
  void checkWidth(Row row) {
    int n = row.fields().size();
    if (n != header.size()) {
      throw new IllegalArgumentException(
          source
              + " line "
              + row.line()
              + " has "
              + n
              + (n == 1 ? " field" : " fields")
              + " but the header has "
              + header.size()
              + " columns ("
              + String.join(", ", header)
              + ")"
              + (n > header.size() ? "; quote fields that hold commas" : ""));
    }
  }

  private static List<Row> records(String s, String source) {
    List<Row> out = new ArrayList<>();
    List<String> fields = new ArrayList<>();
    StringBuilder field = new StringBuilder();
    int line = 1;
    int recordLine = 1;
    int n = s.length();
    int i = 0;
    boolean atRecordStart = true;
    while (i < n) {
      char c = s.charAt(i);
      if (atRecordStart && (c == '\n' || c == '\r')) { // empty line
        i += c == '\r' && i + 1 < n && s.charAt(i + 1) == '\n' ? 2 : 1;
        line++;
        continue;
      }
      if (atRecordStart) {
        recordLine = line;
        atRecordStart = false;
      }
      if (c == '"' && isBlank(field)) {
        field.setLength(0); // spaces before an opening quote are dropped
        int quoteLine = line;
        i++;
        while (true) {
          if (i >= n) {
            throw new IllegalArgumentException(
                source
                    + " line "
                    + quoteLine
                    + ": a quoted field that starts on this line is never closed");
          }
          char q = s.charAt(i);
          if (q == '"') {
            if (i + 1 < n && s.charAt(i + 1) == '"') {
              field.append('"');
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (q == '\n' || (q == '\r' && !(i + 1 < n && s.charAt(i + 1) == '\n'))) {
            line++;
          }
          field.append(q);
          i++;
        }
        while (i < n && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) {
          i++; // and spaces after a closing quote
        }
        if (i < n && s.charAt(i) != ',' && s.charAt(i) != '\n' && s.charAt(i) != '\r') {
          throw new IllegalArgumentException(
              source
                  + " line "
                  + line
                  + ": unexpected '"
                  + s.charAt(i)
                  + "' after a closing quote (a quote inside a quoted field is written twice:"
                  + " \"\")");
        }
        continue;
      }
      if (c == ',') {
        fields.add(field.toString());
        field.setLength(0);
        i++;
      } else if (c == '\n' || c == '\r') {
        fields.add(field.toString());
        field.setLength(0);
        out.add(new Row(recordLine, List.copyOf(fields)));
        fields.clear();
        i += c == '\r' && i + 1 < n && s.charAt(i + 1) == '\n' ? 2 : 1;
        line++;
        atRecordStart = true;
      } else {
        field.append(c);
        i++;
      }
    }
    if (!atRecordStart) {
      fields.add(field.toString());
      out.add(new Row(recordLine, List.copyOf(fields)));
    }
    return out;
  }

  /** Whether {@code b} holds only spaces and tabs (a quote there opens a quoted field). */
  private static boolean isBlank(StringBuilder b) {
    for (int i = 0; i < b.length(); i++) {
      if (b.charAt(i) != ' ' && b.charAt(i) != '\t') {
        return false;
      }
    }
    return true;
  }
}
