package dev.jrnn.spi;

import dev.jrnn.Model;
import java.nio.file.Path;

/**
 * A model file format beyond jrnn's own, found with {@link java.util.ServiceLoader} (register the
 * class in {@code META-INF/services/dev.jrnn.spi.ModelFormat}); {@code jrnn-onnx} registers ONNX.
 * {@link Model#load(Path)} asks each format whether it recognises a file.
 */
public interface ModelFormat {

  /** The format's name, e.g. {@code "ONNX"}. */
  String name();

  /** Whether {@code file}, whose first bytes are {@code head}, is in this format. */
  boolean recognizes(Path file, byte[] head);

  /** Reads the file; a malformed one is a {@code ModelFormatException} saying what and where. */
  Model load(Path file);
}
