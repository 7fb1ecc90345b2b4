package dev.jrnn.fit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Writes the history as CSV: the header and any resumed rows at the start, a row per epoch. */
final class CsvLog implements Callback {

  private final Path file;

  CsvLog(Path file) {
    this.file = file;
  }

  @Override
  public void onFitBegin(History history, int epochs) {
    write(history.toCsv(), StandardOpenOption.TRUNCATE_EXISTING);
  }

  @Override
  public void onEpochEnd(History.Epoch row, History history) {
    write(history.row(row) + "\n", StandardOpenOption.APPEND);
  }

  private void write(String text, StandardOpenOption mode) {
    try {
      Path parent = file.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      Files.writeString(
          file,
          text,
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.WRITE,
          mode);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the metrics CSV " + file, e);
    }
  }
}
