package dev.jrnn.data;

import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * Class labels (strings) to ids {@code 0..size-1} and back. Immutable.
 *
 * <p>{@link #fit} numbers the distinct labels in their natural ({@link String}) order. {@link
 * #fitBinary} and {@link #binary} make two classes 0 and 1 with a deterministic positive class (id
 * 1): if exactly one of the two labels is a known positive name — {@code spam}, {@code 1}, {@code
 * true}, {@code yes}, {@code positive}, {@code pos} (any case) — or the other one a known negative
 * name — {@code ham}, {@code 0}, {@code false}, {@code no}, {@code negative}, {@code neg} — that
 * decides; otherwise the lexicographically larger label is positive.
 */
public final class Labels {

  /** The {@link Weights#metadata() metadata} key under which {@link #storeIn} saves labels. */
  public static final String METADATA_KEY = "jrnn.labels";

  private static final Set<String> POSITIVE = Set.of("spam", "1", "true", "yes", "positive", "pos");
  private static final Set<String> NEGATIVE = Set.of("ham", "0", "false", "no", "negative", "neg");

  private final List<String> classes;
  private final Map<String, Integer> ids;

  private Labels(List<String> classes) {
    this.classes = List.copyOf(classes);
    this.ids = new HashMap<>();
    for (int i = 0; i < classes.size(); i++) {
      if (ids.put(classes.get(i), i) != null) {
        throw new IllegalArgumentException("class '" + classes.get(i) + "' appears twice");
      }
    }
  }

  /** The given classes with ids in list order; no duplicates, at least one. */
  public static Labels of(List<String> classes) {
    Objects.requireNonNull(classes, "classes");
    if (classes.isEmpty()) {
      throw new IllegalArgumentException("no classes");
    }
    classes.forEach(c -> Objects.requireNonNull(c, "class"));
    return new Labels(classes);
  }

  /** The distinct labels of {@code labels} in natural order; at least one label. */
  public static Labels fit(Collection<String> labels) {
    TreeSet<String> distinct = distinct(labels);
    if (distinct.isEmpty()) {
      throw new IllegalArgumentException("no labels to fit");
    }
    return new Labels(new ArrayList<>(distinct));
  }

  /**
   * Two classes, {@code [negative, positive]}, from the labels present (see the class comment for
   * which is positive).
   *
   * @throws IllegalArgumentException unless there are exactly two classes (the message lists them)
   */
  public static Labels fitBinary(Collection<String> labels) {
    TreeSet<String> distinct = distinct(labels);
    if (distinct.size() != 2) {
      throw new IllegalArgumentException(
          "binary labels need two classes, got "
              + distinct.size()
              + (distinct.isEmpty() ? "" : ": " + String.join(", ", distinct)));
    }
    String a = distinct.first();
    String b = distinct.last(); // a < b
    boolean aPos = isPositive(a) || isNegative(b);
    boolean bPos = isPositive(b) || isNegative(a);
    return aPos && !bPos ? new Labels(List.of(b, a)) : new Labels(List.of(a, b));
  }

  /**
   * {@code 0}/{@code 1} per label, 1 for the positive class chosen as {@link #fitBinary} does. A
   * single class is accepted when it is a known positive (all 1) or negative (all 0) name.
   *
   * @throws IllegalArgumentException if there are more than two classes (listing them), or a single
   *     class of unknown polarity
   */
  public static int[] binary(List<String> labels) {
    TreeSet<String> distinct = distinct(labels);
    if (distinct.size() == 1) {
      String only = distinct.first();
      if (!isPositive(only) && !isNegative(only)) {
        throw new IllegalArgumentException(
            "only one class, '"
                + only
                + "': cannot tell whether it is the positive one; use Labels.of(negative,"
                + " positive).encode(labels)");
      }
      int[] out = new int[labels.size()];
      Arrays.fill(out, isPositive(only) ? 1 : 0);
      return out;
    }
    if (distinct.isEmpty()) {
      return new int[0];
    }
    return fitBinary(distinct).encode(labels);
  }

