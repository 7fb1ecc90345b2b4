package dev.jrnn.spark;

import dev.jrnn.Options;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.TaskCompletionListener;

/**
 * Scores one partition: holds the executor's cached session for the task, reads rows in batches,
 * runs each batch and appends each row's outputs. Lazy: rows are read as the output is consumed.
 */
final class PartitionScorer implements MapPartitionsFunction<Row, Row> {

  private static final long serialVersionUID = 1L;

  private final String modelKey;
  private final String fileName;
  private final Broadcast<byte[]> bytes;
  private final String backend;
  private final int threads;
  private final SequenceFeed feed;
  private final List<OutputSlot> slots;
  private final int inputCol;
  private final int lengthsCol; // -1: the arrays' lengths
  private final int idCol; // -1: none
  private final String idName;
  private final int batchSize;

  PartitionScorer(
      String modelKey,
      String fileName,
      Broadcast<byte[]> bytes,
      String backend,
      int threads,
      SequenceFeed feed,
      List<OutputSlot> slots,
      int inputCol,
      int lengthsCol,
      int idCol,
      String idName,
      int batchSize) {
    this.modelKey = modelKey;
    this.fileName = fileName;
    this.bytes = bytes;
    this.backend = backend;
    this.threads = threads;
    this.feed = feed;
    this.slots = slots;
    this.inputCol = inputCol;
    this.lengthsCol = lengthsCol;
    this.idCol = idCol;
    this.idName = idName;
    this.batchSize = batchSize;
  }

  @Override
  public Iterator<Row> call(Iterator<Row> rows) {
    if (!rows.hasNext()) {
      return rows; // an empty partition needs no session
    }
    TaskContext task = TaskContext.get();
    int partition = task == null ? 0 : task.partitionId();
    ExecutorSessions.Lease lease =
        ExecutorSessions.acquire(
            modelKey, bytes::value, fileName, Options.backend(backend).threads(threads));
    if (task != null) {
      task.addTaskCompletionListener((TaskCompletionListener) c -> lease.close());
    }
    return new Scored(rows, lease, new RowPosition(partition, idCol, idName));
  }

  /** The partition's rows with their outputs, a batch at a time. */
  private final class Scored implements Iterator<Row> {
    private final Iterator<Row> rows;
    private final ExecutorSessions.Lease lease;
    private final RowPosition where;
    private final ArrayDeque<Row> ready = new ArrayDeque<>();

    Scored(Iterator<Row> rows, ExecutorSessions.Lease lease, RowPosition where) {
      this.rows = rows;
      this.lease = lease;
      this.where = where;
    }

    @Override
    public boolean hasNext() {
      if (ready.isEmpty() && rows.hasNext()) {
        scoreNextBatch();
      }
      if (ready.isEmpty()) {
        lease.close(); // done early; the completion listener's close is then a no-op
        return false;
      }
      return true;
    }

    @Override
    public Row next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      return ready.poll();
    }

    private void scoreNextBatch() {
      List<Row> batch = new ArrayList<>(batchSize);
      List<Example> examples = new ArrayList<>(batchSize);
      long first = where.index() + 1;
      while (batch.size() < batchSize && rows.hasNext()) {
        Row r = rows.next();
        where.next();
        examples.add(feed.read(r, inputCol, lengthsCol, where));
        batch.add(r);
      }
      Object[][] outputs = new Object[batch.size()][];
      if (feed.lengthsInput != null || feed.fixedSteps >= 0) {
        run(batch, examples, allRows(batch.size()), first, outputs);
      } else { // no lengths input: padding would change results, so equal lengths run together
        Map<Integer, List<Integer>> byLength = new LinkedHashMap<>();
        for (int i = 0; i < examples.size(); i++) {
          byLength.computeIfAbsent(examples.get(i).length(), k -> new ArrayList<>()).add(i);
        }
        for (List<Integer> group : byLength.values()) {
          run(batch, examples, group, first, outputs);
        }
      }
      for (int i = 0; i < batch.size(); i++) {
        Row r = batch.get(i);
        Object[] values = new Object[r.length() + slots.size()];
        for (int c = 0; c < r.length(); c++) {
          values[c] = r.get(c);
        }
        System.arraycopy(outputs[i], 0, values, r.length(), slots.size());
        ready.add(RowFactory.create(values));
      }
    }

    private static List<Integer> allRows(int n) {
      List<Integer> all = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        all.add(i);
      }
      return all;
    }

    /** Runs rows {@code which} of the batch as one session call, filling their outputs. */
    private void run(
        List<Row> batch,
        List<Example> examples,
        List<Integer> which,
        long first,
        Object[][] outputs) {
      List<Example> part = new ArrayList<>(which.size());
      for (int i : which) {
        part.add(examples.get(i));
      }
      Session session = lease.session();
      Map<String, Tensor> inputs = feed.tensors(part);
      try (Result r = session.run(inputs)) {
        List<OutputSlot.Batch> outs = new ArrayList<>(slots.size());
        for (OutputSlot s : slots) {
          outs.add(s.new Batch(r.get(s.output)));
        }
        for (int k = 0; k < which.size(); k++) {
          Object[] o = new Object[slots.size()];
          for (int j = 0; j < o.length; j++) {
            o[j] = outs.get(j).row(k, part.get(k).length());
          }
          outputs[which.get(k)] = o;
        }
      } catch (IllegalArgumentException e) {
        throw blame(session, batch, examples, which, first, e);
      } finally {
        inputs.values().forEach(Tensor::close);
      }
    }

    /**
     * The session refused a batch (an id outside the vocabulary, ...): runs its rows one at a time
     * to find the first it refuses, and names that row's position with the session's message.
     */
    private IllegalArgumentException blame(
        Session session,
        List<Row> batch,
        List<Example> examples,
        List<Integer> which,
        long first,
        IllegalArgumentException batchError) {
      for (int i : which) {
        Map<String, Tensor> one = feed.tensors(List.of(examples.get(i)));
        try (Result ignored = session.run(one)) {
          // this row runs
        } catch (IllegalArgumentException e) {
          return new IllegalArgumentException(
              where.describe(batch.get(i), first + i) + ": " + e.getMessage(), e);
        } finally {
          one.values().forEach(Tensor::close);
        }
      }
      return new IllegalArgumentException(
          "rows "
              + first
              + " to "
              + (first + batch.size() - 1)
              + " of partition "
              + where.partition()
              + " failed together: "
              + batchError.getMessage(),
          batchError);
    }
  }
}
