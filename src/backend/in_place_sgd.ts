/**
 * A back-end capability: the whole optimizer update of a training step (weight decay, then tfjs's SGD
 * or momentum rule) done in place, in one call, instead of ~6 kernels and 2 new tensors per variable.
 * `onednn` offers it; src/train/optimizer_step.ts uses it when the back end has it and falls back to
 * tfjs's own optimizer otherwise. Results must equal tfjs's optimizers bit for bit in float32.
 */
import type { Tensor } from '@tensorflow/tfjs-core';

export interface InPlaceSgdUpdate {
  /** Updated in place. */
  params: Tensor[];
  grads: Tensor[];
  /** Momentum accumulators, updated in place; null for plain SGD. */
  accums: Tensor[] | null;
  /** Per variable: grad += decay * param first (0: none). */
  decays: number[];
  learningRate: number;
  /** The momentum as the optimizer holds it (0 for plain SGD). */
  momentum: number;
  nesterov: boolean;
}

export interface InPlaceSgdBackend {
  /**
   * Applies the update and returns true, or returns false without touching anything when it cannot
   * (a tensor that is not float32, or whose memory is shared with another tensor: a clone of a
   * variable must not change with it).
   */
  sgdUpdateInPlace(u: InPlaceSgdUpdate): boolean;
}

export function hasInPlaceSgd(backend: unknown): backend is InPlaceSgdBackend {
  return typeof (backend as Partial<InPlaceSgdBackend>)?.sgdUpdateInPlace === 'function';
}
