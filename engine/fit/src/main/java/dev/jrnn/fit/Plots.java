package dev.jrnn.fit;

import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * PNG charts with XChart, drawn headless ({@code java.awt.headless=true} unless set otherwise):
 * learning curves of a {@link History}, and a series' predictions against the actual values.
 */
public final class Plots {

  /** Width of one chart in pixels. */
  public static final int WIDTH = 640;

  /** Height of one chart in pixels. */
  public static final int HEIGHT = 400;

  static {
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
  }

  private Plots() {}

  /**
   * Two charts side by side in one {@code 2·WIDTH × HEIGHT} PNG: training and validation loss per
   * epoch, and the validation metrics per epoch ({@link #metricColumns}) with the best epoch (by
   * the monitored column) marked. NaN values (no validation) are left out.
   *
   * @throws IllegalArgumentException if the history has no epoch
   */
  public static void learningCurves(History history, Path png) {
    Objects.requireNonNull(history, "history");
    if (history.epochs().isEmpty()) {
      throw new IllegalArgumentException("no epochs to plot");
    }
    double[] epochs = history.column("epoch");
    XYChart loss = chart("Loss", "epoch", "loss");
    line(loss, "loss", epochs, history.column("loss"));
    line(loss, "val_loss", epochs, history.column("val_loss"));

    List<String> drawn = metricColumns(history);
    String first = drawn.getFirst();
    XYChart monitored =
        chart(
            (drawn.size() == 1 ? first : "validation metrics")
                + " (best by "
                + history.monitor()
                + ")",
            "epoch",
            drawn.size() == 1 ? first : "value");
    for (String c : drawn) {
      line(monitored, c, epochs, history.column(c));
    }
    if (history.bestEpoch() > 0) {
      XYSeries best =
          monitored.addSeries(
              "best (epoch " + history.bestEpoch() + ")",
              new double[] {history.bestEpoch()},
              new double[] {
                history.epochs().stream()
                    .filter(e -> e.epoch() == history.bestEpoch())
                    .findFirst()
                    .orElseThrow()
                    .get(first)
              });
      best.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
      best.setMarker(SeriesMarkers.DIAMOND);
      best.setMarkerColor(Color.RED);
    }
    save(List.of(loss, monitored), 1, 2, png);
  }

  /**
   * The columns of the second chart: the first validation metric, and with it every other metric
   * that also stays within [0, 1] when the first does (accuracy, precision, recall, F1 share an
   * axis); the monitored column when there are no metrics.
   */
  static List<String> metricColumns(History history) {
    List<String> metrics =
        history.columns().stream()
            .filter(c -> c.startsWith("val_") && !c.equals("val_loss"))
            .toList();
    if (metrics.isEmpty()) {
      return List.of(history.monitor());
    }
    if (!unitInterval(history.column(metrics.getFirst()))) {
      return List.of(metrics.getFirst());
    }
    return metrics.stream().filter(c -> unitInterval(history.column(c))).toList();
  }

  private static boolean unitInterval(double[] values) {
    for (double v : values) {
      if (!(v >= 0 && v <= 1)) {
        return false;
      }
    }
    return true;
  }

  /**
   * A {@code WIDTH × HEIGHT} line chart of {@code actual} and {@code predicted} against their index
   * (e.g. a forecast over a test series, in the data's units).
   *
   * @throws IllegalArgumentException if the arrays are empty or differ in length
   */
  public static void predictedVsActual(
      double[] actual, double[] predicted, String title, Path png) {
    if (actual.length != predicted.length || actual.length == 0) {
      throw new IllegalArgumentException(
          "actual and predicted must be non-empty and of one length, got "
              + actual.length
              + " and "
              + predicted.length);
    }
    double[] x = new double[actual.length];
    for (int i = 0; i < x.length; i++) {
      x[i] = i;
    }
    XYChart c = chart(title, "step", "value");
    c.getStyler().setMarkerSize(0);
    line(c, "actual", x, actual);
    line(c, "predicted", x, predicted);
    save(List.of(c), 1, 1, png);
  }

  private static XYChart chart(String title, String x, String y) {
    XYChart c =
        new XYChartBuilder()
            .width(WIDTH)
            .height(HEIGHT)
            .title(title)
            .xAxisTitle(x)
            .yAxisTitle(y)
            .build();
    c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS); // never over the lines
    c.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
    c.getStyler().setMarkerSize(5);
    return c;
  }

  /** Adds the finite points of {@code y} as a line; nothing when there are none. */
  private static void line(XYChart c, String name, double[] x, double[] y) {
    List<Double> xs = new ArrayList<>();
    List<Double> ys = new ArrayList<>();
    for (int i = 0; i < y.length; i++) {
      if (Double.isFinite(y[i])) {
        xs.add(x[i]);
        ys.add(y[i]);
      }
    }
    if (!ys.isEmpty()) {
      c.addSeries(name, xs, ys).setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
    }
  }

  /** Writes the charts as a grid into a sibling {@code .tmp} file, then moves it into place. */
  private static void save(List<XYChart> charts, int rows, int cols, Path png) {
    try {
      Path abs = png.toAbsolutePath();
      Files.createDirectories(abs.getParent());
      Path tmp = abs.resolveSibling(abs.getFileName() + ".tmp");
      try {
        try (OutputStream out = Files.newOutputStream(tmp)) {
          BitmapEncoder.saveBitmap(charts, rows, cols, out, BitmapEncoder.BitmapFormat.PNG);
        }
        Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
      } finally {
        Files.deleteIfExists(tmp);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the chart " + png, e);
    }
  }
}
