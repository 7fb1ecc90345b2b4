package dev.jrnn.arch;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.lang.ArchRule;
import dev.jrnn.testing.ArchitectureRules;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The architecture rules over the engine and the kernels (the CLI's test covers every module). */
class ArchitectureTest {

  private static JavaClasses classes;

  @BeforeAll
  static void load() {
    classes = ArchitectureRules.productionClasses();
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
