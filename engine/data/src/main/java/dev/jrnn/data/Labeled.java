package dev.jrnn.data;

import java.util.Objects;

/**
 * A text with its class label, as {@link TextCsv} and {@link Datasets#spamAssassin()} give them.
 *
 * @param text the text
 * @param label its class, e.g. {@code "spam"}
 */
public record Labeled(String text, String label) {

  /** Checks that both parts are given. */
  public Labeled {
    Objects.requireNonNull(text, "text");
    Objects.requireNonNull(label, "label");
  }

  /** A short form: the label and the text's first 40 characters. */
  @Override
  public String toString() {
    String t = text.length() > 40 ? text.substring(0, 40) + "…" : text;
    return "Labeled(" + label + ": " + Json.quote(t) + ")";
  }
}
