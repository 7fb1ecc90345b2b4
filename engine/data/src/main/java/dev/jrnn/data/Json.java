package dev.jrnn.data;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small, strict JSON reader and string quoter (RFC 8259) for the metadata this package writes and
 * the dataset files it reads; no JSON library is on the class path. Objects become {@link
 * LinkedHashMap}s, arrays {@link ArrayList}s, numbers {@link Long} when integral and in range, else
 * {@link Double}; {@code null} becomes {@code null}.
 */
final class Json {

  private final String s;
  private final String what; // names the source in errors
  private int pos;

  private Json(String s, String what) {
    this.s = s;
    this.what = what;
  }

  /** Parses one JSON value filling all of {@code text}; {@code what} names it in errors. */
  static Object parse(String text, String what) {
    Json p = new Json(text, what);
    p.skipSpace();
    Object v = p.value();
    p.skipSpace();
    if (p.pos != text.length()) {
      throw p.error("unexpected '" + text.charAt(p.pos) + "' after the value");
    }
    return v;
  }

  /** Parses a JSON object; anything else is an error naming {@code what}. */
  @SuppressWarnings("unchecked")
  static Map<String, Object> parseObject(String text, String what) {
    Object v = parse(text, what);
    if (!(v instanceof Map)) {
      throw new IllegalArgumentException(what + ": expected a JSON object, got " + kind(v));
    }
    return (Map<String, Object>) v;
  }

  /** {@code value} as a JSON string literal, quotes included. */
  static String quote(String value) {
    StringBuilder b = new StringBuilder(value.length() + 2);
    quote(value, b);
    return b.toString();
  }

