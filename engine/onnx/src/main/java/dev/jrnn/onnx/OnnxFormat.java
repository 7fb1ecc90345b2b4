package dev.jrnn.onnx;

import dev.jrnn.Model;
import dev.jrnn.ModelFormatException;
import dev.jrnn.spi.ModelFormat;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * ONNX as a {@link ModelFormat}, so that {@link Model#load(Path)} and {@code Session.open(path,
 * options)} read {@code .onnx} files when {@code jrnn-onnx} is on the class path. A model that
 * takes weights as graph inputs cannot be loaded this way: its weights must be bound with {@link
 * OnnxModel#weights(java.util.Map)}.
 */
public final class OnnxFormat implements ModelFormat {

  /** The format name in {@link Model#format()}. */
  public static final String NAME = "ONNX";

  /** For {@link java.util.ServiceLoader}. */
  public OnnxFormat() {}

  @Override
  public String name() {
    return NAME;
  }

  /**
   * A file named {@code *.onnx}, or one that starts as a ModelProto does: field 1 ({@code
   * ir_version}) as a varint, tag byte {@code 0x08}.
   */
  @Override
  public boolean recognizes(Path file, byte[] head) {
    Path name = file.getFileName();
    if (name != null && name.toString().toLowerCase(Locale.ROOT).endsWith(".onnx")) {
      return true;
    }
    return head != null && head.length > 0 && head[0] == 0x08;
  }

  @Override
  public Model load(Path file) {
    OnnxModel m = OnnxModel.load(file);
    List<String> inputs = m.weightInputs();
    if (!inputs.isEmpty()) {
      throw new ModelFormatException(
          file
              + ": the model takes weights as graph inputs ("
              + String.join(", ", inputs)
              + "); load it with OnnxModel.load and bind them with OnnxModel.weights(Map)");
    }
    return new Model(m.graph(), m.weights(), NAME);
  }
}
