package dev.jrnn.onnx;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.jrnn.ModelFormatException;
import dev.jrnn.Weights;

/**
 * Coverage-guided fuzzing of the ONNX reader and importer (the core's readers are fuzzed by its
 * {@code ReadersFuzzTest}). Any outcome other than success or a {@link ModelFormatException} (an
 * unexpected exception, an OutOfMemoryError, a hang) is a finding.
 *
 * <p>Run with {@code JAZZER_FUZZ=1} (one target per JVM, as Jazzer requires) to fuzz for the time
 * the target allows; plain test runs replay the seeds in {@code
 * src/test/resources/dev/jrnn/onnx/OnnxFuzzTestInputs/onnx/} and any findings saved there.
 */
class OnnxFuzzTest {

  @FuzzTest(maxDuration = "30s")
  void onnx(byte[] bytes) {
    try {
      OnnxModel m = OnnxModel.read(bytes, "fuzz.onnx");
      if (m.weightInputs().isEmpty()) {
        try (Weights w = m.weights()) {
          w.checkAgainst(m.graph());
        }
      }
    } catch (ModelFormatException expected) {
      // the reader named the problem
    }
  }
}
