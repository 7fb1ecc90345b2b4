package dev.jrnn.onednn;

import dev.jrnn.Precision;

/**
 * The differential suite on onednn in bf16 (where the CPU has AVX512_BF16): oneDNN's bf16 RNN
 * rounds the input and the hidden states to bf16 as well as the weights, so those cases are bound
 * by {@link OneDnnReducedSuite}'s formula with u = 2⁻⁸ (bf16's relative rounding error, on values
 * of magnitude ≤ 1) and one source: 0.018 (T = 1, L = 1) to 0.051 (T = 5, L = 2). LSTM with
 * projection runs f32 over the widened weights (oneDNN 2.6 gets it wrong in bf16, see {@link
 * Reduced}), at 1e-5 like the cases on java.
 */
class OneDnnBf16DifferentialTest extends OneDnnReducedSuite {

  @Override
  Precision precision() {
    return Precision.BF16;
  }

  @Override
  double unit() {
    return 0x1p-8;
  }

  @Override
  double sources() {
    return 1;
  }

  @Override
  boolean reduced(Case c) {
    boolean projection = c.variant() == Variant.LSTM_PEEP_PROJ && c.hidden() > 1;
    return OneDnn.hasIsa(OneDnn.ISA_AVX512_CORE_BF16)
        && !Boolean.getBoolean("jrnn.onednn.noBf16")
        && !projection;
  }
}
