/** Test images with their true and predicted labels, for `imageGridSpec`. */
import * as tf from '@tensorflow/tfjs-core';
import { getTextLabels } from '../data/fashion_mnist';
import type { Module } from '../nn/module';
import type { BatchSource } from '../train/batches';
import type { GridImage } from './specs';

/**
 * Runs `net` (inference mode) on the first `n` images of `data` (first batches of epoch 0) and
 * returns them with "true" and "predicted" labels (text labels of Fashion-MNIST by default).
 */
export function samplePredictions(
  net: Module,
  data: BatchSource,
  n = 16,
  labelText: (ids: number[]) => string[] = getTextLabels,
): GridImage[] {
  const out: GridImage[] = [];
  for (const { x, y } of data.epoch(0)) {
    const take = Math.min(n - out.length, y.shape[0]);
    const pred = tf.tidy(() => tf.argMax(net.apply(x, { training: false }), 1));
    const predIds = Array.from(pred.dataSync()).slice(0, take);
    const trueIds = Array.from(y.dataSync()).slice(0, take);
    const pixels = x.dataSync();
    const [, h, w] = x.shape;
    const truth = labelText(trueIds),
      guess = labelText(predIds);
    for (let i = 0; i < take; i++) {
      out.push({
        pixels: pixels.slice(i * h * w, (i + 1) * h * w),
        height: h,
        width: w,
        label: truth[i],
        sublabel: guess[i],
        correct: trueIds[i] === predIds[i],
      });
    }
    tf.dispose([x, y, pred]);
    if (out.length >= n) break;
  }
  return out;
}
