package dev.jrnn.backend.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Op;
import dev.jrnn.kernels.DropoutMask;
import dev.jrnn.spi.DropoutStreams;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the reference's recurrent dropout computes, written out by hand for a small RNN. */
class ReferenceDropoutTest {

  @Test
  void recurrentDropoutMasksTheRecurrentInputWithOneMaskPerSequence() {
    int h = 4;
    int steps = 3;
    int batch = 2;
    float p = 0.5f;
    Recurrent spec = Recurrent.rnn(h).recurrentDropout(p);
    Op.RecurrentLayer op = new Op.RecurrentLayer(spec, 1);
    float[] w = {0.5f, -0.3f, 0.2f, 0.7f};
    float[] r = new float[h * h];
    for (int i = 0; i < r.length; i++) {
      r[i] = (float) Math.sin(i + 1) * 0.6f;
    }
    Map<String, Tensor> weights = new LinkedHashMap<>();
    weights.put("rnn.l0.fwd.W", Tensor.of(w, h, 1));
    weights.put("rnn.l0.fwd.R", Tensor.of(r, h, h));
    weights.put("rnn.l0.fwd.bW", Tensor.of(new float[h], h));
    weights.put("rnn.l0.fwd.bR", Tensor.of(new float[h], h));
    float[] x = {1, -1, 0.5f, 2, -0.5f, 1};
    Tensor[] in = {Tensor.of(x, steps, batch, 1), null, null, null};
    ReferenceRecurrent stack = new ReferenceRecurrent(op, "rnn", weights);
    long stream = 1234;
    Tape t = new Tape(false);
    ReferenceRecurrent.Trace tr = stack.trace(t, in, true, stream);

    float[] mask = new float[batch * h];
    DropoutMask.fill(DropoutStreams.recurrent(stream, 0, 0), p, 0, mask, 0, mask.length);
    int dropped = 0;
    for (float m : mask) {
      dropped += m == 0 ? 1 : 0;
    }
    assertTrue(dropped > 0 && dropped < mask.length, "a mask with both kinds: " + dropped);
    for (int n = 0; n < batch; n++) {
      double[] hPrev = new double[h];
      for (int s = 0; s < steps; s++) {
        double[] hNew = new double[h];
        for (int j = 0; j < h; j++) {
          double v = w[j] * x[s * batch + n];
          for (int k = 0; k < h; k++) {
            v += r[j * h + k] * hPrev[k] * mask[n * h + k];
          }
          hNew[j] = Math.tanh(v);
          assertEquals(hNew[j], t.val(tr.y[(s * batch + n) * h + j]), 1e-12, "t=" + s + " n=" + n);
        }
        hPrev = hNew;
      }
    }
    Tape inference = new Tape(false);
    ReferenceRecurrent.Trace plain = stack.trace(inference, in);
    double diff = 0;
    for (int i = 0; i < tr.y.length; i++) {
      diff = Math.max(diff, Math.abs(inference.val(plain.y[i]) - t.val(tr.y[i])));
    }
    assertTrue(diff > 1e-3, "inference runs without the mask");
  }
}
