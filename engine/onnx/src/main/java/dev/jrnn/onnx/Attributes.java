package dev.jrnn.onnx;

/**
 * Typed access to a node's attributes: a missing attribute gives the default, one of another type
 * (or without its value) is an error naming it and both types.
 */
final class Attributes {

  private static final String[] TYPES = {
    "UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR", "GRAPH", "FLOATS", "INTS", "STRINGS"
  };

  private Attributes() {}

  /** Whether {@code n} has attribute {@code name}. */
  static boolean has(OnnxProto.Node n, String name) {
    return n.attributes().containsKey(name);
  }

  /**
   * Attribute {@code name} of {@code n}, or null; throws when it is of another type than {@code
   * type} (ONNX AttributeType) or lacks its value.
   */
  static OnnxProto.Attribute get(OnnxProto.Node n, String name, int type) {
    OnnxProto.Attribute a = n.attributes().get(name);
    if (a == null) {
      return null;
    }
    boolean missing =
        (type == OnnxProto.ATTR_TENSOR && a.t() == null)
            || (type == OnnxProto.ATTR_STRING && a.s() == null);
    if ((a.type() != 0 && a.type() != type) || missing) {
      throw new IllegalArgumentException(
          "attribute '"
              + name
              + "' must be "
              + TYPES[type]
              + ", got "
              + (a.type() >= 0 && a.type() < TYPES.length ? TYPES[a.type()] : "type " + a.type())
              + (missing ? " without a value" : ""));
    }
    return a;
  }

  static long intValue(OnnxProto.Node n, String name, long def) {
    OnnxProto.Attribute a = get(n, name, OnnxProto.ATTR_INT);
    return a == null ? def : a.i();
  }

  /** An INT attribute that must fit in 32 bits (an axis, a size, an enum), or {@code def}. */
  static int int32Value(OnnxProto.Node n, String name, int def) {
    long v = intValue(n, name, def);
    if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("attribute '" + name + "' is " + v + ", beyond 32 bits");
    }
    return (int) v;
  }

  /**
   * An INT attribute clamped to the int range, or {@code def}: for bounds that ONNX clamps to a
   * dimension anyway (Shape's start and end).
   */
  static int clampedIntValue(OnnxProto.Node n, String name, int def) {
    long v = intValue(n, name, def);
    return (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, v));
  }

  static float floatValue(OnnxProto.Node n, String name, float def) {
    OnnxProto.Attribute a = get(n, name, OnnxProto.ATTR_FLOAT);
    return a == null ? def : a.f();
  }

  /** An INTS attribute as ints, or null when absent; a value beyond int range is an error. */
  static int[] intsValue(OnnxProto.Node n, String name) {
    OnnxProto.Attribute a = get(n, name, OnnxProto.ATTR_INTS);
    if (a == null) {
      return null;
    }
    int[] v = new int[a.ints().size()];
    for (int i = 0; i < v.length; i++) {
      v[i] = Math.toIntExact(a.ints().get(i));
    }
    return v;
  }
}
