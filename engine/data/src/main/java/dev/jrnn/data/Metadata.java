package dev.jrnn.data;

import dev.jrnn.Weights;

/** Reads the metadata entries this package stores in {@link Weights}. */
final class Metadata {

  private Metadata() {}

  /**
   * The entry {@code key} of {@code weights}' metadata; an error naming the key, the keys present
   * and {@code storer} (the method that writes it) if there is none.
   */
  static String require(Weights weights, String key, String thing, String storer) {
    String value = weights.metadata().get(key);
    if (value == null) {
      throw new IllegalArgumentException(
          "no "
              + thing
              + " in these weights: metadata key '"
              + key
              + "' is absent (keys: "
              + (weights.metadata().isEmpty()
                  ? "none"
                  : String.join(", ", weights.metadata().keySet()))
              + "); "
              + storer
              + " saves one");
    }
    return value;
  }
}
