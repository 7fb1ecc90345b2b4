package dev.jrnn;

import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * An immutable dataflow graph of named inputs, operations and named outputs, built once with {@link
 * #build} and run by a {@link Session}. Implemented by jrnn only.
 *
 * <pre>{@code
 * Graph g = Graph.build(b -> {
 *   Value tokens = b.input("tokens", DType.I32, Dim.dyn("T"), Dim.dyn("N"));
 *   Value x = b.embedding(tokens, 1000, 64);
 *   Value seq = b.recurrent(x, Recurrent.lstm(128).layers(2).bidirectional());
 *   b.output("prob", b.sigmoid(b.linear(b.lastStep(seq), 1)));
 * });
 * }</pre>
 */
public interface Graph {

  /** Builds a graph: {@code fn} declares inputs, operations and at least one output. */
  static Graph build(Consumer<Builder> fn) {
    Builder b = builder();
    fn.accept(b);
    return b.build();
  }

  /** A builder for code that assembles a graph step by step; {@link Builder#build} ends it. */
  static Builder builder() {
    return Providers.get().newBuilder();
  }

  /** Graph inputs by name, in declaration order. */
  Map<String, Value> inputs();

  /** Graph outputs by name, in declaration order. */
  Map<String, Value> outputs();

  /**
   * Every weight the graph reads, by canonical name, with the shape it must have, in the order of
   * the operations (a fresh map of fresh arrays).
   */
  Map<String, int[]> weightShapes();

  /** A multi-line description: inputs, operations with their output types, outputs. */
  String describe();

  /**
   * Declares a graph. Each method checks its arguments and works out the output's type at once, so
   * a mistake fails where it is made, naming the operation and the offending input. Methods that
   * take a {@code name} give the operation that name (its weights are prefixed with it); the others
   * name it after its kind ({@code lstm}, {@code linear_1}, …).
   */
  interface Builder {

    /** Declares an input; dimensions are {@link Dim#of} fixed sizes or {@link Dim#dyn} names. */
    Value input(String name, DType dtype, Dim... dims);

    /**
     * Looks up rows of a {@code [vocab, dim]} table (weight {@code <name>.weight}) for I32 ids of
     * any shape: the result has shape {@code ids + [dim]}. An id outside {@code [0, vocab)} fails
     * the run, naming its position.
     */
    Value embedding(Value ids, int vocab, int dim);

    /** {@link #embedding(Value, int, int)} with a name. */
    Value embedding(String name, Value ids, int vocab, int dim);

    /**
     * {@code x · Wᵀ + b} over the last axis, whose size must be fixed; weights {@code <name>.weight
     * [out, in]} and {@code <name>.bias [out]}.
     */
    Value linear(Value x, int out);

    /** {@link #linear(Value, int)} with a name and an optional bias. */
    Value linear(String name, Value x, int out, boolean bias);

    /**
     * A recurrent layer stack over {@code x} ({@code [T, N, I]}, or {@code [N, T, I]} when the spec
     * is batch-first); returns its output sequence. The spec's name, if any, names the node.
     */
    Value recurrent(Value x, Recurrent spec);

    /**
     * A recurrent layer stack with optional sequence lengths {@code [N]} (I32, each in {@code [1,
     * T]}), initial hidden state {@code [L·D, N, Hout]} and initial cell state {@code [L·D, N, H]}
     * (LSTM only); any may be null. Returns the output sequence; {@link Value#finalH()} and {@link
     * Value#finalC()} give the final states.
     */
    Value recurrent(Value x, Recurrent spec, Value lengths, Value h0, Value c0);

    /** Element-wise {@code tanh}. */
    Value tanh(Value x);

    /** Element-wise logistic sigmoid. */
    Value sigmoid(Value x);

    /** Element-wise {@code max(0, x)}. */
    Value relu(Value x);

    /** Element-wise {@code fn} (any {@link Activation}, with its parameters). */
    Value activation(Value x, Activation fn);

    /** Softmax over the last axis. */
    Value softmax(Value x);

    /** Log-softmax over the last axis. */
    Value logSoftmax(Value x);

    /** Element-wise {@code a + b} with NumPy broadcasting. */
    Value add(Value a, Value b);

    /** Element-wise {@code a − b} with NumPy broadcasting. */
    Value sub(Value a, Value b);

    /** Element-wise {@code a · b} with NumPy broadcasting. */
    Value mul(Value a, Value b);

    /** Element-wise {@code a / b} with NumPy broadcasting. */
    Value div(Value a, Value b);

    /** Joins values along {@code axis} (negative counts from the end); other dimensions agree. */
    Value concat(int axis, Value... xs);

    /** {@link #concat(int, Value...)} of a list. */
    default Value concat(int axis, List<Value> xs) {
      return concat(axis, xs.toArray(Value[]::new));
    }

    /**
     * Each batch row's output at its last valid step, {@code [N, C]}. For the output of a recurrent
     * layer, that layer's sequence lengths and layout are used; otherwise the sequence is
     * time-major and every row has length T.
     */
    Value lastStep(Value seq);

    /**
     * Dropout with probability {@code p} in [0, 1): the identity when a session runs the graph; in
     * a {@link Trainer}'s steps each element is zeroed with probability {@code p} and the rest
     * scaled by {@code 1 / (1 − p)}.
     */
    Value dropout(Value x, double p);

    /**
     * Each batch row's output at step {@code lengths[n] − 1} of {@code seq} ({@code [T, N, C]}, or
     * {@code [N, T, C]} when {@code batchFirst}); {@code lengths [N]} may be null (all T).
     */
    Value lastStep(Value seq, Value lengths, boolean batchFirst);

    /** A constant stored in the graph: a copy of {@code value}, which the caller still owns. */
    Value constant(String name, Tensor value);

    /** Declares a graph output. */
    void output(String name, Value v);

    /** The graph; at least one output must be declared. The builder cannot be used after. */
    Graph build();
  }
}
