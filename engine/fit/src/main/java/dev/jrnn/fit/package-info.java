/**
 * The fit loop over the public {@code dev.jrnn.Trainer}: epochs, validation, early stopping,
 * checkpoints, metrics, progress and plots.
 */
package dev.jrnn.fit;
