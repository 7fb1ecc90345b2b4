package dev.jrnn.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextTest {

  @TempDir Path dir;

  private Path write(String name, String text) throws IOException {
    return Files.writeString(dir.resolve(name), text);
  }

  @Test
  void csvQuotingCases() throws IOException {
    Path f =
        write(
            "t.csv",
            "id,text,label\n"
                + "1,plain,ham\n"
                + "2,\"with, comma\",spam\n"
                + "3,\"say \"\"hi\"\"\", ham \n"
                + "4,\"two\r\nlines\",spam\n"
                + "5,\"\",ham\n"
                + "6, \"spaced\" ,ham\n"
                + "7,un\"quoted,ham");
    List<Labeled> rows = TextCsv.read(f, "text", "label");
    assertEquals(
        List.of(
            new Labeled("plain", "ham"),
            new Labeled("with, comma", "spam"),
            new Labeled("say \"hi\"", "ham"),
            new Labeled("two\r\nlines", "spam"),
            new Labeled("", "ham"),
            new Labeled("spaced", "ham"),
            new Labeled("un\"quoted", "ham")),
        rows);
  }

  @Test
  void csvErrorsNameTheProblem() throws IOException {
    Path empty = write("empty.csv", "\n\n");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> TextCsv.read(empty, "text", "label"));
    assertTrue(e.getMessage().contains("empty.csv is empty"), e.getMessage());

    Path f = write("a.csv", "text,category\nhello,x\n");
    e = assertThrows(IllegalArgumentException.class, () -> TextCsv.read(f, "text", "label"));
    assertTrue(e.getMessage().contains("no column 'label'"), e.getMessage());
    assertTrue(e.getMessage().contains("columns: text, category"), e.getMessage());

    Path few = write("b.csv", "text,label\n\"multi\nline\",ham\nonly text\n");
    e = assertThrows(IllegalArgumentException.class, () -> TextCsv.read(few, "text", "label"));
    assertTrue(e.getMessage().contains("b.csv line 4 has 1 field"), e.getMessage());

    Path many = write("c.csv", "text,label\nhello, world,ham\n");
    e = assertThrows(IllegalArgumentException.class, () -> TextCsv.read(many, "text", "label"));
    assertTrue(e.getMessage().contains("line 2 has 3 fields"), e.getMessage());
    assertTrue(e.getMessage().contains("quote fields that hold commas"), e.getMessage());

    Path stray = write("d.csv", "text,label\n\"a\"b,ham\n");
    e = assertThrows(IllegalArgumentException.class, () -> TextCsv.read(stray, "text", "label"));
    assertTrue(
        e.getMessage().contains("line 2: unexpected 'b' after a closing quote"), e.getMessage());

    Path noLabel = write("e.csv", "text,label\nhi, \n");
    e = assertThrows(IllegalArgumentException.class, () -> TextCsv.read(noLabel, "text", "label"));
    assertTrue(e.getMessage().contains("line 2: column 'label' is empty"), e.getMessage());
  }

  @Test
  void textFileWholeAndLines() throws IOException {
    Path f = write("n.txt", "\uFEFFAnna\r\nBob\n\nCy\rDee\n");
    assertEquals("Anna\r\nBob\n\nCy\rDee\n", TextFile.read(f));
    assertEquals(List.of("Anna", "Bob", "", "Cy", "Dee"), TextFile.lines(f));
    assertEquals(List.of("a", "b"), TextFile.lines(write("m.txt", "a\nb")));
    Path bad = Files.write(dir.resolve("bad.txt"), new byte[] {'a', (byte) 0xff, 'b'});
    UncheckedIOException u = assertThrows(UncheckedIOException.class, () -> TextFile.read(bad));
    assertTrue(u.getMessage().contains("bad.txt: it is not UTF-8"), u.getMessage());
    u = assertThrows(UncheckedIOException.class, () -> TextFile.lines(dir.resolve("no.txt")));
    assertTrue(u.getMessage().contains("no.txt: no such file"), u.getMessage());
    assertEquals(
        "é",
        TextFile.read(Files.write(dir.resolve("u.txt"), "é".getBytes(StandardCharsets.UTF_8))));
  }

  @Test
  void labelsIdsAndBinaryPolarity() {
    Labels l = Labels.fit(List.of("pos", "neg", "neutral", "neg"));
    assertEquals(List.of("neg", "neutral", "pos"), l.classes());
    assertArrayEquals(new int[] {2, 0, 1}, l.encode(List.of("pos", "neg", "neutral")));
    assertEquals("neutral", l.label(1));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> l.id("other"));
    assertTrue(
        e.getMessage().contains("unknown label 'other'; classes: neg, neutral, pos"),
        e.getMessage());

    assertArrayEquals(new int[] {1, 0, 0}, Labels.binary(List.of("spam", "ham", "ham")));
    // "spam" is positive although "ham" < "spam" would say the same; "1" beats "0" likewise
    assertArrayEquals(new int[] {0, 1}, Labels.binary(List.of("zzz", "spam")));
    assertArrayEquals(new int[] {1, 0}, Labels.binary(List.of("Yes", "no")));
    assertArrayEquals(new int[] {0, 1}, Labels.binary(List.of("false", "true")));
    assertArrayEquals(new int[] {1, 0}, Labels.binary(List.of("abc", "Negative")));
    // no known names: the lexicographically larger is positive
    assertArrayEquals(new int[] {0, 1, 1}, Labels.binary(List.of("cat", "dog", "dog")));
    assertArrayEquals(new int[] {1, 1}, Labels.binary(List.of("spam", "spam")));
    assertArrayEquals(new int[] {0}, Labels.binary(List.of("ham")));
    assertEquals(List.of("ham", "spam"), Labels.fitBinary(List.of("spam", "ham")).classes());

    e = assertThrows(IllegalArgumentException.class, () -> Labels.binary(List.of("a", "b", "c")));
    assertTrue(e.getMessage().contains("two classes, got 3: a, b, c"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Labels.binary(List.of("cat")));
    assertTrue(e.getMessage().contains("only one class, 'cat'"), e.getMessage());
  }

  @Test
  void labelTensorsAndMetadata() {
    int[] ys = {0, 1, 1, 0};
    try (Tensor c = Labels.classTargets(ys, new int[] {2, 3});
        Tensor b = Labels.binaryTargets(ys, new int[] {2, 3, 1})) {
      assertArrayEquals(new int[] {2}, c.shape());
      assertArrayEquals(new int[] {1, 0}, c.toIntArray());
      assertArrayEquals(new int[] {3, 1}, b.shape());
      assertArrayEquals(new float[] {1, 0, 1}, b.toFloatArray());
    }
    Labels l = Labels.of(List.of("ham", "spam", "we\"ird"));
    assertEquals(l, Labels.fromJson(l.toJson()));
    try (Weights w = Weights.empty()) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> Labels.from(w));
      assertTrue(e.getMessage().contains("'jrnn.labels' is absent"), e.getMessage());
      l.storeIn(w);
      assertEquals(l, Labels.from(w));
    }
  }

  @Test
  void emailHeadersAndBody() {
    String m =
        "From a@b  Thu Aug 22 2002\r\nSubject: Win a\r\n\tFREE prize\r\nTo: x@y\r\n\r\n"
            + "Hello\r\n\r\nBye\r\n";
    assertEquals("Hello\r\n\r\nBye\r\n", Email.body(m));
    assertTrue(Email.headers(m).startsWith("From a@b"));
    assertTrue(Email.headers(m).endsWith("To: x@y\r\n"));
    assertEquals(Optional.of("Win a FREE prize"), Email.header(m, "subject"));
    assertEquals(Optional.empty(), Email.header(m, "Cc"));
    assertEquals("", Email.body("Subject: only headers\n"));
    assertEquals("body", Email.body("\nbody"));
  }

  @Test
  void jsonStrings() {
    String text = "q\" b\\ s/ \b\f\n\r\t é 😀 \u0001 \ud800 end";
    assertEquals(text, Json.parse(Json.quote(text), "t"));
    assertEquals("😀é", Json.parse("\"\\ud83d\\ude00\\u00e9\"", "t"));
    assertEquals(
        Map.of("a", List.of(1L, 2.5, true, "x"), "b", Map.of()),
        Json.parse(" {\"a\": [1, 2.5, true, \"x\"], \"b\": {}} ", "t"));
    assertEquals(-1.5e3, Json.parse("-1.5e3", "t"));
    for (String bad :
        List.of("\"abc", "\"a\\x\"", "[1,]", "{\"a\" 1}", "01", "\"\\u12\"", "{} x", "\"a\nb\"")) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> Json.parse(bad, "t"), bad);
      assertTrue(e.getMessage().startsWith("t: malformed JSON at line 1, column "), e.getMessage());
    }
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Json.parse("{\"a\":1,\"a\":2}", "t"));
    assertTrue(e.getMessage().contains("duplicate member \"a\""), e.getMessage());
  }
}
