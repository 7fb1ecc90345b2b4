package dev.jrnn.fit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlotsTest {

  static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

  static void assertPng(Path file, int width, int height) {
    try {
      byte[] bytes = Files.readAllBytes(file);
      assertArrayEquals(PNG_SIGNATURE, Arrays.copyOf(bytes, 8), "PNG signature of " + file);
      BufferedImage img = ImageIO.read(file.toFile());
      assertEquals(width, img.getWidth(), "width of " + file);
      assertEquals(height, img.getHeight(), "height of " + file);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void learningCurvesWithoutValidation(@TempDir Path dir) {
    History h = new History(List.of(), "loss");
    h.add(new History.Epoch(1, 0.9, Double.NaN, Map.of(), 0.01, 1, 100));
    h.add(new History.Epoch(2, 0.5, Double.NaN, Map.of(), 0.01, 1, 100));
    h.best(2, 0.5);
    Path png = dir.resolve("sub/curves.png");
    Plots.learningCurves(h, png);
    assertPng(png, 2 * Plots.WIDTH, Plots.HEIGHT);
    // a monitored column with no finite value leaves its chart empty
    History none = new History(List.of(), "val_loss");
    none.add(new History.Epoch(1, 0.9, Double.NaN, Map.of(), 0.01, 1, 100));
    Plots.learningCurves(none, png);
    assertPng(png, 2 * Plots.WIDTH, Plots.HEIGHT);
    assertThrows(
        IllegalArgumentException.class,
        () -> Plots.learningCurves(new History(List.of(), "loss"), png));
  }

  @Test
  void theSecondChartDrawsMetricsThatShareAnAxis(@TempDir Path dir) {
    History c = new History(List.of("val_accuracy", "val_f1", "val_mse"), "val_loss");
    c.add(
        new History.Epoch(
            1, 0.9, 0.8, Map.of("val_accuracy", 0.7, "val_f1", 0.5, "val_mse", 3.0), 0.01, 1, 9));
    c.add(
        new History.Epoch(
            2, 0.5, 0.4, Map.of("val_accuracy", 0.9, "val_f1", 0.8, "val_mse", 2.0), 0.01, 1, 9));
    assertEquals(List.of("val_accuracy", "val_f1"), Plots.metricColumns(c));
    History r = new History(List.of("val_mse", "val_mae"), "val_loss");
    r.add(new History.Epoch(1, 0.9, 0.8, Map.of("val_mse", 3.0e5, "val_mae", 400.0), 0.01, 1, 9));
    assertEquals(List.of("val_mse"), Plots.metricColumns(r));
    Path png = dir.resolve("c.png");
    Plots.learningCurves(c, png);
    assertPng(png, 2 * Plots.WIDTH, Plots.HEIGHT);
    assertEquals(List.of("val_loss"), Plots.metricColumns(new History(List.of(), "val_loss")));
  }

  @Test
  void predictedVsActual(@TempDir Path dir) {
    double[] actual = new double[50];
    double[] predicted = new double[50];
    for (int i = 0; i < 50; i++) {
      actual[i] = Math.sin(i / 5.0);
      predicted[i] = actual[i] + 0.1 * Math.cos(i);
    }
    Path png = dir.resolve("forecast.png");
    Plots.predictedVsActual(actual, predicted, "forecast", png);
    assertPng(png, Plots.WIDTH, Plots.HEIGHT);
    assertThrows(
        IllegalArgumentException.class,
        () -> Plots.predictedVsActual(actual, new double[3], "x", png));
  }
}
