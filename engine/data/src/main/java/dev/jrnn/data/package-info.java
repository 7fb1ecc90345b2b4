/**
 * Data utilities: text and series into tensors for training and inference. Depends on the public
 * API ({@code dev.jrnn}) only.
 *
 * <ul>
 *   <li>Text: {@link dev.jrnn.data.Tokenizer} (characters or words to ids and back, saved with a
 *       model), {@link dev.jrnn.data.Padding} and {@link dev.jrnn.data.Padded} (id sequences to I32
 *       {@code [T, N]} tokens, I32 {@code [N]} lengths, F32 masks), {@link dev.jrnn.data.Labels}
 *       (class names to ids and targets), {@link dev.jrnn.data.Email} (headers and body).
 *   <li>Series: {@link dev.jrnn.data.Windows} (sequence-to-one windows as F32 {@code [T, N, 1]}
 *       inputs and {@code [N, 1]} targets), {@link dev.jrnn.data.Normalizer} (z-score, saved with a
 *       model).
 *   <li>Batching and splits: {@link dev.jrnn.data.Batching} (in order, shuffled, bucketed by
 *       length), {@link dev.jrnn.data.Splits} (seeded train/validation/test, stratified).
 *   <li>Files: {@link dev.jrnn.data.TextCsv}, {@link dev.jrnn.data.SeriesCsv}, {@link
 *       dev.jrnn.data.TextFile}, and {@link dev.jrnn.data.Datasets}, the default data sets that
 *       {@code make data} installs.
 * </ul>
 *
 * Everything is immutable or stateless; every tensor a method returns is new and owned by the
 * caller. Bad input is an {@link java.lang.IllegalArgumentException} whose message names the
 * problem (file, line, column, the names present); a file that cannot be read is an {@link
 * java.io.UncheckedIOException} naming it.
 */
package dev.jrnn.data;
