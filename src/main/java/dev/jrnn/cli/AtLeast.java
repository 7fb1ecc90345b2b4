package dev.jrnn.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Whole-number option values with a lower bound, as picocli converters. */
final class AtLeast {

  private AtLeast() {}

  /** {@code s} as an int of at least {@code min}; picocli names the option in the message. */
  static int parse(String s, int min) {
    int v;
    try {
      v = Integer.parseInt(s);
    } catch (NumberFormatException e) {
      throw new TypeConversionException("'" + s + "' is not a whole number");
    }
    if (v < min) {
      throw new TypeConversionException("must be at least " + min + ", got " + v);
    }
    return v;
  }

  /** Counts: threads, runs, sizes. */
  static final class One implements ITypeConverter<Integer> {
    @Override
    public Integer convert(String s) {
      return parse(s, 1);
    }
  }

  /** Seconds of warm-up. */
  static final class Zero implements ITypeConverter<Integer> {
    @Override
    public Integer convert(String s) {
      return parse(s, 0);
    }
  }
}
