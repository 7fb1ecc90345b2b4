package dev.jrnn.onednn;

import dev.jrnn.Precision;

/**
 * The differential suite on onednn in bf16 (where the CPU has AVX512_BF16). Every case onednn runs
 * rounds activations to bf16 as well as the weights — batches up to the stepwise limit (and LSTM
 * with projection, which oneDNN 2.6's RNN primitive gets wrong in bf16) on java's step loop with
 * oneDNN's products, larger batches on the RNN primitive — so those cases are bound by {@link
 * OneDnnReducedSuite}'s formula with u = 2⁻⁸ (bf16's relative rounding error, on values of
 * magnitude ≤ 1) and one source: 0.018 (T = 1, L = 1) to 0.051 (T = 5, L = 2). Ragged, clipped and
 * other-activation cases run on java at 1e-5.
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
    return OneDnn.hasIsa(OneDnn.ISA_AVX512_CORE_BF16) && !Boolean.getBoolean("jrnn.onednn.noBf16");
  }
}
