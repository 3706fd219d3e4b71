/**
 * Networks with weights that make a numeric comparison mean something: seeded initial weights and
 * batch norms that are not the identity (random scale and shift, running statistics of one
 * training-mode batch), so a crossing that drops, misplaces or misfolds a batch norm shows.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm } from '../../src/nn/layers';
import type { Module } from '../../src/nn/module';

export function batchNorms(m: Module, out: BatchNorm[] = []): BatchNorm[] {
  if (m instanceof BatchNorm) out.push(m);
  for (const [, c] of m.children()) batchNorms(c, out);
  return out;
}

/**
 * Gives every batch norm of a built network a random affine (gamma in [0.5, 1.5], beta ~ N(0, 0.1))
 * and the running statistics of one training-mode pass over `batch` (default: 16 standard normal
 * inputs of the network's input shape).
 */
export function randomizeBatchNorms(net: Module, seed: number, batch?: tf.Tensor): void {
  const bns = batchNorms(net);
  bns.forEach((bn, i) => {
    const [[, gamma], [, beta]] = bn.namedVariables();
    gamma.assign(tf.randomUniform(gamma.shape, 0.5, 1.5, 'float32', seed + i));
    beta.assign(tf.randomNormal(beta.shape, 0, 0.1, 'float32', seed + 1000 + i));
    bn.momentum = 0;
  });
  tf.tidy(() => {
    const x = batch ?? tf.randomNormal([16, ...net.inputShape!], 0, 1, 'float32', seed + 7);
    net.apply(x, { training: true });
  });
  for (const bn of bns) bn.momentum = 0.9;
}
