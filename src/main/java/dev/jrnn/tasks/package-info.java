/**
 * The three jobs people train recurrent networks for, end to end over the public API, {@code
 * dev.jrnn.data} and {@code dev.jrnn.fit}: text classification ({@link ClassifyTask}),
 * character-level language modelling and generation ({@link CharsTask}, {@link Generator}) and
 * time-series forecasting ({@link SeriesTask}). Each trains with a {@link TaskOptions}, writes
 * {@code model.jrnn}, {@code curves.png} and {@code metrics.csv} into its output folder and returns
 * a {@link Report} of held-out metrics next to simple baselines. The {@code jrnn train classify |
 * chars | series} and {@code jrnn generate} commands are thin shells over these classes.
 */
package dev.jrnn.tasks;
