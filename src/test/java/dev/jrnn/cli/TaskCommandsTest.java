package dev.jrnn.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** jrnn train classify|chars|series and jrnn generate from the command line, on small slices. */
class TaskCommandsTest {

  record Run(int status, String out, String err) {}

  static Run jrnn(String... argv) {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    int status =
        Main.run(
            argv,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(
        status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void trainCharsThenGenerate(@TempDir Path dir) throws Exception {
    Run r =
        jrnn(
            "train",
            "chars",
            "--limit",
            "400",
            "--epochs",
            "2",
            "--hidden",
            "16",
            "--samples",
            "1",
            "--progress",
            "plain",
            "--output-dir",
            dir.toString());
    assertEquals(0, r.status(), r.err());
    List<String> epochLines = r.out().lines().filter(l -> l.startsWith("epoch ")).toList();
    assertEquals(2, epochLines.size(), r.out());
    assertTrue(r.out().contains("baseline unigram/perplexity"), r.out());
    for (String f : List.of("model.jrnn", "curves.png", "metrics.csv")) {
      assertTrue(Files.isRegularFile(dir.resolve(f)), f);
    }
    List<String> csv = Files.readAllLines(dir.resolve("metrics.csv"));
    assertTrue(
        csv.getFirst().startsWith("epoch,loss,val_loss,val_perplexity,val_bits_per_char"),
        csv.getFirst());
    assertEquals(3, csv.size());
    String model = dir.resolve("model.jrnn").toString();
    Run g1 =
        jrnn("generate", model, "--prime", "Jo", "--count", "3", "--seed", "9", "--length", "12");
    Run g2 =
        jrnn("generate", model, "--prime", "Jo", "--count", "3", "--seed", "9", "--length", "12");
    assertEquals(0, g1.status(), g1.err());
    assertEquals(g1.out(), g2.out());
    assertEquals(3, g1.out().lines().count());
    assertTrue(g1.out().lines().allMatch(l -> l.startsWith("Jo")), g1.out());
  }

  @Test
  void trainSeriesOnAUserCsv(@TempDir Path dir) throws Exception {
    StringBuilder csv = new StringBuilder("day,value\n");
    for (int i = 0; i < 300; i++) {
      csv.append(i).append(',').append(10 + Math.sin(i / 5.0)).append('\n');
    }
    Path file = dir.resolve("s.csv");
    Files.writeString(file, csv);
    Path out = dir.resolve("out");
    Run r =
        jrnn(
            "train",
            "series",
            "--csv",
            file.toString(),
            "--column",
            "value",
            "--window",
            "20",
            "--epochs",
            "2",
            "--hidden",
            "8",
            "--progress",
            "quiet",
            "--output-dir",
            out.toString());
    assertEquals(0, r.status(), r.err());
    assertTrue(Files.isRegularFile(out.resolve("forecast.png")));
    assertTrue(r.out().contains("baseline last_value/mse"), r.out());
  }

  @Test
  void runReadsTextsAndSeriesThroughTheSavedPreprocessing(@TempDir Path dir) throws Exception {
    Path csv = dir.resolve("t.csv");
    StringBuilder rows = new StringBuilder("text,label\n");
    for (int i = 0; i < 60; i++) {
      rows.append(i % 2 == 0 ? "cheap pills buy now,spam\n" : "meeting notes attached,ham\n");
    }
    Files.writeString(csv, rows);
    Path cls = dir.resolve("cls");
    Run t =
        jrnn(
            "train",
            "classify",
            "--csv",
            csv.toString(),
            "--epochs",
            "8",
            "--hidden",
            "8",
            "--layers",
            "1",
            "--dropout",
            "0",
            "--lr",
            "0.02",
            "--batch",
            "8",
            "--progress",
            "quiet",
            "--output-dir",
            cls.toString());
    assertEquals(0, t.status(), t.err());
    Run p =
        jrnn(
            "run",
            cls.resolve("model.jrnn").toString(),
            "--text",
            "buy cheap pills now",
            "--text",
            "notes from the meeting");
    assertEquals(0, p.status(), p.err());
    List<String> lines = p.out().lines().toList();
    assertTrue(lines.get(0).startsWith("spam "), p.out());
    assertTrue(lines.get(1).startsWith("ham "), p.out());

    StringBuilder series = new StringBuilder("day,value\n");
    for (int i = 0; i < 200; i++) {
      series.append(i).append(',').append(i % 7).append('\n');
    }
    Path s = dir.resolve("s.csv");
    Files.writeString(s, series);
    Path ser = dir.resolve("ser");
    Run ts =
        jrnn(
            "train",
            "series",
            "--csv",
            s.toString(),
            "--column",
            "value",
            "--window",
            "14",
            "--epochs",
            "2",
            "--hidden",
            "8",
            "--progress",
            "quiet",
            "--output-dir",
            ser.toString());
    assertEquals(0, ts.status(), ts.err());
    Run f =
        jrnn(
            "run",
            ser.resolve("model.jrnn").toString(),
            "--series",
            s.toString(),
            "--column",
            "value");
    assertEquals(0, f.status(), f.err());
    assertTrue(f.out().startsWith("forecast after the last value of value: "), f.out());
    Run wrong = jrnn("run", ser.resolve("model.jrnn").toString(), "--text", "hello");
    assertEquals(1, wrong.status());
    assertTrue(wrong.err().contains("jrnn train series"), wrong.err());
  }

  @Test
  void badTaskInputsExitWithTheProblem(@TempDir Path dir) throws Exception {
    Run noColumn = jrnn("train", "series", "--csv", dir.resolve("x.csv").toString());
    assertEquals(2, noColumn.status());
    assertTrue(noColumn.err().contains("--column"), noColumn.err());
    Path csv = dir.resolve("t.csv");
    Files.writeString(csv, "text,label\na,x\nb,y\nc,z\n");
    Run threeClasses =
        jrnn("train", "classify", "--csv", csv.toString(), "--output-dir", dir.toString());
    assertEquals(1, threeClasses.status());
    assertTrue(
        threeClasses.err().contains("x") && threeClasses.err().contains("z"), threeClasses.err());
    Run tokens = jrnn("train", "classify", "--tokens", "bytes");
    assertEquals(2, tokens.status());
    assertTrue(tokens.err().contains("--tokens"), tokens.err());
    Run missing = jrnn("generate", dir.resolve("none.jrnn").toString());
    assertEquals(1, missing.status());
    assertTrue(missing.err().contains("none.jrnn"), missing.err());
    Run temp = jrnn("generate", "m.jrnn", "--temperature", "0");
    assertEquals(2, temp.status());
  }
}
