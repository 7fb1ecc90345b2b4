package dev.jrnn;

/** A model, weights or data file is malformed; the message says what is wrong and where. */
public class ModelFormatException extends RuntimeException {

  public ModelFormatException(String message) {
    super(message);
  }

  public ModelFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
