package dev.jrnn.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import dev.jrnn.ModelFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads ONNX {@code ModelProto} bytes with protobuf-java's wire reader (field numbers from {@code
 * onnx.proto}; no generated code) into plain records. Hostile input is bounded: lengths are checked
 * against the remaining bytes by the reader, nesting is limited, and a tensor's declared element
 * count must match its data before any array is allocated.
 */
public final class OnnxProto {

  private static final int MAX_DEPTH = 16;

  /** ONNX TensorProto data types used here. */
  public static final int FLOAT = 1;

  public static final int UINT8 = 2;
  public static final int INT8 = 3;
  public static final int INT32 = 6;
  public static final int INT64 = 7;
  public static final int BOOL = 9;
  public static final int FLOAT16 = 10;
  public static final int DOUBLE = 11;

  /** ONNX AttributeProto types. */
  public static final int ATTR_UNDEFINED = 0;

  public static final int ATTR_FLOAT = 1;
  public static final int ATTR_INT = 2;
  public static final int ATTR_STRING = 3;
  public static final int ATTR_TENSOR = 4;
  public static final int ATTR_FLOATS = 6;
  public static final int ATTR_INTS = 7;
  public static final int ATTR_STRINGS = 8;

  private OnnxProto() {}

  /** A model: the default-domain opset and the main graph. */
  public record Model(long irVersion, long opset, Graph graph) {}

  /** A graph. */
  public record Graph(
      String name,
      List<Node> nodes,
      List<TensorData> initializers,
      List<ValueInfo> inputs,
      List<ValueInfo> outputs) {}

  /** A node. */
  public record Node(
      String name,
      String opType,
      String domain,
      List<String> inputs,
      List<String> outputs,
      Map<String, Attribute> attributes) {}

