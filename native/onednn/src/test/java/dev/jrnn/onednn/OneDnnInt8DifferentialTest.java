package dev.jrnn.onednn;

import dev.jrnn.Precision;

/**
 * The differential suite on onednn in int8 (where the CPU has AVX512_VNNI). Every case onednn runs
 * quantizes activations to u8: batches up to the stepwise limit (and layers oneDNN's u8/s8 RNN
 * primitive lacks: vanilla RNN, linear-before-reset GRU, peepholes, projection, bidirectional-sum)
 * on java's step loop with oneDNN's products, which quantize each row of x and h with its own scale
 * (a step of max|row|/127); larger batches on the RNN primitive, which quantizes the input and
 * every hidden state over one data range and re-rounds jrnn's int8 weights to one scale per output
 * channel. Both are bound by {@link OneDnnReducedSuite}'s formula with u = 1/254 (half a u8 step
 * over [-1, 1], where every input, h0 and hidden state of the suite lies) and two sources: 0.022 (T
 * = 1, L = 1) to 0.069 (T = 5, L = 2). Ragged, clipped and other-activation cases run on java at
 * 1e-5.
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
    return OneDnn.hasIsa(OneDnn.ISA_AVX512_CORE_VNNI);
  }
}
