package dev.jrnn.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
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
 * backend, the benchmarks, the data utilities, the fit loop, the tasks and this command line.
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
          "dev.jrnn.bench",
          "dev.jrnn.data",
          "dev.jrnn.fit",
          "dev.jrnn.tasks"
        }) {
      assertTrue(classes.containPackage(pkg), pkg + " was not imported");
    }
  }

  /** The engine's internals: what the data utilities, the fit loop and the tasks must not use. */
  private static final String[] INTERNALS = {
    "dev.jrnn.exec..",
    "dev.jrnn.ir..",
    "dev.jrnn.spi..",
    "dev.jrnn.io..",
    "dev.jrnn.backend..",
    "dev.jrnn.train..",
    "dev.jrnn.kernels..",
    "dev.jrnn.onnx..",
    "dev.jrnn.onednn.."
  };

  /**
   * The layers over the public API: data and fit know only {@code dev.jrnn} (and not each other),
   * the tasks know those three, the command line sits on top.
   */
  static Stream<ArchRule> apiLayers() {
    return Stream.of(
        noClasses()
            .that()
            .resideInAPackage("dev.jrnn.data..")
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage(
                concat(INTERNALS, "dev.jrnn.fit..", "dev.jrnn.tasks..", "dev.jrnn.cli.."))
            .as("dev.jrnn.data uses the public API only"),
        noClasses()
            .that()
            .resideInAPackage("dev.jrnn.fit..")
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage(
                concat(INTERNALS, "dev.jrnn.data..", "dev.jrnn.tasks..", "dev.jrnn.cli.."))
            .as("dev.jrnn.fit uses the public API only"),
        noClasses()
            .that()
            .resideInAPackage("dev.jrnn.tasks..")
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage(concat(INTERNALS, "dev.jrnn.cli.."))
            .as("dev.jrnn.tasks uses the public API, data and fit only"));
  }

  private static String[] concat(String[] a, String... b) {
    return Stream.concat(Stream.of(a), Stream.of(b)).toArray(String[]::new);
  }

  static Stream<ArchRule> rules() {
    return Stream.concat(ArchitectureRules.ALL.stream(), apiLayers());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rules")
  void holds(ArchRule rule) {
    rule.check(classes);
  }
}
