package dev.jrnn.testing;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.members;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaMember;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The architecture, as rules that fail when it erodes: no package cycles; the public API ({@code
 * dev.jrnn}) neither exposes nor depends on the engine's internals; the kernels depend on nothing
 * of jrnn; the layers below the executor do not reach up; the training math uses only tensors and
 * kernels. Each module's test runs them over the classes on its class path (the command-line module
 * sees every module).
 */
public final class ArchitectureRules {

  private ArchitectureRules() {}

  /**
   * jrnn's production classes on the class path, from class folders and module jars alike
   * (generated oneDNN bindings included; test classes and test-jars left out).
   */
  public static JavaClasses productionClasses() {
    ImportOption production =
        location -> !location.contains("/test-classes/") && !location.contains("-tests.jar");
    return new ClassFileImporter().withImportOption(production).importPackages("dev.jrnn");
  }

  /** Every package its own slice: no cycle between any two packages. */
  public static final ArchRule NO_PACKAGE_CYCLES =
      slices()
          .assignedFrom(
              new SliceAssignment() {
                @Override
                public SliceIdentifier getIdentifierOf(JavaClass c) {
                  return SliceIdentifier.of(c.getPackageName());
                }

                @Override
                public String getDescription() {
                  return "one slice per package";
                }
              })
          .should()
          .beFreeOfCycles();

  /** The API package uses the JDK and itself only; it finds the engine with ServiceLoader. */
  public static final ArchRule API_DEPENDS_ON_NOTHING_OF_THE_ENGINE =
      noClasses()
          .that()
          .resideInAPackage("dev.jrnn")
          .should()
          .dependOnClassesThat()
          .resideOutsideOfPackages("dev.jrnn", "java..")
          .because("the public API must not reach the IR, the SPI or the executor");

  /** No public member of a public API type takes, returns or holds a non-API jrnn type. */
  public static final ArchRule API_EXPOSES_NO_INTERNAL_TYPES =
      members()
          .that(publicMembersOfPublicApiTypes())
          .should(exposeOnlyApiAndJdkTypes())
          .because("IR, SPI and executor types are internal and may change");

  /** The kernels are pure compute: the JDK and the Vector API only. */
  public static final ArchRule KERNELS_DEPEND_ON_NOTHING_OF_JRNN =
      classes()
          .that()
          .resideInAPackage("dev.jrnn.kernels..")
          .should()
          .onlyDependOnClassesThat()
          .resideInAnyPackage("dev.jrnn.kernels..", "java..", "jdk.incubator.vector..");

  /** The IR describes graphs; it knows nothing of backends, execution, training or files. */
  public static final ArchRule IR_IS_BELOW_SPI_EXEC_AND_FORMATS =
      noClasses()
          .that()
          .resideInAPackage("dev.jrnn.ir..")
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(
              "dev.jrnn.spi..",
              "dev.jrnn.exec..",
              "dev.jrnn.backend..",
              "dev.jrnn.io..",
              "dev.jrnn.train..");

  /**
   * The file formats read and write graphs and tensors; they know nothing of execution or training.
   */
  public static final ArchRule FORMATS_ARE_BELOW_THE_EXECUTOR =
      noClasses()
          .that()
          .resideInAnyPackage("dev.jrnn.io..", "dev.jrnn.onnx..")
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(
              "dev.jrnn.exec..", "dev.jrnn.backend..", "dev.jrnn.onednn..", "dev.jrnn.train..");

  /**
   * The training math (losses, optimizers) works on tensors with the kernels: it does not reach the
   * graph, the backends or the files, so the trainer above it can use it from anywhere.
   */
  public static final ArchRule TRAINING_MATH_USES_TENSORS_AND_KERNELS =
      classes()
          .that()
          .resideInAPackage("dev.jrnn.train..")
          .should()
          .onlyDependOnClassesThat()
          .resideInAnyPackage("dev.jrnn", "dev.jrnn.train..", "dev.jrnn.kernels..", "java..");

  /** Backends are written against the SPI and the IR, never against the executor. */
  public static final ArchRule BACKENDS_DO_NOT_USE_THE_EXECUTOR =
      noClasses()
          .that()
          .resideInAnyPackage("dev.jrnn.backend..", "dev.jrnn.onednn..", "dev.jrnn.spi..")
          .should()
          .dependOnClassesThat()
          .resideInAPackage("dev.jrnn.exec..");

  /** Every rule above. */
  public static final List<ArchRule> ALL =
      List.of(
          NO_PACKAGE_CYCLES,
          API_DEPENDS_ON_NOTHING_OF_THE_ENGINE,
          API_EXPOSES_NO_INTERNAL_TYPES,
          KERNELS_DEPEND_ON_NOTHING_OF_JRNN,
          IR_IS_BELOW_SPI_EXEC_AND_FORMATS,
          FORMATS_ARE_BELOW_THE_EXECUTOR,
          BACKENDS_DO_NOT_USE_THE_EXECUTOR,
          TRAINING_MATH_USES_TENSORS_AND_KERNELS);

  private static DescribedPredicate<JavaMember> publicMembersOfPublicApiTypes() {
    return new DescribedPredicate<>("are public members of public types in dev.jrnn") {
      @Override
      public boolean test(JavaMember m) {
        JavaClass owner = m.getOwner();
        return owner.getPackageName().equals("dev.jrnn")
            && owner.getModifiers().contains(JavaModifier.PUBLIC)
            && m.getModifiers().contains(JavaModifier.PUBLIC);
      }
    };
  }

  private static ArchCondition<JavaMember> exposeOnlyApiAndJdkTypes() {
    return new ArchCondition<>("take, return and hold only dev.jrnn and JDK types") {
      @Override
      public void check(JavaMember m, ConditionEvents events) {
        Set<JavaClass> types = new HashSet<>();
        if (m instanceof JavaCodeUnit c) {
          types.addAll(c.getReturnType().getAllInvolvedRawTypes());
          c.getParameterTypes().forEach(t -> types.addAll(t.getAllInvolvedRawTypes()));
        } else if (m instanceof JavaField f) {
          types.addAll(f.getType().getAllInvolvedRawTypes());
        }
        for (JavaClass t : types) {
          JavaClass base = t.isArray() ? t.getBaseComponentType() : t;
          String pkg = base.getPackageName();
          boolean ok = base.isPrimitive() || pkg.equals("dev.jrnn") || pkg.startsWith("java.");
          if (!ok) {
            events.add(
                SimpleConditionEvent.violated(
                    m, m.getFullName() + " exposes " + base.getName() + " (not public API)"));
          }
        }
      }
    };
  }
}
