/**
 * Batch-norm recalibration ("precise BN"): replace every BatchNorm's running averages with the
 * plain average of its batch statistics over `batches` training batches, the weights unchanged.
 *
 * Why: after training at a constant learning rate, the running averages (momentum 0.9) mostly
 * describe the last ~10 batches, seen by slightly different weights; test accuracy measured with
 * them is a noisy estimate of what the final weights can do. Recalibrating separates the two.
 * The seed's recipe does not do this; it is a diagnostic and an option, not the default.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm } from '../nn/layers';
import type { Module } from '../nn/module';
import type { BatchSource } from './batches';

function batchNorms(m: Module): BatchNorm[] {
  const own = m instanceof BatchNorm ? [m] : [];
  return [...own, ...m.children().flatMap(([, c]) => batchNorms(c))];
}

/**
 * Runs `net` in training mode (no weight update) over the first `batches` batches of `data`'s
 * epoch `epoch`; batch k enters each running average with weight 1/(k+1), so afterwards the
 * running mean and variance are the means of the per-batch statistics. Returns the batch count used.
 */
export function recalibrateBatchNorm(net: Module, data: BatchSource, batches: number, epoch = 0): number {
  if (!(Number.isInteger(batches) && batches >= 1))
    throw new Error(`recalibrateBatchNorm: batches must be an integer >= 1, got ${batches}`);
  const bns = batchNorms(net);
  if (bns.length === 0) throw new Error('recalibrateBatchNorm: the model has no BatchNorm layers');
  const saved = bns.map((b) => b.momentum);
  let k = 0;
  try {
    for (const { x, y } of data.epoch(epoch)) {
      net.ensureBuilt(x.shape.slice(1));
      for (const b of bns) b.momentum = k / (k + 1);
      tf.tidy(() => {
        net.apply(x, { training: true });
      });
      tf.dispose([x, y]);
      if (++k === batches) break;
    }
  } finally {
    bns.forEach((b, i) => {
      b.momentum = saved[i];
    });
  }
  return k;
}
