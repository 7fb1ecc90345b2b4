package dev.jrnn.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The kernels give the same bits whichever JIT tier runs them: the warmed (C2) results of this JVM
 * against a child JVM running only the interpreter, and one running only C1. Before the fix the
 * vector kernels called the Vector API's EXP and TANH (SVML stubs under C2, {@code Math.exp} per
 * lane before) and summed softmax lanes with {@code reduceLanes}, and differed in the last bits.
 */
class TierDeterminismTest {

  static Map<String, String> child(String tierFlag) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElseThrow());
    cmd.add("--add-modules");
    cmd.add("jdk.incubator.vector");
    cmd.add(tierFlag);
    String bits = System.getProperty("jrnn.vectorBits");
    if (bits != null) {
      cmd.add("-Djrnn.vectorBits=" + bits);
    }
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(TierProbe.class.getName());
    java.io.File err = java.io.File.createTempFile("tier", ".err");
    try {
      Process p = new ProcessBuilder(cmd).redirectError(err).start();
      Map<String, String> out = new LinkedHashMap<>();
      try (BufferedReader in =
          new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = in.readLine()) != null; ) {
          String[] kv = line.split("\t");
          out.put(kv[0], kv[1]);
        }
      }
      boolean ended = p.waitFor(60, TimeUnit.SECONDS);
      String stderr = java.nio.file.Files.readString(err.toPath(), StandardCharsets.UTF_8);
      assertTrue(ended, "child JVM " + tierFlag + " timed out: " + stderr);
      assertEquals(0, p.exitValue(), "child JVM " + tierFlag + " failed: " + stderr);
      return out;
    } finally {
      err.delete();
    }
  }

  @Test
  void interpreterC1AndC2GiveTheSameBits() throws Exception {
    Map<String, String> warm;
    try (Arena arena = Arena.ofConfined()) {
      Map<String, Supplier<Long>> kernels = TierProbe.kernels(arena);
      long until = System.nanoTime() + 1_500_000_000L; // time for C2 to compile every kernel
      for (int i = 0; i < 3000 || System.nanoTime() < until; i++) {
        kernels.values().forEach(Supplier::get);
      }
      warm = TierProbe.hashes(kernels);
    }
    for (String tier : new String[] {"-Xint", "-XX:TieredStopAtLevel=1"}) {
      Map<String, String> other = child(tier);
      assertEquals(warm.keySet(), other.keySet());
      List<String> differ = new ArrayList<>();
      warm.forEach(
          (name, h) -> {
            if (!h.equals(other.get(name))) {
              differ.add(name);
            }
          });
      assertEquals(List.of(), differ, "kernels whose bits differ between C2 and " + tier);
    }
  }
}
