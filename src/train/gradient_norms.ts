/**
 * How strongly the loss reaches each layer: the L2 norm of the gradient with respect to every
 * convolution and dense weight, for one batch, in forward order. The degradation experiment
 * plots it per layer for plain and residual nets.
 */
import * as tf from '@tensorflow/tfjs-core';
import '../tfjs_setup';
import type { Module } from '../nn/module';
import { softmaxCrossEntropy } from './metrics';

export interface LayerGradientNorm {
  /** 1-based position among the weighted layers, input side first. */
  layer: number;
  /** The weight's path in the net, e.g. "net.1.0.conv1.weight". */
  name: string;
  /** ||dLoss/dW||_2 over the whole weight tensor. */
  norm: number;
}

/**
 * Gradient norms of a batch's mean loss with respect to every `*.weight` variable (the forward
 * pass in training mode, as during a training step). Nothing is updated: batch norm's running
 * averages, which a training-mode pass moves, are put back afterwards.
 */
export function gradientNorms(
  net: Module,
  batch: { x: tf.Tensor; y: tf.Tensor1D },
  loss: (logits: tf.Tensor, labels: tf.Tensor1D) => tf.Scalar = softmaxCrossEntropy,
): LayerGradientNorm[] {
  net.ensureBuilt(batch.x.shape.slice(1));
  const named = net.namedVariables();
  const weights = named.filter(([name, v]) => v.trainable && /(^|\.)weight$/.test(name));
  if (weights.length === 0) throw new Error('gradientNorms: the net has no variable named *.weight');
  const frozen = named.filter(([, v]) => !v.trainable).map(([, v]) => [v, tf.clone(v)] as const);
  try {
    return tf.tidy(() => {
      const { grads } = tf.variableGrads(
        () => loss(net.apply(batch.x, { training: true }), batch.y),
        weights.map(([, v]) => v),
      );
      return weights.map(([name, v], i) => ({
        layer: i + 1,
        name,
        norm: tf.norm(grads[v.name]).dataSync()[0],
      }));
    });
  } finally {
    for (const [v, saved] of frozen) {
      v.assign(saved);
      saved.dispose();
    }
  }
}
