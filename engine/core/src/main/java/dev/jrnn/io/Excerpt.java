package dev.jrnn.io;

/**
 * Text taken from a file, made safe to put in a message: control characters escaped, quoted, and
 * cut to a length that fits one line, saying how much was left out.
 */
final class Excerpt {

  /** How many characters of file text a message shows. */
  static final int MAX = 80;

  private Excerpt() {}

  /** {@code s} quoted, control and non-ASCII-space characters escaped, at most {@link #MAX}. */
  static String of(String s) {
    StringBuilder b = new StringBuilder("\"");
    int shown = 0;
    for (int i = 0; i < s.length() && shown < MAX; i++, shown++) {
      char c = s.charAt(i);
      switch (c) {
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        default -> {
          if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) {
            b.append(String.format("\\x%02x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    b.append('"');
    if (s.length() > MAX) {
      b.append(" (and ").append(s.length() - MAX).append(" more characters)");
    }
    return b.toString();
  }
}
