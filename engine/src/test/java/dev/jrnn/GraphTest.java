package dev.jrnn;

import static dev.jrnn.Dim.dyn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.spi.WeightSpec;
import java.util.List;
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
    assertEquals("F32 [N, 1]", g.outputs().get("prob").type().toString());
    assertEquals("F32 [T, N, 12]", g.node("lstm").output(0).type().toString());
    assertEquals("F32 [4, N, 6]", g.node("lstm").output(1).type().toString());
    List<String> names = g.weights().stream().map(WeightSpec::name).toList();
    assertTrue(names.contains("embedding.weight"));
    assertTrue(names.contains("lstm.l1.rev.W"));
    WeightSpec w =
        g.weights().stream()
            .filter(s -> s.name().equals("lstm.l1.rev.W"))
            .findFirst()
            .orElseThrow();
    assertEquals("lstm.l1.rev.W [24, 12]", w.toString()); // layer 1 reads both directions
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
    assertEquals(2, g.nodes().stream().filter(n -> n.name().startsWith("linear")).count());
    g.node("linear_1");
    var e = assertThrows(IllegalArgumentException.class, () -> g.node("nope"));
    assertTrue(e.getMessage().contains("nodes: x, linear, linear_1"), e.getMessage());
  }
}
