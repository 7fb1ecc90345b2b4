/**
 * jrnn on Apache Spark: {@link dev.jrnn.spark.JrnnTransformer}, a Spark ML transformer that scores
 * a DataFrame's sequences with one session per executor JVM ({@link
 * dev.jrnn.spark.ExecutorSessions}), and {@link dev.jrnn.spark.DataParallelTrainer}, synchronous
 * data-parallel training that averages the partitions' gradients every step. Spark is a {@code
 * provided} dependency; everything else goes through jrnn's public API.
 */
package dev.jrnn.spark;
