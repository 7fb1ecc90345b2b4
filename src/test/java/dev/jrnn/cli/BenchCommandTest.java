package dev.jrnn.cli;

import static dev.jrnn.cli.CommandsTest.jrnn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.cli.CommandsTest.Run;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code jrnn bench} of a configuration in several weight precisions. */
class BenchCommandTest {

  /**
   * A text row: backend, precision (with * where widened), threads, 3 times, GFLOP/s, GB/s, diff.
   */
  private static final Pattern ROW =
      Pattern.compile(
          "(?m)^(\\S+)\\s+(f32|bf16|int8)(\\*?)\\s+1\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.]+"
              + "\\s+([\\d.]+)\\s+(\\S+)$");

  @Test
  void rowsPerBackendAndPrecisionWithTheAccuracyCostAgainstF32Reference() {
    Run r =
        jrnn("bench", "--workload", "W3", "--precision", "f32,bf16", "--runs", "2", "--warmup", 1);
    assertEquals(0, r.status(), r.err() + r.out());
    assertTrue(
        r.out().contains("recurrent weights read per step: 32 KiB f32, 16 KiB bf16"), r.out());
    Map<String, List<String>> precisions = new LinkedHashMap<>();
    Matcher m = ROW.matcher(r.out());
    while (m.find()) {
      String backend = m.group(1);
      String p = m.group(2);
      double diff = Double.parseDouble(m.group(5));
      precisions.computeIfAbsent(backend, k -> new ArrayList<>()).add(p);
      if (p.equals("f32")) {
        assertTrue(diff < 1e-5, backend + " f32 diff " + diff + "\n" + r.out());
      } else { // the bf16 weights' rounding shows, within the format's reach
        assertTrue(diff > 0 && diff < 1e-2, backend + " bf16 diff " + diff + "\n" + r.out());
      }
      assertTrue(Double.parseDouble(m.group(4)) > 0, "GB/s of " + backend + " " + p);
    }
    assertEquals(List.of("f32", "bf16"), precisions.get("java"), r.out());
    assertEquals(List.of("f32"), precisions.get("ort"), r.out()); // ONNX Runtime: f32 only
    assertTrue(r.out().contains("ort runs f32 weights only: no bf16 row"), r.out());
  }

  @Test
  void jsonHasThePrecisionAndTheWeightTraffic() {
    Run r =
        jrnn(
            "bench",
            "--cell",
            "gru",
            "--batch",
            "1",
            "--seq",
            "4",
            "--input",
            "8",
            "--hidden",
            "8",
            "--backend",
            "java,ort,reference",
            "--precision",
            "int8,f32,int8",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--json");
    assertEquals(0, r.status(), r.err());
    List<String> lines = r.out().lines().filter(l -> l.startsWith("{")).toList();
    assertEquals(5, lines.size(), r.out()); // java × 2, ort × 1, reference × 2; int8 once
    assertTrue(lines.get(0).contains("\"backend\":\"java\",\"precision\":\"int8\""), lines.get(0));
    assertTrue(lines.get(0).contains("\"read_precision\":\"int8\""), lines.get(0));
    assertTrue(lines.get(1).contains("\"backend\":\"java\",\"precision\":\"f32\""), lines.get(1));
    assertTrue(lines.get(2).contains("\"backend\":\"ort\",\"precision\":\"f32\""), lines.get(2));
    // reference has no int8 kernels: the session widens the weights, and the row says so.
    assertTrue(
        lines.get(3).contains("\"precision\":\"int8\",\"read_precision\":\"f32\""), lines.get(3));
    for (String l : lines) {
      assertTrue(l.matches(".*\"weight_gbps\":[\\d.]+,.*"), l);
    }
  }

  @Test
  void aWidenedPrecisionIsMarked() {
    Run r =
        jrnn(
            "bench",
            "--cell",
            "lstm",
            "--batch",
            "1",
            "--seq",
            "3",
            "--input",
            "4",
            "--hidden",
            "4",
            "--backend",
            "reference",
            "--precision",
            "bf16",
            "--runs",
            "1",
            "--warmup",
            "0");
    assertEquals(0, r.status(), r.err());
    assertTrue(r.out().contains("\nreference  bf16*"), r.out());
    assertTrue(r.out().contains("* no kernels for this precision on this backend"), r.out());
  }

  @Test
  void anUnknownPrecisionIsAUsageError() {
    Run r = jrnn("bench", "--workload", "W1", "--precision", "f32,fp8");
    assertEquals(2, r.status());
    assertTrue(r.err().startsWith("jrnn bench: Invalid value for option '--precision'"), r.err());
    assertTrue(r.err().contains("unknown precision 'fp8'; known: f32, bf16, int8"), r.err());
    assertTrue(r.err().contains("usage: jrnn bench"), r.err());
    Run train = jrnn("bench", "--train", "--workload", "W6", "--precision", "bf16");
    assertEquals(2, train.status());
    assertTrue(train.err().contains("--precision applies to inference"), train.err());
  }

  @Test
  void aModelInAReducedPrecision() {
    Run r =
        jrnn(
            "bench",
            CommandsTest.ONNX.resolve("torch17_char_lm.onnx"),
            "--dim",
            "T=8",
            "--dim",
            "N=2",
            "--backend",
            "java,ort",
            "--precision",
            "f32,int8",
            "--runs",
            "2",
            "--warmup",
            "0");
    assertEquals(0, r.status(), r.err());
    Matcher m =
        Pattern.compile(
                "(?m)^(\\S+)\\s+(f32|int8)\\s+1\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.]+x\\s+(\\S+)$")
            .matcher(r.out());
    List<String> rows = new ArrayList<>();
    while (m.find()) {
      rows.add(m.group(1) + " " + m.group(2));
      double diff = Double.parseDouble(m.group(3));
      assertTrue(m.group(2).equals("f32") ? diff <= 1e-5 : diff > 0 && diff < 0.1, r.out());
    }
    assertEquals(List.of("java f32", "java int8", "ort f32"), rows, r.out());
  }
}
