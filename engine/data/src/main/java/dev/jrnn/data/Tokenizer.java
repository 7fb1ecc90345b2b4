package dev.jrnn.data;

import dev.jrnn.Weights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Text to token ids and back, at the level of characters or words, with a vocabulary learnt by
 * {@link #fit}. Immutable and safe to share between threads.
 *
 * <p>Ids {@code 0..3} are reserved: {@link #PAD} (padding; skipped by {@link #decode}), {@link
 * #OOV} (a token outside the vocabulary), {@link #START} and {@link #END} (sequence marks added by
 * {@link #encode(String, boolean)}; skipped by {@link #decode}). Learnt tokens take ids from {@code
 * 4} on, the most frequent first; equally frequent tokens in their natural ({@link String}) order,
 * so the vocabulary depends on the texts only, not on their order or on hashing.
 *
 * <p>How text becomes tokens ({@link #tokenize}): first lower-cased (in {@link Locale#ROOT}) if
 * asked. A <em>separator</em> is whitespace or a control or format character; a <em>punctuation
 * mark</em> is any other code point that is not a letter, digit or combining mark ({@code
 * ,.!?;:'"()-$%&*+/<=>@#_…} and symbols). At {@link Level#CHARS}, each code point is a token (a
 * surrogate pair is one token; separators are kept); {@link Punctuation#STRIP} drops punctuation
 * marks. At {@link Level#WORDS}, a word is a run of letters, digits and combining marks, with an
 * apostrophe ({@code '} or {@code ’}) between two of them kept ({@code don't}); separators split
 * words and are dropped; with {@link Punctuation#KEEP} each punctuation mark is a token of its own
 * ({@code "Hi, you!"} → {@code hi , you !}), with {@link Punctuation#STRIP} it splits words like a
 * separator and is dropped.
 *
 * <pre>{@code
 * Tokenizer tok = Tokenizer.fit(texts, Tokenizer.Options.words().maxVocab(20_000));
 * int[] ids = tok.encode("Win a FREE prize!");
 * tok.storeIn(model.weights()); // travels in the saved model; Tokenizer.from(weights) reads it
 * }</pre>
 */
public final class Tokenizer {

  /** Id of padding; {@link #decode} skips it. */
  public static final int PAD = 0;

  /** Id of any token outside the vocabulary ("out of vocabulary"). */
  public static final int OOV = 1;

  /** Id of the start-of-sequence mark; {@link #decode} skips it. */
  public static final int START = 2;

  /** Id of the end-of-sequence mark; {@link #decode} skips it. */
  public static final int END = 3;

  /** Number of reserved ids; the first learnt token has this id. */
  public static final int RESERVED = 4;

  /** The {@link Weights#metadata() metadata} key under which {@link #storeIn} saves a tokenizer. */
  public static final String METADATA_KEY = "jrnn.tokenizer";

  private static final String[] RESERVED_NAMES = {"<pad>", "<unk>", "<s>", "</s>"};
  private static final String FORMAT = "jrnn.tokenizer";

  // how a code point splits text; ASCII looked up, the rest classified as met
  private static final byte WORD = 0;
  private static final byte SEPARATOR = 1;
  private static final byte PUNCT = 2;
  private static final byte[] ASCII_KIND = new byte[128];
  private static final String[] ASCII_TOKEN = new String[128];

  static {
    for (int c = 0; c < 128; c++) {
      ASCII_KIND[c] = classify(c);
      ASCII_TOKEN[c] = String.valueOf((char) c);
    }
  }

  /** What a token is. */
  public enum Level {
    /** One token per Unicode code point. */
    CHARS,
    /** One token per word (and, with {@link Punctuation#KEEP}, per punctuation mark). */
    WORDS
  }

  /** What happens to punctuation marks. */
  public enum Punctuation {
    /** Kept: at word level each mark is a token of its own. */
    KEEP,
    /** Dropped (at word level they separate words, like whitespace). */
    STRIP
  }

  /**
   * How a tokenizer splits text and how large its vocabulary may grow. Immutable; the one-argument
   * methods return a copy with one setting changed.
   *
   * @param level characters or words
   * @param maxVocab the most ids, the {@link #RESERVED} ones included ({@link Integer#MAX_VALUE}:
   *     no cap); the rarest tokens beyond it become {@link #OOV}
   * @param lowerCase whether text is lower-cased before it is split
   * @param punctuation whether punctuation marks are kept or dropped
   */
  public record Options(Level level, int maxVocab, boolean lowerCase, Punctuation punctuation) {

    /** Checks the settings: {@code maxVocab} must leave room for one token beyond the reserved. */
    public Options {
      Objects.requireNonNull(level, "level");
      Objects.requireNonNull(punctuation, "punctuation");
      if (maxVocab <= RESERVED) {
        throw new IllegalArgumentException(
            "maxVocab "
                + maxVocab
                + " leaves no room for tokens: it counts the "
                + RESERVED
                + " reserved ids (pad, unknown, start, end), so it must be at least "
                + (RESERVED + 1));
      }
    }

    /** Characters, case kept, punctuation kept, no vocabulary cap. */
    public static Options chars() {
      return new Options(Level.CHARS, Integer.MAX_VALUE, false, Punctuation.KEEP);
    }

    /** Words, lower-cased, punctuation marks as tokens, no vocabulary cap. */
    public static Options words() {
      return new Options(Level.WORDS, Integer.MAX_VALUE, true, Punctuation.KEEP);
    }

    /** A copy with the vocabulary capped at {@code max} ids, reserved ones included. */
    public Options maxVocab(int max) {
      return new Options(level, max, lowerCase, punctuation);
    }

    /** A copy with lower-casing on or off. */
    public Options lowerCase(boolean on) {
      return new Options(level, maxVocab, on, punctuation);
    }

    /** A copy with punctuation kept or stripped. */
    public Options punctuation(Punctuation p) {
      return new Options(level, maxVocab, lowerCase, p);
    }
  }

  private final Options options;
  private final String[] tokens; // id - RESERVED -> token
  private final Map<String, Integer> ids;

  private Tokenizer(Options options, String[] tokens) {
    this.options = options;
    this.tokens = tokens;
    this.ids = new HashMap<>(tokens.length * 2);
    for (int i = 0; i < tokens.length; i++) {
      if (ids.put(tokens[i], RESERVED + i) != null) {
        throw new IllegalArgumentException("token " + Json.quote(tokens[i]) + " appears twice");
      }
    }
  }

  /**
   * Learns a vocabulary from {@code texts}: every token they contain, by descending frequency, ties
   * in the tokens' natural order, cut at {@link Options#maxVocab()}.
   */
  public static Tokenizer fit(Iterable<String> texts, Options options) {
    Objects.requireNonNull(texts, "texts");
    Objects.requireNonNull(options, "options");
    Map<String, long[]> counts = new HashMap<>();
    int i = 0;
    for (String text : texts) {
      if (text == null) {
        throw new IllegalArgumentException("text " + i + " is null");
      }
      forEachToken(text, options, t -> counts.computeIfAbsent(t, k -> new long[1])[0]++);
      i++;
    }
    List<Map.Entry<String, long[]>> byCount = new ArrayList<>(counts.entrySet());
    byCount.sort(
        Comparator.comparingLong((Map.Entry<String, long[]> e) -> -e.getValue()[0])
            .thenComparing(Map.Entry::getKey));
    int n = (int) Math.min(byCount.size(), (long) options.maxVocab() - RESERVED);
    String[] vocab = new String[n];
    for (int k = 0; k < n; k++) {
      vocab[k] = byCount.get(k).getKey();
    }
    return new Tokenizer(options, vocab);
  }

  /** The settings this tokenizer splits text with. */
  public Options options() {
    return options;
  }

  /** Number of ids, the reserved ones included: the {@code vocab} of an embedding. */
  public int vocabSize() {
    return RESERVED + tokens.length;
  }

  /**
   * The id of {@code token} (a reserved name such as {@code <pad>} gives its id); {@link #OOV} if
   * unknown.
   */
  public int id(String token) {
    Integer id = ids.get(token);
    if (id != null) {
      return id;
    }
    for (int r = 0; r < RESERVED; r++) {
      if (RESERVED_NAMES[r].equals(token)) {
        return r;
      }
    }
    return OOV;
  }

  /**
   * The token of {@code id}; the reserved ids give {@code <pad>}, {@code <unk>}, {@code <s>},
   * {@code </s>}. An id outside {@code [0, vocabSize())} is an error.
   */
  public String token(int id) {
    if (id < 0 || id >= vocabSize()) {
      throw new IllegalArgumentException(
          "id " + id + " is outside the vocabulary [0, " + vocabSize() + ")");
    }
    return id < RESERVED ? RESERVED_NAMES[id] : tokens[id - RESERVED];
  }

  /** The tokens of {@code text}, as {@link #encode} sees them (before the vocabulary lookup). */
  public List<String> tokenize(String text) {
    Objects.requireNonNull(text, "text");
    List<String> out = new ArrayList<>();
    forEachToken(text, options, out::add);
    return out;
  }

  /** The ids of {@code text}'s tokens, {@link #OOV} for unknown ones, without start/end marks. */
  public int[] encode(String text) {
    return encode(text, false);
  }

  /** The ids of {@code text}'s tokens, wrapped in {@link #START} and {@link #END} if asked. */
  public int[] encode(String text, boolean startEnd) {
    Objects.requireNonNull(text, "text");
    IntList out = new IntList(text.length() + 2);
    if (startEnd) {
      out.add(START);
    }
    forEachToken(
        text,
        options,
        t -> {
          Integer id = ids.get(t);
          out.add(id == null ? OOV : id);
        });
    if (startEnd) {
      out.add(END);
    }
    return out.toArray();
  }

  /**
   * Text from ids: characters concatenated, words joined by single spaces; {@link #PAD}, {@link
   * #START} and {@link #END} skipped, {@link #OOV} written as {@code <unk>}. An id outside the
   * vocabulary is an error naming its position.
   */
  public String decode(int[] ids) {
    Objects.requireNonNull(ids, "ids");
    StringBuilder b = new StringBuilder();
    boolean words = options.level() == Level.WORDS;
    for (int i = 0; i < ids.length; i++) {
      int id = ids[i];
      if (id < 0 || id >= vocabSize()) {
        throw new IllegalArgumentException(
            "id "
                + id
                + " at position "
                + i
                + " is outside the vocabulary [0, "
                + vocabSize()
                + ")");
      }
      if (id == PAD || id == START || id == END) {
        continue;
      }
      if (words && !b.isEmpty()) {
        b.append(' ');
      }
      b.append(token(id));
    }
    return b.toString();
  }

  /**
   * This tokenizer as a small JSON object: format, settings and the learnt tokens in id order.
   * {@link #fromJson} reads it back.
   */
  public String toJson() {
    StringBuilder b = new StringBuilder(64 + tokens.length * 8);
    b.append("{\"format\":\"").append(FORMAT).append("\",\"version\":1");
    b.append(",\"level\":\"").append(options.level()).append('"');
    b.append(",\"maxVocab\":").append(options.maxVocab());
    b.append(",\"lowerCase\":").append(options.lowerCase());
    b.append(",\"punctuation\":\"").append(options.punctuation()).append('"');
    b.append(",\"tokens\":[");
    for (int i = 0; i < tokens.length; i++) {
      if (i > 0) {
        b.append(',');
      }
      Json.quote(tokens[i], b);
    }
    return b.append("]}").toString();
  }

  /**
   * Reads {@link #toJson}'s output; malformed or inconsistent JSON is an error saying what is
   * wrong.
   */
  public static Tokenizer fromJson(String json) {
    Objects.requireNonNull(json, "json");
    String what = "tokenizer JSON";
    Map<String, Object> o = Json.parseObject(json, what);
    String format = Json.string(o, "format", what);
    if (!format.equals(FORMAT)) {
      throw new IllegalArgumentException(
          what + ": \"format\" is " + Json.quote(format) + ", expected \"" + FORMAT + "\"");
    }
    int version = Json.integer(o, "version", what);
    if (version != 1) {
      throw new IllegalArgumentException(
          what + ": version " + version + " is not supported (this jrnn reads version 1)");
    }
    Level level = enumMember(o, "level", Level.class, what);
    Punctuation punct = enumMember(o, "punctuation", Punctuation.class, what);
    Options options;
    try {
      options =
          new Options(
              level, Json.integer(o, "maxVocab", what), Json.bool(o, "lowerCase", what), punct);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
    }
    List<?> list = Json.array(o, "tokens", what);
    if (list.size() > (long) options.maxVocab() - RESERVED) {
      throw new IllegalArgumentException(
          what
              + ": "
              + list.size()
              + " tokens exceed maxVocab "
              + options.maxVocab()
              + " minus "
              + RESERVED
              + " reserved ids");
    }
    String[] vocab = new String[list.size()];
    for (int i = 0; i < vocab.length; i++) {
      if (!(list.get(i) instanceof String t) || t.isEmpty()) {
        throw new IllegalArgumentException(
            what + ": token " + i + " must be a non-empty string, got " + Json.kind(list.get(i)));
      }
      vocab[i] = t;
    }
    try {
      return new Tokenizer(options, vocab);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
    }
  }

  /** Saves this tokenizer in {@code weights}' metadata under {@link #METADATA_KEY}. */
  public void storeIn(Weights weights) {
    weights.putMetadata(METADATA_KEY, toJson());
  }

  /**
   * The tokenizer saved in {@code weights}' metadata by {@link #storeIn}; an error naming {@link
   * #METADATA_KEY} and the keys present if there is none.
   */
  public static Tokenizer from(Weights weights) {
    return fromJson(Metadata.require(weights, METADATA_KEY, "tokenizer", "Tokenizer.storeIn"));
  }

  /** Equal when the settings and the vocabulary (in id order) are. */
  @Override
  public boolean equals(Object o) {
    return o instanceof Tokenizer t && options.equals(t.options) && Arrays.equals(tokens, t.tokens);
  }

  @Override
  public int hashCode() {
    return options.hashCode() * 31 + Arrays.hashCode(tokens);
  }

  /** "Tokenizer(WORDS, 1234 ids, lower-case, punctuation KEEP)". */
  @Override
  public String toString() {
    return "Tokenizer("
        + options.level()
        + ", "
        + vocabSize()
        + " ids"
        + (options.lowerCase() ? ", lower-case" : "")
        + ", punctuation "
        + options.punctuation()
        + (options.maxVocab() == Integer.MAX_VALUE ? "" : ", cap " + options.maxVocab())
        + ")";
  }

  private static <E extends Enum<E>> E enumMember(
      Map<String, Object> o, String key, Class<E> type, String what) {
    String v = Json.string(o, key, what);
    try {
      return Enum.valueOf(type, v);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          what
              + ": \""
              + key
              + "\" is "
              + Json.quote(v)
              + ", expected one of "
              + Arrays.toString(type.getEnumConstants()));
    }
  }

  private static int kind(int cp) {
    return cp < 128 ? ASCII_KIND[cp] : classify(cp);
  }

  /** {@code text[i, next)}, without a new string for an ASCII character. */
  private static String piece(String s, int i, int next, int cp) {
    return cp < 128 ? ASCII_TOKEN[cp] : s.substring(i, next);
  }

  /** Calls {@code sink} with each token of {@code text}, split as {@code options} say. */
  private static void forEachToken(String text, Options options, Consumer<String> sink) {
    String s = options.lowerCase() ? text.toLowerCase(Locale.ROOT) : text;
    boolean strip = options.punctuation() == Punctuation.STRIP;
    int n = s.length();
    if (options.level() == Level.CHARS) {
      for (int i = 0; i < n; ) {
        int cp = s.codePointAt(i);
        int next = i + Character.charCount(cp);
        if (!strip || kind(cp) != PUNCT) {
          sink.accept(piece(s, i, next, cp));
        }
        i = next;
      }
      return;
    }
    int wordStart = -1;
    for (int i = 0; i < n; ) {
      char ch = s.charAt(i);
      int cp = Character.isSurrogate(ch) ? s.codePointAt(i) : ch;
      int next = i + Character.charCount(cp);
      int k = kind(cp);
      if (k == WORD
          || (wordStart >= 0
              && isApostrophe(cp)
              && next < n
              && kind(s.codePointAt(next)) == WORD)) {
        if (wordStart < 0) {
          wordStart = i;
        }
      } else {
        if (wordStart >= 0) {
          sink.accept(s.substring(wordStart, i));
          wordStart = -1;
        }
        if (!strip && k == PUNCT) {
          sink.accept(piece(s, i, next, cp));
        }
      }
      i = next;
    }
    if (wordStart >= 0) {
      sink.accept(s.substring(wordStart));
    }
  }

  /**
   * {@link #WORD} for letters, digits and combining marks; {@link #SEPARATOR} for whitespace,
   * control and format characters; {@link #PUNCT} for everything else.
   */
  private static byte classify(int cp) {
    if (Character.isLetterOrDigit(cp)) {
      return WORD;
    }
    int type = Character.getType(cp);
    if (type == Character.NON_SPACING_MARK
        || type == Character.COMBINING_SPACING_MARK
        || type == Character.ENCLOSING_MARK) {
      return WORD;
    }
    if (Character.isWhitespace(cp)
        || Character.isSpaceChar(cp)
        || Character.isISOControl(cp)
        || type == Character.FORMAT) {
      return SEPARATOR;
    }
    return PUNCT;
  }

  private static boolean isApostrophe(int cp) {
    return cp == '\'' || cp == '\u2019';
  }
}