  private static TreeSet<String> distinct(Collection<String> labels) {
    Objects.requireNonNull(labels, "labels");
    TreeSet<String> distinct = new TreeSet<>();
    int i = 0;
    for (String l : labels) {
      if (l == null) {
        throw new IllegalArgumentException("label " + i + " is null");
      }
      distinct.add(l);
      i++;
    }
    return distinct;
  }

  /** Number of classes. */
  public int size() {
    return classes.size();
  }

  /** The classes in id order. */
  public List<String> classes() {
    return classes;
  }

  /** The id of {@code label}; an error listing the classes if it is not one. */
  public int id(String label) {
    Integer id = ids.get(label);
    if (id == null) {
      throw new IllegalArgumentException(
          "unknown label '" + label + "'; classes: " + String.join(", ", classes));
    }
    return id;
  }

  /** The label of {@code id}. */
  public String label(int id) {
    if (id < 0 || id >= classes.size()) {
      throw new IllegalArgumentException(
          "class id " + id + " is outside [0, " + classes.size() + ")");
    }
    return classes.get(id);
  }

  /** The id of each label. */
  public int[] encode(List<String> labels) {
    int[] out = new int[labels.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = id(labels.get(i));
    }
    return out;
  }

  /** Class ids of the items at {@code batch}, I32 {@code [N]}: cross-entropy targets. */
  public static Tensor classTargets(int[] ids, int[] batch) {
    return Tensor.of(Splits.select(ids, batch), batch.length);
  }

  /** 0/1 ids of the items at {@code batch} as F32 {@code [N, 1]}: binary cross-entropy targets. */
  public static Tensor binaryTargets(int[] ids, int[] batch) {
    int[] sel = Splits.select(ids, batch);
    float[] y = new float[sel.length];
    for (int i = 0; i < y.length; i++) {
      y[i] = sel[i];
    }
    return Tensor.of(y, y.length, 1);
  }

  /** The classes as a JSON array of strings. */
  public String toJson() {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < classes.size(); i++) {
      if (i > 0) {
        b.append(',');
      }
      Json.quote(classes.get(i), b);
    }
    return b.append(']').toString();
  }

  /** Reads {@link #toJson}'s output. */
  public static Labels fromJson(String json) {
    String what = "labels JSON";
    Object v = Json.parse(Objects.requireNonNull(json, "json"), what);
    if (!(v instanceof List<?> list)) {
      throw new IllegalArgumentException(what + ": expected an array, got " + Json.kind(v));
    }
    List<String> cs = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      if (!(list.get(i) instanceof String s)) {
        throw new IllegalArgumentException(
            what + ": class " + i + " must be a string, got " + Json.kind(list.get(i)));
      }
      cs.add(s);
    }
    try {
      return of(cs);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
    }
  }

  /** Saves the classes in {@code weights}' metadata under {@link #METADATA_KEY}. */
  public void storeIn(Weights weights) {
    weights.putMetadata(METADATA_KEY, toJson());
  }

  /** The labels saved by {@link #storeIn}; an error naming {@link #METADATA_KEY} if absent. */
  public static Labels from(Weights weights) {
    return fromJson(Metadata.require(weights, METADATA_KEY, "labels", "Labels.storeIn"));
  }

  /** Equal when the classes, in order, are. */
  @Override
  public boolean equals(Object o) {
    return o instanceof Labels l && classes.equals(l.classes);
  }

  @Override
  public int hashCode() {
    return classes.hashCode();
  }

  /** "Labels[ham, spam]". */
  @Override
  public String toString() {
    return "Labels" + classes;
  }

  private static boolean isPositive(String label) {
    return POSITIVE.contains(label.strip().toLowerCase(Locale.ROOT));
  }

  private static boolean isNegative(String label) {
    return NEGATIVE.contains(label.strip().toLowerCase(Locale.ROOT));
  }
}
