package dev.jrnn.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** Reads a UTF-8 text file whole or as lines; a leading byte-order mark is dropped. */
public final class TextFile {

  private TextFile() {}

  /**
   * The whole text of {@code file}.
   *
   * @throws UncheckedIOException naming the file if it is missing, unreadable or not UTF-8
   */
  public static String read(Path file) {
    Objects.requireNonNull(file, "file");
    String s;
    try {
      s = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new UncheckedIOException("cannot read " + file + ": no such file", e);
    } catch (CharacterCodingException e) {
      throw new UncheckedIOException("cannot read " + file + ": it is not UTF-8 text", e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e, e);
    }
    return !s.isEmpty() && s.charAt(0) == '\uFEFF' ? s.substring(1) : s;
  }

  /**
   * The lines of {@code file}, without their {@code \n}, {@code \r\n} or {@code \r} ends; a final
   * line end does not start another (empty) line.
   *
   * @throws UncheckedIOException as {@link #read}
   */
  public static List<String> lines(Path file) {
    return lines(read(file));
  }

  /** The lines of {@code text}, split as {@link #lines(Path)} does. */
  static List<String> lines(String text) {
    List<String> out = new ArrayList<>();
    int start = 0;
    int n = text.length();
    for (int i = 0; i < n; i++) {
      char c = text.charAt(i);
      if (c == '\n' || c == '\r') {
        out.add(text.substring(start, i));
        if (c == '\r' && i + 1 < n && text.charAt(i + 1) == '\n') {
          i++;
        }
        start = i + 1;
      }
    }
    if (start < n) {
      out.add(text.substring(start));
    }
    return out;
  }
}
