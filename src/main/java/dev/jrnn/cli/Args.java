package dev.jrnn.cli;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code --name value}, {@code --name=value}, {@code --flag} and positional arguments. */
final class Args {

  /** Wrong usage: reported with the command's usage text, exit status 2. */
  static final class UsageException extends RuntimeException {
    UsageException(String message) {
      super(message);
    }
  }

  private final Map<String, List<String>> options = new LinkedHashMap<>();
  private final List<String> positional = new ArrayList<>();
  private final Set<String> read = new HashSet<>();

  Args(String[] argv) {
    for (int i = 0; i < argv.length; i++) {
      String a = argv[i];
      if (a.startsWith("--") && a.length() > 2) {
        String key = a.substring(2);
        String value = null;
        int eq = key.indexOf('=');
        if (eq >= 0) {
          value = key.substring(eq + 1);
          key = key.substring(0, eq);
        } else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) {
          value = argv[++i];
        }
        options.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
      } else if (a.equals("-h")) {
        options.computeIfAbsent("h", k -> new ArrayList<>()).add(null);
      } else {
        positional.add(a);
      }
    }
  }

  /** Whether {@code --name} was given (a following bare word is taken back as positional). */
  boolean flag(String name) {
    read.add(name);
    List<String> v = options.get(name);
    if (v == null) {
      return false;
    }
    for (String s : v) {
      if (s != null) {
        positional.add(s);
      }
    }
    v.replaceAll(s -> null);
    return true;
  }

  String string(String name, String def) {
    read.add(name);
    List<String> v = options.get(name);
    if (v == null) {
      return def;
    }
    String s = v.getLast();
    if (s == null) {
      throw new UsageException("--" + name + " needs a value");
    }
    return s;
  }

  List<String> strings(String name) {
    read.add(name);
    List<String> v = options.getOrDefault(name, List.of());
    for (String s : v) {
      if (s == null) {
        throw new UsageException("--" + name + " needs a value");
      }
    }
    return v;
  }

  int integer(String name, int def, int min) {
    String s = string(name, null);
    if (s == null) {
      return def;
    }
    try {
      int v = Integer.parseInt(s);
      if (v < min) {
        throw new UsageException("--" + name + " must be >= " + min + ", got " + v);
      }
      return v;
    } catch (NumberFormatException e) {
      throw new UsageException("--" + name + " needs a whole number, got '" + s + "'");
    }
  }

  List<String> positional() {
    return positional;
  }

  /** Fails on options the command did not read. Call after reading them all. */
  void rejectUnknown() {
    for (String k : options.keySet()) {
      if (!read.contains(k)) {
        throw new UsageException("unknown option --" + k);
      }
    }
  }
}
