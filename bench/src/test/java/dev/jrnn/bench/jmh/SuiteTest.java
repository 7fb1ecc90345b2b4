package dev.jrnn.bench.jmh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Precision;
import dev.jrnn.bench.jmh.Suite.Row;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The table and chart {@code make bench} draws, from synthetic results (no JMH run). */
class SuiteTest {

  @TempDir Path tmp;

  /**
   * W1 and W4 at 1 and 2 threads: java in three precisions, onednn and ort in f32, and onednn in
   * bf16 and int8 at W4.
   */
  static List<Row> rows() {
    List<Row> rows = new ArrayList<>();
    for (String w : List.of("W1", "W4")) {
      double scale = w.equals("W1") ? 1 : 50;
      for (int t : new int[] {1, 2}) {
        double s = scale / t;
        rows.add(new Row(w, "ort", Precision.F32, t, 1.5 * s));
        rows.add(new Row(w, "onednn", Precision.F32, t, 2.0 * s));
        rows.add(new Row(w, "java", Precision.F32, t, 1.4 * s));
        rows.add(new Row(w, "java", Precision.BF16, t, 0.9 * s));
        rows.add(new Row(w, "java", Precision.INT8, t, 0.6 * s));
        if (w.equals("W4")) { // series in one panel only: oneDNN's reduced precisions at batch 64
          rows.add(new Row(w, "onednn", Precision.BF16, t, 0.5 * s));
          rows.add(new Row(w, "onednn", Precision.INT8, t, 0.7 * s));
        }
      }
    }
    return rows;
  }

  @Test
  void tableHasAPrecisionColumnAndComparesWithTheBestF32Peer() {
    String t =
        Suite.table(
            rows(),
            new double[] {0, 200, 400},
            Map.of("W1/java/bf16", 1.5e-3, "W1/java/f32", 2.8e-7));
    assertTrue(t.startsWith("| workload | engine | precision | threads | median ms |"), t);
    // W1, 1 thread: best peer is ort at 1.5 ms; java bf16 0.9 ms = 0.60×.
    // Weights: R [4·256, 256] in bf16 = 512 KiB per step, × 128 steps / 0.9 ms = 74.6 GB/s.
    assertTrue(
        t.contains(
            "| W1 LSTM N=1 T=128 I=256 H=256 | java | bf16 | 1 | 0.900 | 149.1 | 75% | 74.6 | 0.60×"
                + " | 1.5e-03 |"),
        t);
    assertTrue(t.contains("| java | f32 | 1 | 1.400 |"), t);
    assertTrue(t.contains("| ort | f32 | 1 | 1.500 |") && t.contains("| 1.00× | – |"), t);
    // int8: 1 byte per weight plus the 4·G·H bytes of row scales.
    assertTrue(t.contains("| java | int8 | 2 | 0.300 |"), t);
    List<String> lines = t.lines().toList();
    assertEquals(2 + rows().size(), lines.size(), t);
    // jrnn engines first, then the peers, within a workload and thread count.
    assertTrue(lines.get(2).contains("| java | f32 | 1 |"), t);
    assertTrue(lines.get(3).contains("| java | bf16 | 1 |"), t);
    assertTrue(lines.get(4).contains("| java | int8 | 1 |"), t);
    assertTrue(lines.get(5).contains("| onednn | f32 | 1 |"), t);
  }

  @Test
  void chartIsAPngWithAPanelPerWorkload() throws Exception {
    Path png = tmp.resolve("target").resolve("bench-chart.png");
    assertTrue(Suite.chart(rows(), png));
    BufferedImage img = ImageIO.read(png.toFile());
    assertEquals(2 * Suite.PANEL_WIDTH, img.getWidth()); // two workloads, side by side
    assertEquals(Suite.PANEL_HEIGHT, img.getHeight());
    assertFalse(Files.exists(png.resolveSibling("bench-chart.png.tmp")));
    List<Row> five = new ArrayList<>();
    for (String w : List.of("W1", "W2", "W3", "W4", "W5")) {
      five.add(new Row(w, "ort", Precision.F32, 1, 1));
      five.add(new Row(w, "java", Precision.F32, 1, 0.8));
      if (!w.equals("W3")) { // a panel without the reduced precisions still draws
        five.add(new Row(w, "java", Precision.INT8, 1, 0.4));
      }
    }
    assertTrue(Suite.chart(five, png));
    img = ImageIO.read(png.toFile());
    assertEquals(3 * Suite.PANEL_WIDTH, img.getWidth());
    assertEquals(2 * Suite.PANEL_HEIGHT, img.getHeight());
  }

  @Test
  void noPeerNoChart() throws Exception {
    Path png = tmp.resolve("none.png");
    assertFalse(Suite.chart(List.of(new Row("W1", "java", Precision.F32, 1, 1)), png));
    assertFalse(Files.exists(png));
  }
}
