package dev.jrnn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link State#readRow}, {@link State#writeRow} and {@link State#reset(int)}: one stream's state
 * taken out of a batch state and put into another, as a key-value store of streams does.
 */
class StateRowsTest {

  /** first: LSTM, 2 layers, H 6 projected to 3; second: LSTM H 3 (StreamingTest's stack). */
  private static final Graph LSTMS = StreamingTest.stack(Recurrent.Cell.LSTM);

  /** The row as the documented layout spells it, read through the hidden/cell views. */
  private static float[] rowThroughViews(State st, int row) {
    float[] out = new float[0];
    for (String node : new String[] {"first", "second"}) {
      for (Tensor t : new Tensor[] {st.hidden(node), st.cell(node)}) {
        for (int l = 0; l < t.dim(0); l++) {
          int at = out.length;
          out = Arrays.copyOf(out, at + t.dim(2));
          for (int i = 0; i < t.dim(2); i++) {
            out[at + i] = t.floatAt(l, row, i);
          }
        }
      }
    }
    return out;
  }

  @ParameterizedTest
  @ValueSource(strings = {"reference", "java"})
  void rowsMoveStreamsBetweenStates(String backend) {
    try (Weights w = Weights.random(LSTMS, 11);
        Session s = Session.open(LSTMS, w, Options.backend(backend).threads(1));
        Tensor x = SessionTest.randn(3, 4, 3, 4);
        State three = s.newState()) {
      // h: 2 layers × 3 + 1 × 3; c: 2 layers × 6 + 1 × 3
      assertEquals(2 * 3 + 2 * 6 + 3 + 3, three.rowSize());
      s.step(three, Map.of("x", x)).close();
      float[][] rows = new float[3][];
      for (int r = 0; r < 3; r++) {
        rows[r] = new float[three.rowSize() + 2];
        three.readRow(r, rows[r], 2);
        assertArrayEquals(
            rowThroughViews(three, r), Arrays.copyOfRange(rows[r], 2, rows[r].length), "row " + r);
      }
      // Rows 2 and 0 of the batch of three become rows 0 and 1 of a fresh batch of two; stepped
      // on, each continues like its stream in the batch of three.
      try (State two = s.newState();
          Tensor next3 = SessionTest.randn(4, 1, 3, 4);
          Tensor next2 = Tensor.allocate(DType.F32, 1, 2, 4)) {
        two.reset(2);
        assertEquals(2, two.batchSize());
        two.writeRow(0, rows[2], 2);
        two.writeRow(1, rows[0], 2);
        float[] v = next3.toFloatArray();
        float[] picked = new float[8];
        System.arraycopy(v, 8, picked, 0, 4);
        System.arraycopy(v, 0, picked, 4, 4);
        next2.copyFrom(picked);
        try (Result a = s.step(three, Map.of("x", next3));
            Result b = s.step(two, Map.of("x", next2))) {
          float[] o3 = a.get("out").toFloatArray(); // [1, 3, 2]
          float[] o2 = b.get("out").toFloatArray(); // [1, 2, 2]
          assertArrayEquals(Arrays.copyOfRange(o3, 4, 6), Arrays.copyOfRange(o2, 0, 2), 1e-6f);
          assertArrayEquals(Arrays.copyOfRange(o3, 0, 2), Arrays.copyOfRange(o2, 2, 4), 1e-6f);
        }
        float[] a = new float[two.rowSize()];
        float[] b = new float[two.rowSize()];
        three.readRow(2, a, 0);
        two.readRow(0, b, 0);
        assertArrayEquals(a, b, 1e-6f);
        three.readRow(0, a, 0);
        two.readRow(1, b, 0);
        assertArrayEquals(a, b, 1e-6f);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"reference", "java"})
  void writeRowLeavesTheOtherRowsAlone(String backend) {
    try (Weights w = Weights.random(LSTMS, 12);
        Session s = Session.open(LSTMS, w, Options.backend(backend).threads(1));
        Tensor x = SessionTest.randn(5, 2, 3, 4);
        State st = s.newState()) {
      s.step(st, Map.of("x", x)).close();
      float[][] before = {rowThroughViews(st, 0), rowThroughViews(st, 1), rowThroughViews(st, 2)};
      float[] ones = new float[st.rowSize()];
      Arrays.fill(ones, 1f);
      st.writeRow(1, ones, 0);
      assertArrayEquals(before[0], rowThroughViews(st, 0));
      assertArrayEquals(ones, rowThroughViews(st, 1));
      assertArrayEquals(before[2], rowThroughViews(st, 2));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"reference", "java"})
  void resetWithABatchSizeIsAZeroStateOfThatSize(String backend) {
    try (Weights w = Weights.random(LSTMS, 13);
        Session s = Session.open(LSTMS, w, Options.backend(backend).threads(1));
        Tensor x = SessionTest.randn(6, 3, 2, 4);
        State st = s.newState();
        Tensor five = SessionTest.randn(7, 1, 5, 4);
        State fresh = s.newState()) {
      st.reset(5);
      s.step(st, Map.of("x", five)).close(); // non-zero, batch 5
      st.reset(2); // another size: reallocated, zero
      assertEquals(2, st.batchSize());
      float[] row = new float[st.rowSize()];
      Arrays.fill(row, 9f);
      st.readRow(1, row, 0);
      assertArrayEquals(new float[st.rowSize()], row);
      try (Result a = s.step(st, Map.of("x", x));
          Result b = s.step(fresh, Map.of("x", x))) {
        assertArrayEquals(b.get("out").toFloatArray(), a.get("out").toFloatArray());
      }
    }
  }

  @Test
  void mistakesAreNamed() {
    try (Weights w = Weights.random(LSTMS, 14);
        Session s = Session.open(LSTMS, w, Options.backend("reference"));
        State st = s.newState()) {
      float[] row = new float[st.rowSize()];
      var empty = assertThrows(IllegalStateException.class, () -> st.readRow(0, row, 0));
      assertTrue(empty.getMessage().contains("reset(batchSize)"), empty.getMessage());
      assertThrows(IllegalArgumentException.class, () -> st.reset(0));
      st.reset(2);
      assertThrows(IndexOutOfBoundsException.class, () -> st.readRow(2, row, 0));
      assertThrows(IndexOutOfBoundsException.class, () -> st.writeRow(-1, row, 0));
      assertThrows(IndexOutOfBoundsException.class, () -> st.writeRow(0, row, 1));
      st.close();
      assertThrows(IllegalStateException.class, () -> st.readRow(0, row, 0));
    }
  }
}