  /** An attribute; only the field matching {@code type} is meaningful. */
  public record Attribute(
      String name,
      int type,
      float f,
      long i,
      byte[] s,
      TensorData t,
      List<Float> floats,
      List<Long> ints,
      List<byte[]> strings) {

    public String string() {
      return new String(s, java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  /** An input or output declaration: element type and dims (a dim is a size or a name). */
  public record ValueInfo(String name, int elemType, List<Object> dims) {}

  /**
   * A tensor: name, ONNX data type, dims and its elements decoded to floats or longs (one of them
   * non-null).
   */
  public record TensorData(String name, int dataType, long[] dims, float[] floats, long[] longs) {}

  /** Parses a model; {@code where} names the source in errors. */
  public static Model parseModel(byte[] bytes, String where) {
    try {
      CodedInputStream in = CodedInputStream.newInstance(bytes);
      in.setSizeLimit(Integer.MAX_VALUE);
      in.pushLimit(bytes.length); // every nested length is then checked against what remains
      return model(in, where);
    } catch (InvalidProtocolBufferException e) {
      throw new ModelFormatException(
          where + ": not a valid ONNX model (" + e.getMessage() + ")", e);
    } catch (IOException e) {
      throw new ModelFormatException(where + ": cannot read (" + e.getMessage() + ")", e);
    }
  }

  private static Model model(CodedInputStream in, String where) throws IOException {
    long ir = 0;
    long opset = -1;
    Graph graph = null;
    while (true) {
      int tag = in.readTag();
      if (tag == 0) {
        break;
      }
      switch (WireFormat.getTagFieldNumber(tag)) {
        case 1 -> ir = in.readInt64();
        case 7 -> {
          int old = enter(in);
          graph = graph(in, where, 1);
          in.popLimit(old);
        }
        case 8 -> { // OperatorSetIdProto
          String[] domain = {""};
          long[] version = {0};
          message(
              in,
              (f, t) -> {
                switch (f) {
                  case 1 -> domain[0] = in.readStringRequireUtf8();
                  case 2 -> version[0] = in.readInt64();
                  default -> in.skipField(t);
                }
              });
          if (domain[0].isEmpty() || domain[0].equals("ai.onnx")) {
            opset = version[0];
          }
        }
        default -> in.skipField(tag);
      }
    }
    if (graph == null) {
      throw new ModelFormatException(where + ": the model has no graph");
    }
    if (opset < 0) {
      throw new ModelFormatException(where + ": the model imports no default-domain opset");
    }
    return new Model(ir, opset, graph);
  }

  /** Reads a length prefix and limits the stream to it; returns the old limit. */
  private static int enter(CodedInputStream in) throws IOException {
    int len = in.readRawVarint32();
    if (len < 0 || len > in.getBytesUntilLimit()) {
      throw new InvalidProtocolBufferException(
          "a length of " + len + " runs past the end of the data");
    }
    return in.pushLimit(len);
  }

  private static Graph graph(CodedInputStream in, String where, int depth) throws IOException {
    if (depth > MAX_DEPTH) {
      throw new ModelFormatException(where + ": graphs nested deeper than " + MAX_DEPTH);
    }
    String name = "";
    List<Node> nodes = new ArrayList<>();
    List<TensorData> inits = new ArrayList<>();
    List<ValueInfo> inputs = new ArrayList<>();
    List<ValueInfo> outputs = new ArrayList<>();
    while (true) {
      int tag = in.readTag();
      if (tag == 0) {
        break;
      }
      int field = WireFormat.getTagFieldNumber(tag);
      switch (field) {
        case 1 -> {
          int old = enter(in);
          nodes.add(node(in, where, depth));
          in.popLimit(old);
        }
        case 2 -> name = in.readStringRequireUtf8();
        case 5 -> {
          int old = enter(in);
          inits.add(tensor(in, where));
          in.popLimit(old);
        }
        case 11, 12 -> {
          int old = enter(in);
          ValueInfo v = valueInfo(in);
          in.popLimit(old);
          (field == 11 ? inputs : outputs).add(v);
        }
        case 15 ->
            throw new ModelFormatException(where + ": sparse initializers are not supported");
        default -> in.skipField(tag);
      }
    }
    return new Graph(name, nodes, inits, inputs, outputs);
  }

  private static Node node(CodedInputStream in, String where, int depth) throws IOException {
    List<String> inputs = new ArrayList<>();
    List<String> outputs = new ArrayList<>();
    String name = "";
    String opType = "";
    String domain = "";
    Map<String, Attribute> attrs = new LinkedHashMap<>();
    while (true) {
      int tag = in.readTag();
      if (tag == 0) {
        break;
      }
      switch (WireFormat.getTagFieldNumber(tag)) {
        case 1 -> inputs.add(in.readStringRequireUtf8());
        case 2 -> outputs.add(in.readStringRequireUtf8());
        case 3 -> name = in.readStringRequireUtf8();
        case 4 -> opType = in.readStringRequireUtf8();
        case 7 -> domain = in.readStringRequireUtf8();
        case 5 -> {
          int old = enter(in);
          Attribute a = attribute(in, where, depth);
          in.popLimit(old);
          attrs.put(a.name(), a);
        }
        default -> in.skipField(tag);
      }
    }
    return new Node(name, opType, domain, inputs, outputs, attrs);
  }

  private static Attribute attribute(CodedInputStream in, String where, int depth)
      throws IOException {
    String name = "";
    int type = 0;
    float f = 0;
    long i = 0;
    byte[] s = new byte[0];
    TensorData t = null;
    FloatList floats = new FloatList();
    LongList ints = new LongList();
    List<byte[]> strings = new ArrayList<>();
    while (true) {
      int tag = in.readTag();
      if (tag == 0) {
        break;
      }
      int wire = WireFormat.getTagWireType(tag);
      switch (WireFormat.getTagFieldNumber(tag)) {
        case 1 -> name = in.readStringRequireUtf8();
        case 20 -> type = in.readInt32();
        case 2 -> f = in.readFloat();
        case 3 -> i = in.readInt64();
        case 4 -> s = in.readByteArray();
        case 5 -> {
          int old = enter(in);
          t = tensor(in, where);
          in.popLimit(old);
        }
        case 6, 11 -> {
          // Subgraphs (If, Loop, Scan) are parsed only to bound their depth; jrnn does not run
          // them.
          int old = enter(in);
          graph(in, where, depth + 1);
          in.popLimit(old);
        }
        case 7 -> readFloats(in, wire, floats, false);
        case 8 -> readLongs(in, wire, ints, true);
        case 9 -> strings.add(in.readByteArray());
        default -> in.skipField(tag);
      }
    }
    return new Attribute(name, type, f, i, s, t, floats.toList(), ints.toList(), strings);
  }

  /** Handles one field of a message: its number and its tag (to skip or read it). */
  @FunctionalInterface
  private interface FieldReader {
    void read(int field, int tag) throws IOException;
  }

  /** Reads the length-delimited sub-message at the stream's position, field by field. */
  private static void message(CodedInputStream in, FieldReader r) throws IOException {
    int old = enter(in);
    for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
      r.read(WireFormat.getTagFieldNumber(tag), tag);
    }
    in.popLimit(old);
  }

  /** ValueInfoProto: the name, and from TypeProto.tensor_type the element type and dims. */
  private static ValueInfo valueInfo(CodedInputStream in) throws IOException {
    String name = "";
    int[] elem = {0};
    List<Object> dims = new ArrayList<>();
    for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
      switch (WireFormat.getTagFieldNumber(tag)) {
        case 1 -> name = in.readStringRequireUtf8();
        case 2 -> // TypeProto
            message(
                in,
                (f, t) -> {
                  if (f != 1) { // not tensor_type
                    in.skipField(t);
                    return;
                  }
                  message(
                      in,
                      (f2, t2) -> {
                        switch (f2) {
                          case 1 -> elem[0] = in.readInt32();
                          case 2 -> message(in, (f3, t3) -> dimension(in, f3, t3, dims)); // shape
                          default -> in.skipField(t2);
                        }
                      });
                });
        default -> in.skipField(tag);
      }
    }
    return new ValueInfo(name, elem[0], dims);
  }

  /** TensorShapeProto.dim: a size, a symbolic name, or "?" when neither is given. */
  private static void dimension(CodedInputStream in, int field, int tag, List<Object> dims)
      throws IOException {
    if (field != 1) {
      in.skipField(tag);
      return;
    }
    Object[] dim = {"?"};
    message(
        in,
        (f, t) -> {
          switch (f) {
            case 1 -> dim[0] = in.readInt64();
            case 2 -> dim[0] = in.readStringRequireUtf8();
            default -> in.skipField(t);
          }
        });
    dims.add(dim[0]);
  }

  private static TensorData tensor(CodedInputStream in, String where) throws IOException {
    List<Long> dims = new ArrayList<>();
    int type = 0;
    String name = "";
    byte[] raw = null;
    FloatList floats = new FloatList();
    LongList longs = new LongList();
    boolean external = false;
    while (true) {
      int tag = in.readTag();
      if (tag == 0) {
        break;
      }
      int wire = WireFormat.getTagWireType(tag);
      switch (WireFormat.getTagFieldNumber(tag)) {
        case 1 -> {
          if (wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
            int old = enter(in);
            while (in.getBytesUntilLimit() > 0) {
              dims.add(in.readInt64());
            }
            in.popLimit(old);
          } else {
            dims.add(in.readInt64());
          }
        }
        case 2 -> type = in.readInt32();
        case 8 -> name = in.readStringRequireUtf8();
        case 9 -> raw = in.readByteArray();
        case 4 -> readFloats(in, wire, floats, false); // float_data
        case 10 -> readFloats(in, wire, floats, true); // double_data
        case 5 -> readLongs(in, wire, longs, false); // int32_data (also bool, int8…, f16 bits)
        case 7 -> readLongs(in, wire, longs, true); // int64_data
        case 13 -> external = true;
        case 14 -> external |= in.readInt32() == 1;
        default -> in.skipField(tag);
      }
    }
    String at = where + ": tensor '" + name + "'";
    if (external) {
      throw new ModelFormatException(at + " uses external data, which jrnn does not read");
    }
    long[] d = new long[dims.size()];
    long count = 1;
    for (int i = 0; i < d.length; i++) {
      d[i] = dims.get(i);
      if (d[i] < 0) {
        throw new ModelFormatException(at + " has negative dimension " + d[i]);
      }
      try {
        count = Math.multiplyExact(count, d[i]);
      } catch (ArithmeticException e) {
        throw new ModelFormatException(at + ": element count overflows");
      }
    }
    int elemSize =
        switch (type) {
          case FLOAT, INT32 -> 4;
          case INT64, DOUBLE -> 8;
          case FLOAT16 -> 2;
          case UINT8, INT8, BOOL -> 1;
          default ->
              throw new ModelFormatException(
                  at
                      + " has data type "
                      + type
                      + "; supported: float, double, float16, int8, uint8, bool, int32, int64");
        };
    if (raw != null) {
      if (count > raw.length / elemSize || (long) raw.length != count * elemSize) {
        throw new ModelFormatException(
            at
                + " holds "
                + raw.length
                + " bytes but "
                + count
                + " elements of "
                + elemSize
                + " bytes are declared");
      }
      return decodeRaw(name, type, d, raw, (int) count);
    }
    boolean isFloat = type == FLOAT || type == DOUBLE;
    long have = type == FLOAT16 ? longs.size : isFloat ? floats.size : longs.size;
    if (have != count) {
      throw new ModelFormatException(
          at
              + " holds "
              + have
              + " elements but its dims "
              + java.util.Arrays.toString(d)
              + " declare "
              + count);
    }
    if (type == FLOAT16) {
      float[] f = new float[(int) count];
      for (int i = 0; i < f.length; i++) {
        f[i] = Float.float16ToFloat((short) longs.get(i));
      }
      return new TensorData(name, FLOAT, d, f, null);
    }
    return isFloat
        ? new TensorData(name, FLOAT, d, floats.toArray(), null)
        : new TensorData(name, INT64, d, null, longs.toArray());
  }

  private static TensorData decodeRaw(String name, int type, long[] dims, byte[] raw, int n) {
    ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
    switch (type) {
      case FLOAT -> {
        float[] f = new float[n];
        b.asFloatBuffer().get(f);
        return new TensorData(name, FLOAT, dims, f, null);
      }
      case DOUBLE -> {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
          f[i] = (float) b.getDouble(i * 8);
        }
        return new TensorData(name, FLOAT, dims, f, null);
      }
      case FLOAT16 -> {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
          f[i] = Float.float16ToFloat(b.getShort(i * 2));
        }
        return new TensorData(name, FLOAT, dims, f, null);
      }
      default -> {
        long[] l = new long[n];
        for (int i = 0; i < n; i++) {
          l[i] =
              switch (type) {
                case INT32 -> b.getInt(i * 4);
                case INT64 -> b.getLong(i * 8);
                case UINT8 -> raw[i] & 0xff;
                default -> raw[i]; // INT8, BOOL
              };
        }
        return new TensorData(name, INT64, dims, null, l);
      }
    }
  }

  private static void readFloats(CodedInputStream in, int wire, FloatList out, boolean dbl)
      throws IOException {
    if (wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
      int old = enter(in);
      while (in.getBytesUntilLimit() > 0) {
        out.add(dbl ? (float) in.readDouble() : in.readFloat());
      }
      in.popLimit(old);
    } else {
      out.add(dbl ? (float) in.readDouble() : in.readFloat());
    }
  }

  private static void readLongs(CodedInputStream in, int wire, LongList out, boolean is64)
      throws IOException {
    if (wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
      int old = enter(in);
      while (in.getBytesUntilLimit() > 0) {
        out.add(is64 ? in.readInt64() : in.readInt32());
      }
      in.popLimit(old);
    } else {
      out.add(is64 ? in.readInt64() : in.readInt32());
    }
  }

  /** A growable float array (each element read consumed input bytes, so growth is bounded). */
  private static final class FloatList {
    float[] a = new float[16];
    int size;

    void add(float v) {
      if (size == a.length) {
        a = java.util.Arrays.copyOf(a, a.length * 2);
      }
      a[size++] = v;
    }

    float[] toArray() {
      return java.util.Arrays.copyOf(a, size);
    }

    List<Float> toList() {
      List<Float> l = new ArrayList<>(size);
      for (int k = 0; k < size; k++) {
        l.add(a[k]);
      }
      return l;
    }
  }

  private static final class LongList {
    long[] a = new long[16];
    int size;

    void add(long v) {
      if (size == a.length) {
        a = java.util.Arrays.copyOf(a, a.length * 2);
      }
      a[size++] = v;
    }

    long get(int i) {
      return a[i];
    }

    long[] toArray() {
      return java.util.Arrays.copyOf(a, size);
    }

    List<Long> toList() {
      return java.util.Arrays.stream(a, 0, size).boxed().toList();
    }
  }
}
