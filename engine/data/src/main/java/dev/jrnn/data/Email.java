package dev.jrnn.data;

import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Splits a raw e-mail message (RFC 5322: a header block, an empty line, the body), such as the
 * texts of {@link Datasets#spamAssassin()}. Lines may end with {@code \n} or {@code \r\n}.
 */
public final class Email {

  private Email() {}

  /** The body: everything after the first empty line; empty if there is none. */
  public static String body(String message) {
    int at = bodyStart(Objects.requireNonNull(message, "message"));
    return at < 0 ? "" : message.substring(at);
  }

  /** The header block: everything before the first empty line (the whole message if none). */
  public static String headers(String message) {
    int at = headerEnd(Objects.requireNonNull(message, "message"));
    return at < 0 ? message : message.substring(0, at);
  }

  /**
   * The value of the first header called {@code name} (any case), continuation lines unfolded into
   * single spaces and surrounding whitespace removed; empty if there is no such header.
   */
  public static Optional<String> header(String message, String name) {
    Objects.requireNonNull(name, "name");
    String block = headers(message);
    String want = name.toLowerCase(Locale.ROOT) + ":";
    String[] lines = block.split("\r?\n", -1);
    for (int i = 0; i < lines.length; i++) {
      if (lines[i].toLowerCase(Locale.ROOT).startsWith(want)) {
        StringBuilder v = new StringBuilder(lines[i].substring(want.length()).strip());
        while (i + 1 < lines.length
            && !lines[i + 1].isEmpty()
            && (lines[i + 1].charAt(0) == ' ' || lines[i + 1].charAt(0) == '\t')) {
          v.append(' ').append(lines[++i].strip());
        }
        return Optional.of(v.toString().strip());
      }
    }
    return Optional.empty();
  }

  /** Index of the end of the header block (the line end before the empty line), or -1. */
  private static int headerEnd(String m) {
    int start = 0; // start of the current line
    while (start < m.length()) {
      int nl = m.indexOf('\n', start);
      if (nl < 0) {
        return -1;
      }
      int end = nl > start && m.charAt(nl - 1) == '\r' ? nl - 1 : nl;
      if (end == start) {
        return start;
      }
      start = nl + 1;
    }
    return -1;
  }

  /** Index just past the empty line that ends the header block, or -1. */
  private static int bodyStart(String m) {
    int at = headerEnd(m);
    if (at < 0) {
      return -1;
    }
    int nl = m.indexOf('\n', at);
    return nl + 1;
  }
}
