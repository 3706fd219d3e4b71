/**
 * Predictions as a person reads them: the k most probable classes of each image with their
 * softmax probabilities (the demo page's top-3, a notebook's sample grid). Browser-safe.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Module } from './nn/module';
import { TEXT_LABELS } from './data/labels';

export interface Prediction {
  /** Class id (0..9 for Fashion-MNIST). */
  label: number;
  /** The class's name (TEXT_LABELS), or the id as text when the net has other classes. */
  className: string;
  probability: number;
}

/** The top `k` classes per image of a batch [n, h, w, c], most probable first (inference mode). */
export function predictTopK(
  net: Module,
  images: tf.Tensor,
  k = 3,
  classNames: readonly string[] = TEXT_LABELS,
): Prediction[][] {
  if (images.rank !== 4)
    throw new Error(
      `predictTopK: images must be a batch [n, height, width, channels]; got shape [${images.shape.join(', ')}]`,
    );
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`predictTopK: k must be an integer >= 1, got ${k}`);
  const probs = tf.tidy(() => tf.softmax(net.apply(images, { training: false })));
  const [n, classes] = probs.shape;
  const values = probs.dataSync();
  probs.dispose();
  const out: Prediction[][] = [];
  for (let i = 0; i < n; i++) {
    const row = Array.from(values.subarray(i * classes, (i + 1) * classes), (p, label) => ({
      label,
      className: classNames[label] ?? String(label),
      probability: p,
    }));
    out.push(row.sort((a, b) => b.probability - a.probability || a.label - b.label).slice(0, Math.min(k, classes)));
  }
  return out;
}
