package dev.jrnn.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.DType;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SeriesTest {

  @TempDir Path dir;

  private Path write(String name, String text) throws IOException {
    return Files.writeString(dir.resolve(name), text);
  }

  @Test
  void csvColumnWithQuotesAndCrlf() throws IOException {
    Path f =
        write(
            "s.csv",
            "\uFEFFdate, \"value\" ,note\r\n2000-01-01,1.5,plain\r\n\r\n"
                + "2000-01-02,\"-2e1\",\"a, b\"\"c\"\"\nd\"\r\n2000-01-03, 3 ,x");
    assertArrayEquals(new double[] {1.5, -20, 3}, SeriesCsv.column(f, "value"));
    assertEquals(List.of("date", "value", "note"), SeriesCsv.columns(f));
  }

  @Test
  void csvErrorsNameTheProblem() throws IOException {
    Path empty = write("empty.csv", "");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> SeriesCsv.column(empty, "v"));
    assertTrue(e.getMessage().contains("empty.csv is empty"), e.getMessage());

    Path f = write("a.csv", "year,births\n2000,10\n2001,x1\n");
    e = assertThrows(IllegalArgumentException.class, () -> SeriesCsv.column(f, "count"));
    assertTrue(e.getMessage().contains("no column 'count'"), e.getMessage());
    assertTrue(e.getMessage().contains("columns: year, births"), e.getMessage());

    e = assertThrows(IllegalArgumentException.class, () -> SeriesCsv.column(f, "births"));
    assertTrue(e.getMessage().contains("a.csv line 3"), e.getMessage());
    assertTrue(e.getMessage().contains("'x1', not a number"), e.getMessage());

    Path g = write("b.csv", "year,births\n2000,\n");
    e = assertThrows(IllegalArgumentException.class, () -> SeriesCsv.column(g, "births"));
    assertTrue(
        e.getMessage().contains("line 2: column 'births' holds an empty value"), e.getMessage());

    Path h = write("c.csv", "year,births\n2000,NaN\n");
    e = assertThrows(IllegalArgumentException.class, () -> SeriesCsv.column(h, "births"));
    assertTrue(e.getMessage().contains("'NaN', not a number"), e.getMessage());

    Path few = write("d.csv", "year,births\n2000,1\n2001\n");
    e = assertThrows(IllegalArgumentException.class, () -> SeriesCsv.column(few, "births"));
    assertTrue(
        e.getMessage().contains("d.csv line 3 has 1 field but the header has 2"), e.getMessage());

    Path open = write("e.csv", "a,b\n1,\"2\n3,4\n");
    e = assertThrows(IllegalArgumentException.class, () -> SeriesCsv.column(open, "a"));
    assertTrue(e.getMessage().contains("e.csv line 2: a quoted field"), e.getMessage());

    UncheckedIOException u =
        assertThrows(
            UncheckedIOException.class, () -> SeriesCsv.column(dir.resolve("none.csv"), "a"));
    assertTrue(u.getMessage().contains("none.csv: no such file"), u.getMessage());
  }

  @Test
  void windowsByHand() {
    double[] s = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    Windows w = Windows.of(s, 3, 2, 2); // input [i, i+3), target i+4; starts 0, 2, 4
    assertEquals(3, w.count());
    assertArrayEquals(new double[] {2, 3, 4}, w.input(1));
    assertEquals(8, w.target(2));
    assertEquals(9, w.targetIndex(2) + 1);
    try (Tensor x = w.inputs(new int[] {2, 0});
        Tensor xb = w.inputs(new int[] {2, 0}, true);
        Tensor y = w.targets(new int[] {2, 0})) {
      assertEquals(DType.F32, x.dtype());
      assertArrayEquals(new int[] {3, 2, 1}, x.shape());
      assertArrayEquals(new float[] {4, 0, 5, 1, 6, 2}, x.toFloatArray());
      assertArrayEquals(new int[] {2, 3, 1}, xb.shape());
      assertArrayEquals(new float[] {4, 5, 6, 0, 1, 2}, xb.toFloatArray());
      assertArrayEquals(new int[] {2, 1}, y.shape());
      assertArrayEquals(new float[] {8, 4}, y.toFloatArray());
    }
    Windows next = Windows.of(s, 4, 1, 1);
    assertEquals(6, next.count());
    assertEquals(9, next.target(5));
    assertArrayEquals(new int[] {4, 5}, next.range(4, 6));
    assertEquals(1, Windows.of(new double[] {1, 2}, 1, 1, 5).count());
  }

  @Test
  void windowsErrors() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Windows.of(new double[5], 4, 2, 1));
    assertTrue(e.getMessage().contains("series of 5 values is too short"), e.getMessage());
    assertTrue(e.getMessage().contains("inputLength 4 + horizon 2 = 6"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Windows.of(new double[5], 2, 0, 1));
    assertTrue(e.getMessage().contains("horizon must be at least 1"), e.getMessage());
    Windows w = Windows.of(new double[5], 2, 1, 1);
    IndexOutOfBoundsException o =
        assertThrows(IndexOutOfBoundsException.class, () -> w.inputs(new int[] {0, 3}));
    assertTrue(o.getMessage().contains("window 3 at position 1"), o.getMessage());
  }

  @Test
  void normalizerFitOnARangeAndRoundTrip() {
    double[] s = {2, 4, 4, 4, 5, 5, 7, 9, 1000};
    Normalizer n = Normalizer.fit(s, 0, 8); // the outlier is "test" data, not fitted
    assertEquals(5, n.mean(), 1e-12);
    assertEquals(2, n.std(), 1e-12);
    assertEquals(-1.5, n.apply(2), 1e-12);
    double[] z = n.apply(s);
    assertEquals(497.5, z[8], 1e-9);
    double[] back = n.invert(z);
    for (int i = 0; i < s.length; i++) {
      assertEquals(s[i], back[i], 1e-9);
    }
    assertArrayEquals(new double[] {5, 7}, n.invert(new float[] {0, 1}), 1e-12);
    assertEquals(n, Normalizer.fit(new double[] {2, 4, 4, 4, 5, 5, 7, 9}));
  }

  @Test
  void constantSeriesIsOnlyCentred() {
    Normalizer n = Normalizer.fit(new double[] {3, 3, 3});
    assertEquals(0, n.std());
    assertEquals(0, n.apply(3));
    assertEquals(2, n.apply(5));
    assertEquals(5, n.invert(2));
  }

  @Test
  void normalizerThroughWeightsAndJson() {
    Normalizer n = Normalizer.fit(new double[] {0.1, 0.2, 0.7, 1e-7});
    assertEquals(n, Normalizer.fromJson(n.toJson()));
    try (Weights w = Weights.empty()) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> Normalizer.from(w));
      assertTrue(e.getMessage().contains("'jrnn.normalizer' is absent"), e.getMessage());
      n.storeIn(w);
      assertEquals(n, Normalizer.from(w));
    }
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Normalizer.fromJson("{\"mean\":1}"));
    assertTrue(e.getMessage().contains("missing member \"std\""), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Normalizer.fromJson("{\"mean\":1,"));
    assertTrue(e.getMessage().contains("malformed JSON"), e.getMessage());
  }

  @Test
  void normalizerErrors() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Normalizer.fit(new double[3], 2, 2));
    assertTrue(e.getMessage().contains("[2, 2) of 3"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class, () -> Normalizer.fit(new double[] {1, Double.NaN}));
    assertTrue(e.getMessage().contains("value 1 is not finite"), e.getMessage());
  }
}
