package dev.jrnn;

import java.util.Objects;

/**
 * One dimension of a declared shape: either a fixed size or a named dynamic size bound when the
 * graph runs ({@code T}, {@code N}).
 *
 * @param size the fixed size, or {@code -1} for a dynamic dimension
 * @param name the dynamic dimension's name; {@code null} for a fixed dimension
 */
public record Dim(int size, String name) {

  /** A dynamic dimension whose size the graph derives and the run checks. */
  static final String DERIVED = "?";

  public Dim {
    if (size < -1) {
      throw new IllegalArgumentException("dimension size must be >= 0, got " + size);
    }
    if (size == -1) {
      Objects.requireNonNull(name, "a dynamic dimension needs a name");
      if (name.isBlank()) {
        throw new IllegalArgumentException("a dynamic dimension needs a non-blank name");
      }
    } else if (name != null) {
      throw new IllegalArgumentException("a fixed dimension has no name");
    }
  }

  /** A fixed dimension of {@code size} elements. */
  public static Dim of(int size) {
    return new Dim(size, null);
  }

  /** A dynamic dimension called {@code name}; every use of the same name must agree at run time. */
  public static Dim dyn(String name) {
    return new Dim(-1, name);
  }

  /** A dynamic dimension that the graph derives (e.g. a sum of dynamic sizes). */
  static Dim derived() {
    return new Dim(-1, DERIVED);
  }

  /** Whether this dimension has a fixed size. */
  public boolean isFixed() {
    return size >= 0;
  }

  @Override
  public String toString() {
    return isFixed() ? Integer.toString(size) : name;
  }
}
