package dev.jrnn.ir;

/**
 * What is known of a node's outputs before it runs: their types and, when the op folds on known
 * inputs, their values. Made by {@link #of}, which names the node in any error.
 *
 * @param types the output types
 * @param values the output values when folded, else null
 */
public record Inference(TensorType[] types, Const[] values) {

  /**
   * Infers node {@code node}'s outputs from its input types and known input values ({@code
   * known[i]} null where unknown); folds too when {@code fold}. An {@link IllegalArgumentException}
   * comes back prefixed with {@code node '<name>' (<kind>): }, and so does an {@link
   * ArithmeticException} (a size that overflows), as an IllegalArgumentException.
   */
  public static Inference of(String node, Op op, TensorType[] in, Const[] known, boolean fold) {
    try {
      TensorType[] types = op.infer(in, known);
      return new Inference(types, fold ? op.fold(in, known) : null);
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw new IllegalArgumentException(
          "node '" + node + "' (" + op.kind() + "): " + e.getMessage(), e);
    }
  }
}
