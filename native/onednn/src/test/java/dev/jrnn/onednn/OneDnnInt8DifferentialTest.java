package dev.jrnn.onednn;

import dev.jrnn.Precision;
import dev.jrnn.Recurrent;

/**
 * The differential suite on onednn in int8 (where the CPU has AVX512_VNNI): oneDNN's u8/s8 LSTM and
 * GRU quantize the input and hidden states to u8 and re-round jrnn's int8 weights to one scale per
 * output channel, so those cases are bound by {@link OneDnnReducedSuite}'s formula with u = 1/254
 * (half a u8 step over the data range [-1, 1] every input, h0 and hidden state of the suite lies
 * in) and two sources: 0.022 (T = 1, L = 1) to 0.069 (T = 5, L = 2). Vanilla RNN,
 * linear-before-reset GRU, peepholes, projection and bidirectional-sum run f32 over the widened
 * weights (see {@link Reduced}), at 1e-5 like the cases on java.
 */
class OneDnnInt8DifferentialTest extends OneDnnReducedSuite {

  @Override
  Precision precision() {
    return Precision.INT8;
  }

  @Override
  double unit() {
    return 1.0 / 254;
  }

  @Override
  double sources() {
    return 2;
  }

  @Override
  boolean reduced(Case c) {
    boolean cell =
        switch (c.variant()) {
          case LSTM, GRU_RESET_FIRST -> true;
          default -> false;
        };
    return OneDnn.hasIsa(OneDnn.ISA_AVX512_CORE_VNNI) && cell && c.merge() != Recurrent.Merge.SUM;
  }
}
