/** What training and evaluation need from a data set (Fashion-MNIST's iterators satisfy it). */
import type * as tf from '@tensorflow/tfjs-core';

export interface Batch {
  /** Images, NHWC float32 (Fashion-MNIST: [B, H, W, 1] in [0, 1]). The consumer disposes both tensors. */
  x: tf.Tensor4D;
  /** Integer class labels, [B] (Fashion-MNIST: int32 class ids). */
  y: tf.Tensor1D;
}

export interface BatchSource {
  readonly numExamples: number;
  readonly numBatches: number;
  /** The batches of one epoch; training sources reshuffle per epoch, deterministically. */
  epoch(epoch: number): Iterable<Batch>;
}
