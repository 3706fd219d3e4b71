/**
 * Back-end capabilities: updates of variables done in place, many variables per call, instead of a
 * handful of tfjs kernels and new tensors per variable. `onednn` offers them (native/src/in_place.cc);
 * callers fall back to tfjs's ops when the back end has no such method or declines. Results must
 * equal tfjs's ops bit for bit in float32.
 *  - sgdUpdateInPlace: the optimizer update of a training step (weight decay, then tfjs's SGD or
 *    momentum rule); used by src/train/optimizer_step.ts.
 *  - movingAverageInPlace: target = target * m + value * (1 - m); batch norm's running statistics.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface InPlaceSgdUpdate {
  /** Updated in place. */
  params: tf.Tensor[];
  grads: tf.Tensor[];
  /** Momentum accumulators, updated in place; null for plain SGD. */
  accums: tf.Tensor[] | null;
  /** Per variable: grad += decay * param first (0: none). */
  decays: number[];
  learningRate: number;
  /** The momentum as the optimizer holds it (0 for plain SGD). */
  momentum: number;
  nesterov: boolean;
}

/**
 * Each method applies the update and returns true, or returns false without touching anything when
 * it cannot (a tensor that is not float32, or whose memory is shared with another tensor: a clone of
 * a variable must not change with it).
 */
export interface InPlaceUpdatesBackend {
  sgdUpdateInPlace(u: InPlaceSgdUpdate): boolean;
  movingAverageInPlace(targets: tf.Tensor[], values: tf.Tensor[], momentum: number): boolean;
}

export function hasInPlaceUpdates(backend: unknown): backend is InPlaceUpdatesBackend {
  const b = backend as Partial<InPlaceUpdatesBackend> | null;
  return typeof b?.sgdUpdateInPlace === 'function' && typeof b.movingAverageInPlace === 'function';
}

/** targets[k] = targets[k] * momentum + values[k] * (1 - momentum), in place where the back end can, else with tfjs ops. */
export function updateMovingAverages(targets: tf.Variable[], values: tf.Tensor[], momentum: number): void {
  const backend = tf.backend();
  if (hasInPlaceUpdates(backend) && backend.movingAverageInPlace(targets, values, momentum)) return;
  tf.tidy(() => {
    targets.forEach((t, k) => t.assign(tf.add(tf.mul(t, momentum), tf.mul(values[k], 1 - momentum))));
  });
}
