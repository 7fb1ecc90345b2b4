package dev.jrnn;

import java.util.List;

/**
 * A symbolic tensor in a graph being built: what a {@link Graph.Builder} method returns and later
 * methods take. Implemented by jrnn only.
 */
public interface Value {

  /** Element type. */
  DType dtype();

  /** Dimensions, fixed or dynamic. */
  List<Dim> dims();

  /** The name used in messages: the input's name, {@code node} or {@code node:i}. */
  String name();

  /**
   * The final hidden state {@code [L·D, N, Hout]} of the recurrent layer that made this value;
   * throws if a recurrent layer did not.
   */
  Value finalH();

  /**
   * The final cell state {@code [L·D, N, H]} of the LSTM that made this value; throws for other
   * values.
   */
  Value finalC();
}
