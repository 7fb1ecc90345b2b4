package dev.jrnn.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.jrnn.ModelFormatException;
import dev.jrnn.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * Coverage-guided fuzzing of the core's readers of untrusted bytes: safetensors and jrnn models,
 * and {@code .npy} files (the ONNX reader is fuzzed in {@code jrnn-onnx}). Any outcome other than
 * success or a {@link ModelFormatException} (an unexpected exception, an OutOfMemoryError, a hang)
 * is a finding.
 *
 * <p>{@code make test} runs each target for a bounded time with {@code JAZZER_FUZZ=1} (one per JVM,
 * as Jazzer requires); plain test runs replay the seeds in {@code
 * src/test/resources/dev/jrnn/io/ReadersFuzzTestInputs/} and any findings saved there.
 */
class ReadersFuzzTest {

  @FuzzTest(maxDuration = "30s")
  void safetensors(byte[] bytes) {
    try {
      SafeTensors.read(MemorySegment.ofArray(bytes), "fuzz.safetensors").close();
      JrnnModel.read(MemorySegment.ofArray(bytes), "fuzz.jrnn").close();
    } catch (ModelFormatException expected) {
      // the reader named the problem
    }
  }

  @FuzzTest(maxDuration = "30s")
  void npy(byte[] bytes) {
    try (Tensor t = Npy.read(bytes, "fuzz.npy")) {
      t.size();
    } catch (ModelFormatException expected) {
      // the reader named the problem
    }
  }
}
