package dev.jrnn.ir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Folding while a graph is built is bounded: a value a few bytes of model ask for (a
 * ConstantOfShape of {@code [65536, 65536]}, a huge MatMul) is an error naming the node and the
 * size before anything is allocated, and so is the sum of many folds; empty results cost nothing
 * however large their other dimensions. Run-time evaluation has no such budget.
 */
class FoldingLimitsTest {

  private static final Const ZERO = Const.floats(new float[] {0f}, 1);

  private static IrValue constant(IrGraph.Builder b, long... v) {
    return b.constant(null, Const.vector(v));
  }

  private static IrValue fill(IrGraph.Builder b, String name, long... shape) {
    return b.node(name, new DataOp.ConstantOfShape(ZERO), constant(b, shape))[0];
  }

  private static void rejects(Executable e, String... parts) {
    IllegalArgumentException x = assertThrows(IllegalArgumentException.class, e);
    for (String p : parts) {
      assertTrue(x.getMessage().contains(p), "'" + x.getMessage() + "' should say '" + p + "'");
    }
  }

  @Test
  void constantOfShapeNeedsAShapeVector() {
    IrGraph.Builder b = IrGraph.builder();
    IrValue scalar = b.constant("s", Const.longs(new long[] {3}));
    rejects(
        () -> b.node("c", new DataOp.ConstantOfShape(ZERO), scalar),
        "node 'c' (ConstantOfShape)",
        "shape must be a 1-D vector");
    IrValue runtime = b.input("r", DType.I32);
    rejects(() -> b.node("d", new DataOp.ConstantOfShape(ZERO), runtime), "1-D vector");
    IrValue unknownLength = b.input("u", DType.I32, Dim.dyn("K"));
    rejects(
        () -> b.node("e", new DataOp.ConstantOfShape(ZERO), unknownLength),
        "the length of shape must be known");
    IrValue known = b.input("k", DType.I32, Dim.of(2));
    assertEquals(
        "F32 [?, ?]", b.node("f", new DataOp.ConstantOfShape(ZERO), known)[0].type().toString());
  }

  @Test
  void aFoldedValueHasAtMostTheCap() {
    IrGraph.Builder b = IrGraph.builder();
    rejects(
        () -> fill(b, "big", 65536, 65536),
        "node 'big' (ConstantOfShape)",
        "shape [65536, 65536] (4294967296 elements)",
        "more than the 16777216 one fold may make");
    IrValue row = fill(b, "row", 1, 1 << 13);
    rejects(
        () -> b.node("wide", new DataOp.Expand(), row, constant(b, 1 << 12, 1 << 13)),
        "node 'wide' (Expand)",
        "33554432 elements");
    rejects(
        () ->
            b.node(
                "sum", new Op.Binary(dev.jrnn.kernels.Arith.ADD), row, fill(b, "col", 1 << 12, 1)),
        "node 'sum' (Add)",
        "33554432 elements");
    assertEquals(1 << 24, fill(b, "max", 1 << 12, 1 << 12).constant().size());
  }

  @Test
  void aGraphsFoldsHaveATotal() {
    IrGraph.Builder b = IrGraph.builder();
    for (int i = 0; i < 4; i++) {
      fill(b, "f" + i, 1 << 12, 1 << 12);
    }
    rejects(
        () -> fill(b, "one_more", 1),
        "node 'one_more' (ConstantOfShape)",
        "this graph's folds have made 67108864 of the 67108864 elements they may make in all");
    // another graph has its own budget
    assertEquals(1, fill(IrGraph.builder(), "x", 1).constant().size());
  }

  @Test
  void aFoldedMatMulCountsItsMultiplyAdds() {
    IrGraph.Builder b = IrGraph.builder();
    IrValue a = fill(b, "a", 2048, 2048);
    rejects(
        () -> b.node("mm", new DataOp.MatMul(), a, a),
        "node 'mm' (MatMul)",
        "a MatMul of [2048, 2048] by [2048, 2048] takes 8589934592 multiply-adds");
  }

  @Test
  void emptyResultsCostNothing() {
    assertTimeoutPreemptively(
        Duration.ofSeconds(20),
        () -> {
          IrGraph.Builder b = IrGraph.builder();
          int big = Integer.MAX_VALUE;
          IrValue empty = fill(b, "empty", big, big, 0);
          // a batch of 2^31 - 1 empty matrices: no per-batch index arrays
          IrValue lhs = fill(b, "lhs", big, 0, 5);
          IrValue rhs = fill(b, "rhs", 1, 5, 3);
          assertArrayEquals(
              new int[] {big, 0, 3},
              b.node("mm", new DataOp.MatMul(), lhs, rhs)[0].constant().shape());
          // no loop over the (2^31 - 1)^2 outer positions
          IrValue none = b.constant("none", Const.longs(new long[0], 0));
          assertArrayEquals(
              new int[] {big, big, 0},
              b.node("g", new DataOp.Gather(2), empty, none)[0].constant().shape());
          IrValue both = b.node("cat", new Op.Concat(2), empty, empty)[0];
          assertArrayEquals(new int[] {big, big, 0}, both.constant().shape());
        });
  }

  @Test
  void shapesHaveAtMostMaxRankDimensions() {
    IrGraph.Builder b = IrGraph.builder();
    long[] ones = new long[TensorType.MAX_RANK + 1];
    java.util.Arrays.fill(ones, 1);
    IrValue x = b.input("x", DType.F32, Dim.of(1));
    rejects(
        () -> b.node("r", new DataOp.Reshape(false), x, constant(b, ones)),
        "node 'r' (Reshape)",
        "65 entries",
        "at most 64 dimensions");
    rejects(() -> fill(b, "c", ones), "65 entries");
    rejects(() -> b.node("u", new DataOp.Unsqueeze(new int[65]), x), "more than the 64 dimensions");
  }

  @Test
  void dimensionProductsDoNotWrapAround() {
    IrGraph.Builder b = IrGraph.builder();
    // 2^22 · 2^21 · 2^21 = 2^64 was 0 in a long
    IrValue x = b.input("x", DType.F32, Dim.of(1 << 22), Dim.of(1 << 21), Dim.of(1 << 21));
    rejects(() -> b.node("f", new DataOp.Flatten(0), x), "node 'f' (Flatten)", "too large");
  }

  @Test
  void runTimeEvaluationHasNoBudget() {
    Const v = Folding.fill(ZERO, new int[] {(1 << 24) + 1});
    assertEquals((1 << 24) + 1, v.size());
  }
}
