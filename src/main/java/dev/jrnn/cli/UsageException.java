package dev.jrnn.cli;

/**
 * Wrong usage found while a command runs (a combination of options, an input the model does not
 * take): reported like picocli's own parse errors, with the command's usage, exit status 2.
 */
final class UsageException extends RuntimeException {
  UsageException(String message) {
    super(message);
  }
}
