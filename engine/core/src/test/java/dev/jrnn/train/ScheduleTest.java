package dev.jrnn.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Schedule;
import dev.jrnn.io.Json;
import dev.jrnn.testing.Fixture;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Learning-rate factors of 30 steps against PyTorch's schedulers (fixtures/training). */
class ScheduleTest {

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> cases() {
    String json =
        new String(
            Fixture.resource(TrainingFixture.DIR + "schedules.json"), StandardCharsets.UTF_8);
    return (List<Map<String, Object>>) Json.parse(json);
  }

  @ParameterizedTest(name = "{index}")
  @MethodSource("cases")
  void matchesPyTorch(Map<String, Object> c) {
    Schedule s = TrainingFixture.schedule((Map<?, ?>) c.get("schedule"));
    List<?> want = (List<?>) c.get("factors");
    assertEquals(30, want.size());
    double worst = 0;
    for (int k = 0; k < want.size(); k++) {
      double w = ((Number) want.get(k)).doubleValue();
      double got = s.factor(k);
      double err = Math.abs(got - w) / Math.max(Math.abs(w), 1e-12);
      worst = Math.max(worst, Math.abs(got - w) < 1e-15 ? 0 : err);
      assertTrue(
          Math.abs(got - w) <= 1e-12 + 1e-9 * Math.abs(w),
          c.get("name") + " " + s + " step " + k + ": " + got + ", PyTorch " + w);
    }
    System.out.printf("schedule %-16s %s: largest relative error %.2e%n", c.get("name"), s, worst);
  }

  @Test
  void cosineStaysAtItsMinimumAfterTheEnd() {
    Schedule s = Schedule.cosine(10, 0.2);
    assertEquals(1.0, s.factor(0));
    assertEquals(0.2, s.factor(10), 1e-15);
    assertEquals(0.2, s.factor(11));
    assertEquals(0.2, s.factor(1_000_000_000_000L));
  }

  @Test
  void warmupStartsAtZeroAndEndsAtTheSchedule() {
    Schedule s = Schedule.step(3, 0.5).warmup(4);
    assertEquals(0.0, s.factor(0));
    assertEquals(0.25, s.factor(1));
    assertEquals(0.75 * 0.5, s.factor(3));
    assertEquals(0.5, s.factor(4));
    assertEquals(Schedule.step(3, 0.5), s.warmup(0));
    assertEquals(4, s.warmupSteps());
  }

  @Test
  void badArgumentsAreNamed() {
    assertEquals(
        "step schedule: everySteps must be >= 1, got 0",
        assertThrows(IllegalArgumentException.class, () -> Schedule.step(0, 0.5)).getMessage());
    assertEquals(
        "step schedule: gamma must be finite and > 0, got -1.0",
        assertThrows(IllegalArgumentException.class, () -> Schedule.step(2, -1)).getMessage());
    assertEquals(
        "cosine schedule: minFactor must be in [0, 1], got 1.5",
        assertThrows(IllegalArgumentException.class, () -> Schedule.cosine(5, 1.5)).getMessage());
    assertEquals(
        "cosine schedule: totalSteps must be >= 1, got -3",
        assertThrows(IllegalArgumentException.class, () -> Schedule.cosine(-3, 0)).getMessage());
    assertEquals(
        "warmup steps must be >= 0, got -1",
        assertThrows(IllegalArgumentException.class, () -> Schedule.constant().warmup(-1))
            .getMessage());
    assertEquals(
        "step must be >= 0, got -1",
        assertThrows(IllegalArgumentException.class, () -> Schedule.constant().factor(-1))
            .getMessage());
  }
}
