package dev.jrnn.arch;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.lang.ArchRule;
import dev.jrnn.testing.ArchitectureRules;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The architecture rules over every module at once: kernels, engine, ONNX import, the onednn
 * backend, the benchmarks and this command line.
 */
class AllModulesArchitectureTest {

  private static JavaClasses classes;

  @BeforeAll
  static void load() {
    classes = ArchitectureRules.productionClasses();
  }

  /** The import really sees every module (a rule over too few classes proves nothing). */
  @Test
  void everyModuleIsImported() {
    for (String pkg :
        new String[] {
          "dev.jrnn.kernels",
          "dev.jrnn.exec",
          "dev.jrnn.onnx",
          "dev.jrnn.onednn",
          "dev.jrnn.cli",
          "dev.jrnn.bench"
        }) {
      assertTrue(classes.containPackage(pkg), pkg + " was not imported");
    }
  }

  static Stream<ArchRule> rules() {
    return ArchitectureRules.ALL.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rules")
  void holds(ArchRule rule) {
    rule.check(classes);
  }
}
