package dev.jrnn.onednn;

import dev.jrnn.onednn.ffi.Dnnl;

/** Arguments of oneDNN's RNN primitives: data, weights, and their gradients. */
enum Arg {
  SRC_LAYER,
  SRC_ITER,
  SRC_ITER_C,
  WEIGHTS_LAYER,
  WEIGHTS_ITER,
  WEIGHTS_PEEPHOLE,
  WEIGHTS_PROJECTION,
  BIAS,
  DST_LAYER,
  DST_ITER,
  DST_ITER_C,
  WORKSPACE,
  DIFF_SRC_LAYER,
  DIFF_SRC_ITER,
  DIFF_SRC_ITER_C,
  DIFF_WEIGHTS_LAYER,
  DIFF_WEIGHTS_ITER,
  DIFF_WEIGHTS_PEEPHOLE,
  DIFF_WEIGHTS_PROJECTION,
  DIFF_BIAS,
  DIFF_DST_LAYER,
  DIFF_DST_ITER,
  DIFF_DST_ITER_C;

  /** {@link #values()} without the copy. */
  static final Arg[] ALL = values();

  /** The {@code DNNL_ARG_*} constant. */
  int dnnl() {
    return switch (this) {
      case SRC_LAYER -> Dnnl.DNNL_ARG_SRC_LAYER();
      case SRC_ITER -> Dnnl.DNNL_ARG_SRC_ITER();
      case SRC_ITER_C -> Dnnl.DNNL_ARG_SRC_ITER_C();
      case WEIGHTS_LAYER -> Dnnl.DNNL_ARG_WEIGHTS_LAYER();
      case WEIGHTS_ITER -> Dnnl.DNNL_ARG_WEIGHTS_ITER();
      case WEIGHTS_PEEPHOLE -> Dnnl.DNNL_ARG_WEIGHTS_PEEPHOLE();
      case WEIGHTS_PROJECTION -> Dnnl.DNNL_ARG_WEIGHTS_PROJECTION();
      case BIAS -> Dnnl.DNNL_ARG_BIAS();
      case DST_LAYER -> Dnnl.DNNL_ARG_DST_LAYER();
      case DST_ITER -> Dnnl.DNNL_ARG_DST_ITER();
      case DST_ITER_C -> Dnnl.DNNL_ARG_DST_ITER_C();
      case WORKSPACE -> Dnnl.DNNL_ARG_WORKSPACE();
      case DIFF_SRC_LAYER -> Dnnl.DNNL_ARG_DIFF_SRC_LAYER();
      case DIFF_SRC_ITER -> Dnnl.DNNL_ARG_DIFF_SRC_ITER();
      case DIFF_SRC_ITER_C -> Dnnl.DNNL_ARG_DIFF_SRC_ITER_C();
      case DIFF_WEIGHTS_LAYER -> Dnnl.DNNL_ARG_DIFF_WEIGHTS_LAYER();
      case DIFF_WEIGHTS_ITER -> Dnnl.DNNL_ARG_DIFF_WEIGHTS_ITER();
      case DIFF_WEIGHTS_PEEPHOLE -> Dnnl.DNNL_ARG_DIFF_WEIGHTS_PEEPHOLE();
      case DIFF_WEIGHTS_PROJECTION -> Dnnl.DNNL_ARG_DIFF_WEIGHTS_PROJECTION();
      case DIFF_BIAS -> Dnnl.DNNL_ARG_DIFF_BIAS();
      case DIFF_DST_LAYER -> Dnnl.DNNL_ARG_DIFF_DST_LAYER();
      case DIFF_DST_ITER -> Dnnl.DNNL_ARG_DIFF_DST_ITER();
      case DIFF_DST_ITER_C -> Dnnl.DNNL_ARG_DIFF_DST_ITER_C();
    };
  }

  /** The gradient argument of a data or weight argument. */
  Arg diff() {
    return switch (this) {
      case SRC_LAYER -> DIFF_SRC_LAYER;
      case SRC_ITER -> DIFF_SRC_ITER;
      case SRC_ITER_C -> DIFF_SRC_ITER_C;
      case WEIGHTS_LAYER -> DIFF_WEIGHTS_LAYER;
      case WEIGHTS_ITER -> DIFF_WEIGHTS_ITER;
      case WEIGHTS_PEEPHOLE -> DIFF_WEIGHTS_PEEPHOLE;
      case WEIGHTS_PROJECTION -> DIFF_WEIGHTS_PROJECTION;
      case BIAS -> DIFF_BIAS;
      case DST_LAYER -> DIFF_DST_LAYER;
      case DST_ITER -> DIFF_DST_ITER;
      case DST_ITER_C -> DIFF_DST_ITER_C;
      default -> throw new IllegalArgumentException(name() + " has no gradient argument");
    };
  }
}
