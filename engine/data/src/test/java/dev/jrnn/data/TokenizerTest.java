package dev.jrnn.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Model;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.data.Tokenizer.Options;
import dev.jrnn.data.Tokenizer.Punctuation;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerTest {

  @Test
  void wordsByFrequencyThenNaturalOrder() {
    // counts: the 3, cat 2, a 2, sat 1, mat 1, "." 2, "," 1
    Tokenizer t = Tokenizer.fit(List.of("The cat sat, a cat.", "the mat. A THE"), Options.words());
    assertEquals(
        List.of("the", ".", "a", "cat", ",", "mat", "sat"),
        List.of(
            t.token(4), t.token(5), t.token(6), t.token(7), t.token(8), t.token(9), t.token(10)));
    assertEquals(11, t.vocabSize());
    assertArrayEquals(new int[] {4, 7, 10, 8, 6, 7, 5}, t.encode("The cat sat, a cat."));
    assertArrayEquals(
        new int[] {Tokenizer.START, 4, 1, 5, Tokenizer.END}, t.encode("the dog.", true));
  }

  @Test
  void tiesDoNotDependOnTextOrder() {
    List<String> a = List.of("b a c", "c a b", "d");
    List<String> b = List.of("d", "c a b", "b a c");
    Tokenizer ta = Tokenizer.fit(a, Options.words());
    Tokenizer tb = Tokenizer.fit(b, Options.words());
    assertEquals(ta, tb);
    assertEquals(
        List.of("a", "b", "c", "d"), List.of(ta.token(4), ta.token(5), ta.token(6), ta.token(7)));
  }

  @Test
  void capKeepsTheMostFrequentAndMapsTheRestToOov() {
    Tokenizer t = Tokenizer.fit(List.of("x x x y y z"), Options.words().maxVocab(6));
    assertEquals(6, t.vocabSize());
    assertArrayEquals(new int[] {4, 5, Tokenizer.OOV, Tokenizer.OOV}, t.encode("x y z w"));
    assertEquals("x y <unk> <unk>", t.decode(t.encode("x y z w")));
    assertEquals(Tokenizer.OOV, t.id("z"));
    assertEquals(Tokenizer.PAD, t.id("<pad>"));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Options.words().maxVocab(4));
    assertTrue(e.getMessage().contains("maxVocab 4"), e.getMessage());
  }

  @Test
  void punctuationKeepStripAndApostrophes() {
    Options keep = Options.words();
    Tokenizer k = Tokenizer.fit(List.of(), keep);
    assertEquals(
        List.of("don't", "stop", ",", "o'neil", "—", "it's", "$", "5", "!", "'", "n"),
        k.tokenize("Don't stop, O'Neil — it's $5! 'n"));
    Tokenizer s = Tokenizer.fit(List.of(), keep.punctuation(Punctuation.STRIP).lowerCase(false));
    assertEquals(List.of("Hi", "you", "x", "y"), s.tokenize("Hi, you!!x-y\u001b"));
    Tokenizer c = Tokenizer.fit(List.of(), Options.chars().punctuation(Punctuation.STRIP));
    assertEquals(List.of("a", " ", "b"), c.tokenize("a, b!"));
  }

  @Test
  void charsRoundTripWithSurrogatesAndCase() {
    String text = "Zoë 😀 x\ty";
    Tokenizer t = Tokenizer.fit(List.of(text), Options.chars());
    assertEquals(9, t.encode(text).length); // the emoji is one code point, one token
    assertEquals(text, t.decode(t.encode(text, true)));
    int[] withPad = {Tokenizer.START, t.id("Z"), t.id("o"), Tokenizer.END, 0, 0};
    assertEquals("Zo", t.decode(withPad));
    Tokenizer lower = Tokenizer.fit(List.of("AbA"), Options.chars().lowerCase(true));
    assertEquals(List.of("a", "b"), List.of(lower.token(4), lower.token(5)));
  }

  @Test
  void decodeRefusesIdsOutsideTheVocabulary() {
    Tokenizer t = Tokenizer.fit(List.of("a b"), Options.words());
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> t.decode(new int[] {4, 6}));
    assertTrue(e.getMessage().contains("id 6 at position 1"), e.getMessage());
    assertTrue(e.getMessage().contains("[0, 6)"), e.getMessage());
  }

  @Test
  void jsonRoundTrip() {
    Tokenizer t =
        Tokenizer.fit(
            List.of("\"quoted\" \\ back\\slash, tab\there ünï 😀 \u0001ctl"),
            Options.chars().maxVocab(1000).lowerCase(true));
    String json = t.toJson();
    assertTrue(json.startsWith("{\"format\":\"jrnn.tokenizer\""), json);
    Tokenizer back = Tokenizer.fromJson(json);
    assertEquals(t, back);
    assertEquals(t.options(), back.options());
    String s = "tab\there \"😀\"";
    assertArrayEquals(t.encode(s), back.encode(s));
    Tokenizer w = Tokenizer.fit(List.of("hello, world"), Options.words());
    assertEquals(w, Tokenizer.fromJson(w.toJson()));
  }

  @Test
  void malformedJsonIsAClearError() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Tokenizer.fromJson("{\"format\": "));
    assertTrue(e.getMessage().contains("tokenizer JSON: malformed JSON at line 1"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Tokenizer.fromJson("{\"format\":\"jrnn.tokenizer\",\"version\":1}"));
    assertTrue(e.getMessage().contains("missing member \"level\""), e.getMessage());
    String good = Tokenizer.fit(List.of("a b"), Options.words()).toJson();
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Tokenizer.fromJson(good.replace("\"WORDS\"", "\"LINES\"")));
    assertTrue(e.getMessage().contains("\"level\" is \"LINES\", expected one of"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Tokenizer.fromJson(good.replace("[\"a\",\"b\"]", "[\"a\",\"a\"]")));
    assertTrue(e.getMessage().contains("token \"a\" appears twice"), e.getMessage());
  }

  @Test
  void travelsInWeightsMetadataAndASavedFile(@TempDir Path dir) {
    Tokenizer t = Tokenizer.fit(List.of("spam spam eggs ünï 😀"), Options.words());
    try (Weights w = Weights.empty()) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> Tokenizer.from(w));
      assertTrue(e.getMessage().contains("'jrnn.tokenizer' is absent"), e.getMessage());
      w.put("x", Tensor.allocate(DType.F32, 1));
      t.storeIn(w);
      assertEquals(t, Tokenizer.from(w));
      Path f = dir.resolve("m.safetensors");
      w.save(f);
      try (Weights back = Weights.load(f)) {
        assertEquals(t, Tokenizer.from(back));
      }
    }
  }

  @Test
  void travelsInASavedModel(@TempDir Path dir) {
    Tokenizer t = Tokenizer.fit(List.of("ham and spam"), Options.words());
    Graph g =
        Graph.build(
            b -> {
              var ids = b.input("tokens", DType.I32, Dim.dyn("T"), Dim.dyn("N"));
              b.output("x", b.embedding(ids, t.vocabSize(), 2));
            });
    Path f = dir.resolve("m.jrnn");
    try (Model m = new Model(g, Weights.random(g, 1), "jrnn model")) {
      t.storeIn(m.weights());
      m.save(f);
    }
    try (Model back = Model.load(f)) {
      assertEquals(t, Tokenizer.from(back.weights()));
    }
  }
}
