/**
 * The comparisons cannot pass on a broken addon: nativeKernel turns a native exception into a silent JS
 * fallback, so compare() must notice the fallback. Each addon function below is made to throw (patched on
 * the loaded addon object) and the same comparison that passes unpatched must then fail.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { loadAddon, OneDnnAddon } from '../../src/backend/onednn/addon';
import { CONV_ENTRY_POINTS } from '../../src/backend/onednn/kernel_helpers/conv_common';
import { addonAvailable, compare, NativeExpectation, skipReason, Spec } from './_helpers';

type Case = [keyof OneDnnAddon, Spec[], (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[], string[]];

const x4 = { shape: [2, 8, 8, 6], seed: 1 };
const cases: Case[] = [
  [
    'conv2dForward',
    [x4, { shape: [3, 3, 6, 8], seed: 2 }],
    (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'),
    ['Conv2D'],
  ],
  ['maxPool', [x4], (x) => tf.maxPool(x as tf.Tensor4D, 3, 2, 'same'), ['MaxPool']],
  [
    'avgPoolGrad',
    [x4],
    (x) => tf.grad((a: tf.Tensor) => tf.sum(tf.square(tf.avgPool(a as tf.Tensor4D, 2, 2, 'valid'))))(x),
    ['AvgPool', 'AvgPoolGrad'],
  ],
  ['binary', [x4, { shape: [6], seed: 3 }], tf.add, ['Add']],
  ['unary', [x4], tf.exp, ['Exp']],
  [
    'matMul',
    [
      { shape: [5, 7], seed: 4 },
      { shape: [7, 3], seed: 5 },
    ],
    (a, b) => tf.matMul(a, b),
    ['BatchMatMul'],
  ],
  ['sumLeading', [x4], (x) => tf.sum(x, [0, 1, 2]), ['Sum']],
  [
    'channelAffine',
    [x4, { shape: [6], seed: 6 }, { shape: [6], seed: 7, values: new Float32Array(6).fill(0.5) }],
    (x, m, v) => tf.batchNorm(x, m, v),
    ['FusedBatchNorm'],
  ],
  ['resizeBilinear', [x4], (x) => tf.image.resizeBilinear(x as tf.Tensor4D, [5, 11]), ['ResizeBilinear']],
  [
    'reluGrad',
    [x4, { shape: x4.shape, seed: 8 }],
    (x, dy) => tf.grad((a: tf.Tensor) => tf.relu(a))(x, dy),
    ['Relu', 'ResnetReluGrad'],
  ],
];

describe.skipIf(!addonAvailable)(`compare() fails when a native kernel fails ${skipReason}`, () => {
  const patched: [Record<string, unknown>, string, unknown][] = [];
  afterEach(() => {
    for (const [obj, key, orig] of patched.splice(0)) obj[key] = orig;
    vi.restoreAllMocks();
  });

  /** Makes `fn` throw; for a convolution, every method of its pass (whichever one was chosen for the shape). */
  function makeThrow(fn: keyof OneDnnAddon): void {
    const a = loadAddon().addon as unknown as Record<string, unknown>;
    const pass = Object.values(CONV_ENTRY_POINTS).find((methods) => Object.values(methods).includes(fn as never));
    for (const name of pass ? Object.values(pass) : [fn]) {
      patched.push([a, name, a[name]]);
      a[name] = () => {
        throw new Error(`test: ${name} made to throw`);
      };
      expect(() => (a[name] as () => void)()).toThrow(/made to throw/);
    }
  }

  it.each(cases)('%s', (fn, specs, f, kernels) => {
    expect(compare(specs, f, kernels)).toBeLessThan(1e-5); // passes with the real addon
    vi.spyOn(console, 'warn').mockImplementation(() => {}); // nativeKernel's one-time fallback warning
    makeThrow(fn);
    expect(() => compare(specs, f, kernels)).toThrow(/expected native calls only|made to throw/);
  });

  it('a fallback the test declares is allowed (and only then)', () => {
    const specs = [x4];
    const f = (x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, 3, 2, 'same');
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    makeThrow('maxPool');
    const declared: NativeExpectation = { fallbackExpected: 'this test breaks maxPool on purpose' };
    expect(compare(specs, f, declared)).toBe(0);
    expect(() => compare(specs, f, ['MaxPool'])).toThrow(/MaxPool: 0 native, 1 fallback/);
    expect(() => compare(specs, f, { fallbackExpected: '' })).toThrow(/say why/);
    expect(() => compare(specs, f, [])).toThrow(/name the kernels/);
  });
});
