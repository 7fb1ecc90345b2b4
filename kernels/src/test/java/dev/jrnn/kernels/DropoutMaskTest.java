package dev.jrnn.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class DropoutMaskTest {

  @Test
  void keepRateMatchesTheProbability() {
    for (float p : new float[] {0f, 0.1f, 0.25f, 0.5f, 0.9f}) {
      float[] m = new float[200_000];
      DropoutMask.fill(DropoutMask.stream(7, "drop"), p, 0, m, 0, m.length);
      long kept = 0;
      for (float v : m) {
        assertTrue(v == 0 || v == DropoutMask.scale(p), "value " + v);
        kept += v != 0 ? 1 : 0;
      }
      double rate = kept / (double) m.length;
      // binomial standard deviation at n = 200000 is at most 0.0011
      assertEquals(1 - p, rate, 0.006, "p = " + p);
    }
  }

  @Test
  void partsDrawnSeparatelyMakeTheWholeMask() {
    long s = DropoutMask.stream(3, 12);
    float[] whole = new float[1000];
    DropoutMask.fill(s, 0.3f, 0, whole, 0, 1000);
    float[] parts = new float[1000];
    DropoutMask.fill(s, 0.3f, 600, parts, 600, 400);
    DropoutMask.fill(s, 0.3f, 0, parts, 0, 600);
    assertArrayEquals(whole, parts);
  }

  @Test
  void seedsAndKeysGiveDifferentMasks() {
    float[] a = new float[256];
    float[] b = new float[256];
    float[] c = new float[256];
    DropoutMask.fill(DropoutMask.stream(1, "x"), 0.5f, 0, a, 0, 256);
    DropoutMask.fill(DropoutMask.stream(2, "x"), 0.5f, 0, b, 0, 256);
    DropoutMask.fill(DropoutMask.stream(1, "y"), 0.5f, 0, c, 0, 256);
    assertNotEquals(Arrays.toString(a), Arrays.toString(b));
    assertNotEquals(Arrays.toString(a), Arrays.toString(c));
  }
}
