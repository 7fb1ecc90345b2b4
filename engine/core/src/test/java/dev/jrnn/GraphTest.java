package dev.jrnn;

import static dev.jrnn.Dim.dyn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.ir.IrGraph;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

public class GraphTest {

  public static Graph classifier() {
    return Graph.build(
        b -> {
          Value tokens = b.input("tokens", DType.I32, dyn("T"), dyn("N"));
          Value x = b.embedding(tokens, 50, 8);
          Value seq = b.recurrent(x, Recurrent.lstm(6).layers(2).bidirectional());
          b.output("prob", b.sigmoid(b.linear(b.lastStep(seq), 1)));
        });
  }

  @Test
  void infersSymbolicShapesAndWeights() {
    Graph g = classifier();
    Value prob = g.outputs().get("prob");
    assertEquals(DType.F32, prob.dtype());
    assertEquals(List.of(dyn("N"), Dim.of(1)), prob.dims());
    IrGraph ir = IrGraph.of(g);
    assertEquals("F32 [T, N, 12]", ir.node("lstm").output(0).type().toString());
    assertEquals("F32 [4, N, 6]", ir.node("lstm").output(1).type().toString());
    Map<String, int[]> shapes = g.weightShapes();
    assertTrue(shapes.containsKey("embedding.weight"));
    assertArrayEquals(new int[] {24, 12}, shapes.get("lstm.l1.rev.W")); // both directions in
    assertTrue(g.describe().contains("LSTM(hidden=6, layers=2, bidirectional)"), g.describe());
  }

  @Test
  void rejectsMistakesAtBuildTime() {
    var dup =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                Graph.build(
                    b -> {
                      b.input("x", DType.F32, dyn("T"));
                      b.input("x", DType.F32, dyn("T"));
                    }));
    assertTrue(dup.getMessage().contains("declared twice"));
    var feat =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                Graph.build(
                    b ->
                        b.output(
                            "y",
                            b.recurrent(
                                b.input("x", DType.F32, dyn("T"), dyn("N"), dyn("I")),
                                Recurrent.gru(4)))));
    assertTrue(feat.getMessage().contains("must be fixed"), feat.getMessage());
    var rank =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                Graph.build(
                    b ->
                        b.output(
                            "y",
                            b.recurrent(
                                b.input("x", DType.F32, dyn("N"), Dim.of(3)), Recurrent.gru(4)))));
    assertTrue(
        rank.getMessage().contains("node 'gru' (GRU): x must have rank 3"), rank.getMessage());
    var ids =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                Graph.build(
                    b -> b.output("y", b.embedding(b.input("x", DType.F32, dyn("N")), 10, 4))));
    assertTrue(ids.getMessage().contains("ids must be I32"), ids.getMessage());
    var cellOnly = assertThrows(IllegalArgumentException.class, () -> Recurrent.gru(4).peepholes());
    assertTrue(cellOnly.getMessage().contains("LSTM only"));
    var acts =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                Graph.build(
                    b ->
                        b.output(
                            "y",
                            b.recurrent(
                                b.input("x", DType.F32, dyn("T"), dyn("N"), Dim.of(3)),
                                Recurrent.lstm(4).activations(List.of(Activation.TANH))))));
    assertTrue(acts.getMessage().contains("takes 3 activations per direction"), acts.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Graph.build(b -> b.input("x", DType.F32)));
    var other = Graph.builder();
    Value foreign = other.input("z", DType.F32, Dim.of(2));
    var cross =
        assertThrows(
            IllegalArgumentException.class, () -> Graph.build(b -> b.output("y", b.tanh(foreign))));
    assertTrue(cross.getMessage().contains("another graph"), cross.getMessage());
  }

  @Test
  void autoNamesAreUnique() {
    Graph g =
        Graph.build(
            b -> {
              Value x = b.input("x", DType.F32, dyn("N"), Dim.of(3));
              b.output("y", b.linear(b.linear(x, 4), 2));
            });
    IrGraph ir = IrGraph.of(g);
    assertEquals(2, ir.nodes().stream().filter(n -> n.name().startsWith("linear")).count());
    ir.node("linear_1");
    var e = assertThrows(IllegalArgumentException.class, () -> ir.node("nope"));
    assertTrue(e.getMessage().contains("nodes: x, linear, linear_1"), e.getMessage());
  }
}
