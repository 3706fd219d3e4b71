import * as tf from '@tensorflow/tfjs-core';
import type { Module } from '../nn/module';
import type { BatchSource } from './batches';
import { countCorrect } from './metrics';

/** Accuracy of `net` (inference mode) over every batch of `data` (the seed's utils.evaluate_accuracy). */
export function evaluateAccuracy(data: BatchSource, net: Module): number {
  let correct = 0;
  let n = 0;
  for (const { x, y } of data.epoch(0)) {
    net.ensureBuilt(x.shape.slice(1));
    const c = tf.tidy(() => countCorrect(net.apply(x, { training: false }), y));
    correct += c.dataSync()[0];
    n += y.shape[0];
    tf.dispose([x, y, c]);
  }
  if (n === 0) throw new Error('evaluateAccuracy: the data source yielded no examples');
  return correct / n;
}
