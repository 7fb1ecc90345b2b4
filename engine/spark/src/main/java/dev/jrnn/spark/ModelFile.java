package dev.jrnn.spark;

import dev.jrnn.Graph;
import dev.jrnn.Model;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A model file read on the driver: its bytes (what is broadcast), their SHA-256 (the model's
 * identity in the executors' session cache) and its graph (for the output schema).
 *
 * @param path where it was read from
 * @param name the file name (its extension tells ONNX from jrnn models)
 * @param bytes the file's contents
 * @param sha256 hex digest of the bytes
 * @param graph the model's graph
 */
record ModelFile(String path, String name, byte[] bytes, String sha256, Graph graph) {

  /** Reads {@code path} (a local path or any URI Hadoop reads: hdfs://, s3a://, file:/). */
  static ModelFile read(String path, Configuration hadoop) {
    byte[] bytes;
    Path p = new Path(path);
    try {
      FileSystem fs = p.getFileSystem(hadoop);
      long size = fs.getFileStatus(p).getLen();
      if (size > Integer.MAX_VALUE - 16) {
        throw new IllegalArgumentException(
            "model " + path + " is " + size + " bytes; files up to 2 GiB can be broadcast");
      }
      try (InputStream in = fs.open(p)) {
        bytes = in.readAllBytes();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read model " + path + ": " + e.getMessage(), e);
    }
    Graph graph;
    try (Model m = ExecutorSessions.load(bytes, p.getName())) {
      graph = m.graph();
    }
    return new ModelFile(path, p.getName(), bytes, sha256(bytes), graph);
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
