/**
 * Native element-wise and reduction kernels vs tfjs cpu, including the broadcasting patterns handled
 * natively (same shape, scalar, trailing axes) and JS fallback for everything else.
 * Tolerances: exact-ish ops 1e-6 relative; Sum 1e-5 (float partial sums vs JS double accumulation);
 * transcendental ops 1e-6.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import { callStats } from '../../src/backend/onednn/kernel_helpers/native_kernel';
import { addonAvailable, compare, skipReason } from './_helpers';

const binaryOps: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
  ['add', tf.add], ['sub', tf.sub], ['mul', tf.mul], ['div', tf.div], ['maximum', tf.maximum],
  ['minimum', tf.minimum], ['squaredDifference', tf.squaredDifference],
];
const shapePairs: [number[], number[]][] = [
  [[2, 3, 4, 5], [2, 3, 4, 5]], // same
  [[64, 7, 7, 33], [33]], // bias over last axis
  [[33], [5, 7, 33]], // reversed
  [[3, 4, 5], []], // scalar
  [[], [3, 4, 5]],
  [[2, 9, 17], [1, 9, 17]], // trailing block with leading 1
  [[100003], [100003]], // odd length, multi-threaded
  [[600, 70], [70]], // multi-threaded periodic
];

describe.skipIf(!addonAvailable)(`native element-wise ${skipReason}`, () => {
  for (const [name, op] of binaryOps) {
    it.each(shapePairs)(`${name} %j %j`, (sa, sb) => {
      const specs = [{ shape: sa, seed: 1 }, { shape: sb, seed: 2 }];
      expect(compare(specs, op)).toBeLessThan(1e-6);
    });
  }

  it('falls back to JS for int32 and for middle-axis broadcasting', () => {
    callStats.clear();
    expect(compare([{ shape: [4, 5], seed: 1, dtype: 'int32' }, { shape: [4, 5], seed: 2, dtype: 'int32' }],
      tf.add)).toBe(0);
    expect(compare([{ shape: [4, 5, 6], seed: 1 }, { shape: [4, 1, 6], seed: 2 }], tf.mul)).toBeLessThan(1e-6);
    expect(compare([{ shape: [4, 1], seed: 1 }, { shape: [1, 6], seed: 2 }], tf.sub)).toBeLessThan(1e-6);
    expect(callStats.get('Add')).toEqual({ native: 0, fallback: 1 });
    expect(callStats.get('Multiply')).toEqual({ native: 0, fallback: 1 });
    expect(callStats.get('Sub')).toEqual({ native: 0, fallback: 1 });
  });

  it('a kernel without a native version runs the copied JS kernel (Tanh, Softmax)', () => {
    expect(compare([{ shape: [7, 13], seed: 3 }], (x) => [tf.tanh(x), tf.softmax(x)])).toBeLessThan(1e-6);
    expect(tf.getKernel('Tanh', 'onednn')).toBeDefined();
  });

  const unary: [string, (x: tf.Tensor) => tf.Tensor, number[]][] = [
    ['relu', tf.relu, [3, 5, 7, 9]], ['step', (x) => tf.step(x, 0.25), [1000, 33]], ['neg', tf.neg, [17]],
    ['square', tf.square, [40000, 3]], ['abs', tf.abs, [5, 5]],
    ['sqrt', (x) => tf.sqrt(tf.abs(x)), [9, 31]], ['rsqrt', (x) => tf.rsqrt(tf.add(tf.abs(x), 0.1)), [9, 31]],
    ['exp', tf.exp, [123, 45]], ['log', (x) => tf.log(tf.add(tf.abs(x), 1e-3)), [123, 45]],
  ];
  it.each(unary)('%s', (_n, op, shape) => {
    expect(compare([{ shape, seed: 4 }], op)).toBeLessThan(1e-6);
  });

  it('relu and step keep NaN like tfjs', () => {
    const values = Float32Array.from([NaN, -1, 0, 2, -0.5, NaN]);
    expect(compare([{ shape: [6], seed: 0, values }], (x) => [tf.relu(x), tf.step(x, 0.1)])).toBe(0);
  });

  const sums: [number[], number | number[], boolean][] = [
    [[64, 11, 11, 128], [0, 1, 2], false], // bias gradient
    [[3, 5, 7, 9], [0, 1, 2], true],
    [[1000, 17], 0, false],
    [[5, 7, 9], [1, 2], false], // trailing
    [[6, 100], -1, true],
    [[4, 5, 6], [0, 1, 2], false], // everything
    [[4, 5, 6], 1, false], // middle: fallback
  ];
  it.each(sums)('sum %j axis %j keepDims %s', (shape, axis, keepDims) => {
    expect(compare([{ shape, seed: 5 }], (x) => tf.sum(x, axis, keepDims))).toBeLessThan(1e-5);
  });
});
