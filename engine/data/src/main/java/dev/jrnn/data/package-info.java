/**
 * Data utilities: text and series into tensors for training and inference. Depends on the public
 * API ({@code dev.jrnn}) only.
 */
package dev.jrnn.data;
