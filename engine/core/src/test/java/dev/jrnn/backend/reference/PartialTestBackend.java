package dev.jrnn.backend.reference;

import dev.jrnn.Options;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.spi.Availability;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.CompiledNode;
import java.util.Map;

/** A test-only backend that cannot run recurrent layers, to exercise partitioning. */
public final class PartialTestBackend implements Backend {

  static volatile int compiled;

  @Override
  public String name() {
    return "test-partial";
  }

  @Override
  public Availability availability() {
    return Availability.yes("test only");
  }

  @Override
  public int priority() {
    return -100;
  }

  @Override
  public String unsupported(Node node) {
    return node.op() instanceof Op.RecurrentLayer ? "no recurrent layers here" : null;
  }

  @Override
  public Context open(Options options) {
    return new Context() {
      @Override
      public CompiledNode compile(Node node, Map<String, Tensor> weights) {
        compiled++;
        return ReferenceBackend.compile(node, weights);
      }

      @Override
      public void close() {}
    };
  }
}
