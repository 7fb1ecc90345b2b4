package dev.jrnn.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's Java examples marked {@code <!-- compiled -->} compile against the modules as they
 * are: each is wrapped in a method of a class that imports the public packages and compiled with
 * the test class path. (TasksTest runs the same calls on slices of the data.)
 */
class ReadmeExampleTest {

  static final String MARK = "<!-- compiled -->";

  static final String IMPORTS =
      """
      import dev.jrnn.*;
      import dev.jrnn.data.*;
      import dev.jrnn.fit.*;
      import dev.jrnn.tasks.*;
      import java.nio.file.*;
      import java.util.*;
      """;

  /** The ```java blocks that follow a {@link #MARK} line. */
  static List<String> compiledBlocks(List<String> readme) {
    List<String> blocks = new ArrayList<>();
    for (int i = 0; i < readme.size(); i++) {
      if (readme.get(i).strip().equals(MARK)) {
        assertEquals("```java", readme.get(i + 1).strip(), "a ```java block follows " + MARK);
        StringBuilder b = new StringBuilder();
        int j = i + 2;
        while (!readme.get(j).strip().equals("```")) {
          b.append(readme.get(j++)).append('\n');
        }
        blocks.add(b.toString());
      }
    }
    return blocks;
  }

  @Test
  void theReadmeExamplesCompile(@TempDir Path dir) throws IOException {
    List<String> blocks = compiledBlocks(Files.readAllLines(Path.of("../README.md")));
    assertFalse(blocks.isEmpty(), "the README marks its compiled examples with " + MARK);
    List<String> files = new ArrayList<>();
    for (int k = 0; k < blocks.size(); k++) {
      Path f = dir.resolve("ReadmeExample" + k + ".java");
      Files.writeString(
          f,
          IMPORTS
              + "class ReadmeExample"
              + k
              + " {\n  static void example() throws Exception {\n"
              + blocks.get(k)
              + "  }\n}\n");
      files.add(f.toString());
    }
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    String cp =
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> args = new ArrayList<>(List.of("-d", dir.toString(), "-cp", cp, "-proc:none"));
    args.addAll(files);
    StringWriter err = new StringWriter();
    int status =
        javac.run(
            null,
            null,
            new java.io.PrintStream(
                new java.io.OutputStream() {
                  @Override
                  public void write(int b) {
                    err.write(b);
                  }
                },
                true),
            args.toArray(String[]::new));
    assertEquals(0, status, "the README's example does not compile:\n" + err);
    assertTrue(Files.exists(dir.resolve("ReadmeExample0.class")));
  }
}
