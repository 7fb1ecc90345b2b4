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

  private static final String DERIVED = "?";

  /** Checks the combination: a size ≥ 0 without a name, or size −1 with a non-blank name. */
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

  /** A fixed dimension of {@code size ≥ 0} elements. */
  public static Dim of(int size) {
    if (size < 0) {
      throw new IllegalArgumentException("dimension size must be >= 0, got " + size);
    }
    return new Dim(size, null);
  }

  /**
   * A dynamic dimension called {@code name}; every use of the same name must agree at run time. The
   * name {@code "?"} is reserved for {@link #derived()} dimensions.
   */
  public static Dim dyn(String name) {
    if (DERIVED.equals(name)) {
      throw new IllegalArgumentException(
          "'?' is reserved for dimensions the graph derives; name the dimension");
    }
    return new Dim(-1, name);
  }

  /**
   * A dynamic dimension the graph works out from others (a sum of dynamic sizes, a reshape): known
   * only when the graph runs, shown as {@code ?}.
   */
  public static Dim derived() {
    return new Dim(-1, DERIVED);
  }

  /** Whether this is a {@link #derived()} dimension. */
  public boolean isDerived() {
    return size == -1 && DERIVED.equals(name);
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
