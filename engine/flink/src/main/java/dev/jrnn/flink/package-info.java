/**
 * jrnn on Apache Flink: each key's recurrent state (h and c of every layer) kept in Flink keyed
 * state, checkpointed and restored with the job, advanced by {@code Session.step} one event at a
 * time ({@link dev.jrnn.flink.RecurrentStateFunction}) or with many keys' steps in one batched step
 * ({@link dev.jrnn.flink.BatchedRecurrentStateOperator}); both run a {@link
 * dev.jrnn.flink.RecurrentSpec}.
 */
package dev.jrnn.flink;
