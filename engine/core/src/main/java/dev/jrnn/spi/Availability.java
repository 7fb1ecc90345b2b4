package dev.jrnn.spi;

/**
 * Whether a backend can run here.
 *
 * @param available true when usable
 * @param reason why not (or a short description of what was found when available)
 */
public record Availability(boolean available, String reason) {

  public static Availability yes(String detail) {
    return new Availability(true, detail);
  }

  public static Availability no(String reason) {
    return new Availability(false, reason);
  }
}
