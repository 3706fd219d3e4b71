/**
 * Native training-mode batch norm (ResnetBatchNormTrain / ResnetBatchNormTrainGrad) vs the JS cpu kernels
 * of src/ops/batch_norm_train.ts, and the gradient of the op through tf.grads.
 * Tolerance: relative error <= 1e-4 (float statistics vs the JS reference's double sums); inference
 * batch norm 1e-5 (folded per-channel coefficients vs per-element arithmetic).
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, batchNormTrain } from '../../src/ops/batch_norm_train';
import { callStats } from '../../src/backend/onednn/kernel_helpers/native_kernel';
import {
  addonAvailable,
  assertNativeSince,
  callsSince,
  compare,
  rand,
  relErr,
  skipReason,
  statsSnapshot,
} from './_helpers';
import { useBackendNow } from '../helpers/backend';

const TOL = 1e-4;
const shapes = [
  [2, 5, 5, 3],
  [1, 7, 9, 17],
  [4, 3, 3, 64],
  [3, 11, 11, 130],
  [16, 10],
  [1, 1, 1, 8],
  [64, 6, 6, 33],
];

describe.skipIf(!addonAvailable)(`native batch norm ${skipReason}`, () => {
  it.each(shapes)('forward kernel %j', (...shape) => {
    const c = shape[shape.length - 1];
    const specs = [
      { shape, seed: 1 },
      { shape: [c], seed: 2 },
      { shape: [c], seed: 3 },
    ];
    const err = compare(
      specs,
      (x, s, o) =>
        tf.engine().runKernel(BATCH_NORM_TRAIN, { x, scale: s, offset: o }, { varianceEpsilon: 1e-5 }) as tf.Tensor[],
      [BATCH_NORM_TRAIN],
    );
    expect(err).toBeLessThan(TOL);
  });

  it('forward statistics survive a large mean (shifted sums)', () => {
    const shape = [8, 9, 9, 20];
    const n = shape.reduce((p, q) => p * q, 1);
    const values = Float32Array.from({ length: n }, (_, i) => 1000 + Math.sin(i));
    const err = compare(
      [
        { shape, seed: 0, values },
        { shape: [20], seed: 2 },
        { shape: [20], seed: 3 },
      ],
      (x, s, o) =>
        tf.engine().runKernel(BATCH_NORM_TRAIN, { x, scale: s, offset: o }, { varianceEpsilon: 1e-5 }) as tf.Tensor[],
      [BATCH_NORM_TRAIN],
    );
    expect(err).toBeLessThan(1e-3); // float32 inputs near 1000: 1e-4 relative noise on the centred values
  });

  it.each(shapes)('backward kernel %j', (...shape) => {
    const c = shape[shape.length - 1];
    const specs = [
      { shape, seed: 4 },
      { shape, seed: 5 },
      { shape: [c], seed: 6 },
      { shape: [c], seed: 7 },
      { shape: [c], seed: 8, values: Float32Array.from({ length: c }, (_, i) => 0.5 + (i % 7) / 3) },
    ];
    const err = compare(
      specs,
      (dy, x, s, m, v) =>
        tf
          .engine()
          .runKernel(
            BATCH_NORM_TRAIN_GRAD,
            { dy, x, scale: s, mean: m, variance: v },
            { varianceEpsilon: 1e-5 },
          ) as tf.Tensor[],
      [BATCH_NORM_TRAIN_GRAD],
    );
    expect(err).toBeLessThan(TOL);
  });

  it.each(shapes)('forward and backward kernels with a fused ReLU %j', (...shape) => {
    const c = shape[shape.length - 1];
    const attrs = { varianceEpsilon: 1e-5, relu: true };
    const specs = [
      { shape, seed: 21 },
      { shape, seed: 22 },
      { shape: [c], seed: 23 },
      { shape: [c], seed: 24 },
    ];
    const err = compare(
      specs,
      (x, dy, s, o) => {
        const [y, mean, variance] = tf
          .engine()
          .runKernel(BATCH_NORM_TRAIN, { x, scale: s, offset: o }, attrs) as tf.Tensor[];
        const grads = tf
          .engine()
          .runKernel(BATCH_NORM_TRAIN_GRAD, { dy, x, scale: s, mean, variance, y }, attrs) as tf.Tensor[];
        return [y, mean, variance, ...grads];
      },
      [BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD],
    );
    expect(err).toBeLessThan(TOL);
  });

  it('BN with relu: the same values and gradients as tf.relu after BN, natively, with no Relu kernel', () => {
    const shape = [8, 7, 7, 40];
    const dyv = rand(8 * 7 * 7 * 40, 31);
    const run = (fusedRelu: boolean) =>
      tf.tidy(() => {
        const x = tf.tensor4d(rand(dyv.length, 32), shape as [number, number, number, number]);
        const s = tf.tensor1d(rand(40, 33).map((v) => 1 + v / 2));
        const o = tf.tensor1d(rand(40, 34));
        const dy = tf.tensor4d(dyv, shape as [number, number, number, number]);
        const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
          const { y, mean, variance } = batchNormTrain(a, b as tf.Tensor1D, c as tf.Tensor1D, 1e-5, fusedRelu);
          tf.dispose([mean, variance]);
          return fusedRelu ? y : tf.relu(y);
        };
        const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          tf.sum(tf.mul(f(a, b, c), dy)),
        )([x, s, o]);
        return [f(x, s, o), value, ...grads].map((t) => t.dataSync().slice());
      });
    useBackendNow('onednn');
    const before = statsSnapshot();
    const fused = run(true);
    assertNativeSince(before, [BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD]);
    expect(callsSince(before, 'Relu')).toEqual({ native: 0, fallback: 0 });
    expect(callsSince(before, 'ResnetReluGrad')).toEqual({ native: 0, fallback: 0 });
    const unfused = run(false);
    expect(fused[0].some((v) => v === 0) && fused[0].some((v) => v > 0)).toBe(true); // the mask does something
    // Same float operations in the same order: identical outputs; gradients identical up to the order of sums.
    expect(Array.from(fused[0])).toEqual(Array.from(unfused[0]));
    for (let i = 1; i < fused.length; i++) expect(relErr(fused[i], unfused[i]), `output ${i}`).toBeLessThan(1e-6);
  });

  it.each(shapes)('inference tf.batchNorm (FusedBatchNorm) %j', (...shape) => {
    const c = shape[shape.length - 1];
    const variance = Float32Array.from({ length: c }, (_, i) => 0.2 + (i % 5));
    const specs = [
      { shape, seed: 12 },
      { shape: [c], seed: 13 },
      { shape: [c], seed: 14, values: variance },
      { shape: [c], seed: 15 },
      { shape: [c], seed: 16 },
    ];
    expect(
      compare(
        specs,
        (x, m, v, o, s) => [tf.batchNorm(x, m, v, o, s, 1e-5), tf.batchNorm(x, m, v, undefined, undefined, 1e-3)],
        ['FusedBatchNorm'],
      ),
    ).toBeLessThan(1e-5);
  });

  it('gradients through batchNormTrain (x, scale, offset) match cpu and run natively', () => {
    callStats.clear();
    const shape = [4, 6, 6, 24];
    const specs = [
      { shape, seed: 9 },
      { shape: [24], seed: 10 },
      { shape: [24], seed: 11 },
    ];
    const err = compare(
      specs,
      (x, s, o) =>
        tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
          const { y } = batchNormTrain(a, b as tf.Tensor1D, c as tf.Tensor1D, 1e-5);
          return tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, y.size), y.shape))));
        })([x, s, o]),
      [BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD],
    );
    expect(err).toBeLessThan(TOL);
    expect(callStats.get(BATCH_NORM_TRAIN)?.native).toBe(1);
    expect(callStats.get(BATCH_NORM_TRAIN_GRAD)?.native).toBe(1);
  });
});