  /**
   * Appends {@code value} as a JSON string literal. Control characters and surrogates are written
   * as {@code \}{@code uXXXX}, so the result is ASCII-safe wherever non-ASCII is and a lone
   * surrogate survives a UTF-8 round trip.
   */
  static void quote(String value, StringBuilder b) {
    b.append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        case '\b' -> b.append("\\b");
        case '\f' -> b.append("\\f");
        default -> {
          if (c < 0x20 || Character.isSurrogate(c)) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    b.append('"');
  }

  /** A short name of a parsed value's JSON type, for errors. */
  static String kind(Object v) {
    return switch (v) {
      case null -> "null";
      case Map<?, ?> _ -> "an object";
      case List<?> _ -> "an array";
      case String _ -> "a string";
      case Boolean _ -> "a boolean";
      default -> "a number";
    };
  }

  /** Member {@code key} of {@code obj}, which must be present and a string. */
  static String string(Map<String, Object> obj, String key, String what) {
    return member(obj, key, String.class, "a string", what);
  }

  /** Member {@code key} of {@code obj}, which must be present and a boolean. */
  static boolean bool(Map<String, Object> obj, String key, String what) {
    return member(obj, key, Boolean.class, "a boolean", what);
  }

  /** Member {@code key} of {@code obj}, which must be present and a number. */
  static double number(Map<String, Object> obj, String key, String what) {
    return member(obj, key, Number.class, "a number", what).doubleValue();
  }

  /** Member {@code key} of {@code obj}, which must be present and an integer within int range. */
  static int integer(Map<String, Object> obj, String key, String what) {
    Number n = member(obj, key, Number.class, "an integer", what);
    if (!(n instanceof Long l) || l != (int) (long) l) {
      throw new IllegalArgumentException(
          what + ": \"" + key + "\" must be an integer within int range, got " + n);
    }
    return (int) (long) l;
  }

  /** Member {@code key} of {@code obj}, which must be present and an array. */
  static List<?> array(Map<String, Object> obj, String key, String what) {
    return member(obj, key, List.class, "an array", what);
  }

  private static <T> T member(
      Map<String, Object> obj, String key, Class<T> type, String expected, String what) {
    if (!obj.containsKey(key)) {
      throw new IllegalArgumentException(
          what + ": missing member \"" + key + "\"; members: " + String.join(", ", obj.keySet()));
    }
    Object v = obj.get(key);
    if (!type.isInstance(v)) {
      throw new IllegalArgumentException(
          what + ": \"" + key + "\" must be " + expected + ", got " + kind(v));
    }
    return type.cast(v);
  }

  private Object value() {
    if (pos >= s.length()) {
      throw error("unexpected end of input, expected a value");
    }
    char c = s.charAt(pos);
    return switch (c) {
      case '{' -> object();
      case '[' -> array();
      case '"' -> string();
      case 't' -> literal("true", Boolean.TRUE);
      case 'f' -> literal("false", Boolean.FALSE);
      case 'n' -> literal("null", null);
      default -> {
        if (c == '-' || (c >= '0' && c <= '9')) {
          yield number();
        }
        throw error("unexpected '" + c + "', expected a value");
      }
    };
  }

  private Map<String, Object> object() {
    Map<String, Object> m = new LinkedHashMap<>();
    pos++; // {
    skipSpace();
    if (peek() == '}') {
      pos++;
      return m;
    }
    while (true) {
      skipSpace();
      if (peek() != '"') {
        throw error("expected a member name in quotes");
      }
      int at = pos;
      String key = string();
      skipSpace();
      expect(':');
      skipSpace();
      if (m.containsKey(key)) {
        pos = at;
        throw error("duplicate member " + quote(key));
      }
      m.put(key, value());
      skipSpace();
      char c = peek();
      pos++;
      if (c == '}') {
        return m;
      }
      if (c != ',') {
        pos--;
        throw error("expected ',' or '}' in an object");
      }
    }
  }

  private List<Object> array() {
    List<Object> list = new ArrayList<>();
    pos++; // [
    skipSpace();
    if (peek() == ']') {
      pos++;
      return list;
    }
    while (true) {
      skipSpace();
      list.add(value());
      skipSpace();
      char c = peek();
      pos++;
      if (c == ']') {
        return list;
      }
      if (c != ',') {
        pos--;
        throw error("expected ',' or ']' in an array");
      }
    }
  }

  private String string() {
    int start = ++pos; // opening quote
    // fast path: no escapes
    while (pos < s.length()) {
      char c = s.charAt(pos);
      if (c == '"') {
        return s.substring(start, pos++);
      }
      if (c == '\\' || c < 0x20) {
        break;
      }
      pos++;
    }
    StringBuilder b = new StringBuilder(Math.min(s.length() - start, 1 << 16));
    b.append(s, start, pos);
    while (pos < s.length()) {
      char c = s.charAt(pos);
      if (c == '"') {
        pos++;
        return b.toString();
      }
      if (c < 0x20) {
        throw error("unescaped control character U+" + String.format("%04X", (int) c));
      }
      if (c != '\\') {
        int run = pos + 1; // copy a run of plain characters at once
        while (run < s.length()) {
          char r = s.charAt(run);
          if (r == '"' || r == '\\' || r < 0x20) {
            break;
          }
          run++;
        }
        b.append(s, pos, run);
        pos = run;
        continue;
      }
      if (pos + 1 >= s.length()) {
        break;
      }
      char e = s.charAt(pos + 1);
      switch (e) {
        case '"' -> b.append('"');
        case '\\' -> b.append('\\');
        case '/' -> b.append('/');
        case 'b' -> b.append('\b');
        case 'f' -> b.append('\f');
        case 'n' -> b.append('\n');
        case 'r' -> b.append('\r');
        case 't' -> b.append('\t');
        case 'u' -> {
          // a surrogate pair arrives as two escapes; appending both chars joins them
          b.append(hex4(pos + 2));
          pos += 4;
        }
        default -> throw error("invalid escape '\\" + e + "'");
      }
      pos += 2;
    }
    pos = start - 1;
    throw error("unterminated string");
  }

  private char hex4(int at) {
    if (at + 4 > s.length()) {
      pos = at;
      throw error("truncated \\u escape");
    }
    int v = 0;
    for (int i = at; i < at + 4; i++) {
      int d = Character.digit(s.charAt(i), 16);
      if (d < 0) {
        pos = at;
        throw error("invalid \\u escape '" + s.substring(at, at + 4) + "'");
      }
      v = v * 16 + d;
    }
    return (char) v;
  }

  private Object number() {
    int start = pos;
    if (peek() == '-') {
      pos++;
    }
    if (peek() == '0') {
      pos++;
    } else if (isDigit(peek())) {
      digits();
    } else {
      throw error("invalid number");
    }
    boolean integral = true;
    if (peek() == '.') {
      integral = false;
      pos++;
      if (!isDigit(peek())) {
        throw error("expected a digit after '.'");
      }
      digits();
    }
    if (peek() == 'e' || peek() == 'E') {
      integral = false;
      pos++;
      if (peek() == '+' || peek() == '-') {
        pos++;
      }
      if (!isDigit(peek())) {
        throw error("expected a digit in the exponent");
      }
      digits();
    }
    String text = s.substring(start, pos);
    if (integral && pos - start <= 18) {
      return Long.parseLong(text);
    }
    return Double.parseDouble(text);
  }

  private void digits() {
    while (isDigit(peek())) {
      pos++;
    }
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private Object literal(String word, Object v) {
    if (!s.startsWith(word, pos)) {
      throw error("unexpected '" + s.charAt(pos) + "', expected a value");
    }
    pos += word.length();
    return v;
  }

  private void expect(char c) {
    if (peek() != c) {
      throw error("expected '" + c + "'");
    }
    pos++;
  }

  /** The current character, or NUL at the end (never valid there, so it fails the caller). */
  private char peek() {
    return pos < s.length() ? s.charAt(pos) : '\0';
  }

  private void skipSpace() {
    while (pos < s.length()) {
      char c = s.charAt(pos);
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
        return;
      }
      pos++;
    }
  }

  private IllegalArgumentException error(String problem) {
    int line = 1;
    int col = 1;
    for (int i = 0; i < Math.min(pos, s.length()); i++) {
      if (s.charAt(i) == '\n') {
        line++;
        col = 1;
      } else {
        col++;
      }
    }
    if (pos >= s.length() && !problem.startsWith("unexpected end")) {
      problem = problem + " (at the end of the input)";
    }
    return new IllegalArgumentException(
        what + ": malformed JSON at line " + line + ", column " + col + ": " + problem);
  }
}
