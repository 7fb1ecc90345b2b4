package dev.jrnn;

/** A model, weights or data file is malformed; the message says what is wrong and where. */
public class ModelFormatException extends RuntimeException {

  /** An exception whose message says what is wrong and where. */
  public ModelFormatException(String message) {
    super(message);
  }

  /** An exception whose message says what is wrong and where, caused by {@code cause}. */
  public ModelFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
