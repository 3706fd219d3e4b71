/**
 * Winograd F(2x2, 3x3) convolutions (native/src/conv_winograd.cc) vs tfjs's JS cpu kernels, forward, fused
 * (bias, relu) and both gradients, with the Winograd entry points counted so a silent detour through the
 * direct kernels fails. Tolerance as conv.test.ts: relative error <= 1e-4 (the transforms add a few
 * roundings per output; measured ~1e-6).
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { ConvParams, OneDnnAddon } from '../../src/backend/onednn/addon';
import { loadAddon } from '../../src/backend/onednn/addon';
import { convParams } from '../../src/backend/onednn/kernel_helpers/conv_common';
import { setConvAlgorithm } from '../../src/backend/onednn/conv_method_choice';
import { addonAvailable, compare, ConvCase, convCaseName, rand, relErr, skipReason } from './_helpers';

const TOL = 1e-4;
const ENTRY_POINTS = ['conv2dForwardWinograd', 'conv2dBackwardDataWinograd', 'conv2dBackwardWeightsWinograd'] as const;
type Entry = (typeof ENTRY_POINTS)[number];

/** 3x3, stride 1: the convolutions Winograd F(2x2, 3x3) computes. */
type Case = Omit<ConvCase, 'k' | 's'>;

const cases: Case[] = [
  { n: 2, h: 9, w: 9, cin: 3, cout: 5, pad: 1 }, // odd map: the last tile row and column are half outside
  { n: 1, h: 8, w: 8, cin: 16, cout: 32, pad: 'same' },
  { n: 3, h: 7, w: 10, cin: 6, cout: 4, pad: 'valid' }, // no padding: 5x8 outputs
  { n: 1, h: 1, w: 1, cin: 5, cout: 7, pad: 1 }, // a single output from the centre tap
  { n: 2, h: 2, w: 3, cin: 4, cout: 3, pad: 1 },
  {
    n: 2,
    h: 9,
    w: 8,
    cin: 6,
    cout: 10,
    pad: [
      [0, 0],
      [2, 0],
      [1, 2],
      [0, 0],
    ],
  },
  { n: 1, h: 12, w: 12, cin: 1, cout: 9, pad: 1 }, // one input channel
  { n: 67, h: 4, w: 4, cin: 9, cout: 11, pad: 1 }, // 268 tiles: chunks of 64 and a short last one
  { n: 3, h: 6, w: 7, cin: 96, cout: 80, pad: 1 }, // wide: long sums in each of the 16 GEMMs
];

const name = (c: Case) => convCaseName({ ...c, k: 3, s: 1 });

describe.skipIf(!addonAvailable)(`native Winograd F(2x2, 3x3) conv2d ${skipReason}`, () => {
  const calls = new Map<Entry, number>();
  const restore: [Entry, unknown][] = [];

  beforeAll(() => {
    setConvAlgorithm('winograd');
    const a = loadAddon().addon as unknown as Record<Entry, (...args: unknown[]) => void>;
    for (const e of ENTRY_POINTS) {
      const original = a[e];
      restore.push([e, original]);
      a[e] = (...args: unknown[]) => {
        calls.set(e, (calls.get(e) ?? 0) + 1);
        original(...args);
      };
    }
  });
  afterAll(() => {
    setConvAlgorithm('auto');
    const a = loadAddon().addon as unknown as Record<Entry, unknown>;
    for (const [e, f] of restore) a[e] = f;
  });
  beforeEach(() => calls.clear());

  const called = (e: Entry) => calls.get(e) ?? 0;

  it.each(cases)('forward $n $h $w $cin $cout', (c) => {
    const specs = [
      { shape: [c.n, c.h, c.w, c.cin], seed: 1 },
      { shape: [3, 3, c.cin, c.cout], seed: 2 },
    ];
    const err = compare(specs, (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, c.pad as 'same'), ['Conv2D']);
    expect(err, name(c)).toBeLessThan(TOL);
    expect(called('conv2dForwardWinograd'), name(c)).toBe(1);
  });

  it.each(cases)('fused (bias, relu) $n $h $w $cin $cout', (c) => {
    const specs = [
      { shape: [c.n, c.h, c.w, c.cin], seed: 3 },
      { shape: [3, 3, c.cin, c.cout], seed: 4 },
      { shape: [c.cout], seed: 5 },
    ];
    for (const activation of ['linear', 'relu'] as const) {
      const err = compare(
        specs,
        (x, w, b) =>
          tf.fused.conv2d({
            x: x as tf.Tensor4D,
            filter: w as tf.Tensor4D,
            strides: 1,
            pad: c.pad as 'same',
            bias: b,
            activation,
          }),
        ['FusedConv2D'],
      );
      expect(err, `${name(c)} ${activation}`).toBeLessThan(TOL);
    }
    expect(called('conv2dForwardWinograd'), name(c)).toBe(2);
  });

  it.each(cases)('gradients dx, dw $n $h $w $cin $cout', (c) => {
    const specs = [
      { shape: [c.n, c.h, c.w, c.cin], seed: 6 },
      { shape: [3, 3, c.cin, c.cout], seed: 7 },
    ];
    const err = compare(
      specs,
      (x, w) => {
        const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, c.pad as 'same');
        const y = conv(x, w);
        const dy = tf.sin(tf.reshape(tf.range(0, y.size), y.shape)); // non-uniform upstream gradient
        return tf.grads(conv)([x, w], dy);
      },
      ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'],
    );
    expect(err, name(c)).toBeLessThan(TOL);
    expect(called('conv2dBackwardDataWinograd'), name(c)).toBe(1);
    expect(called('conv2dBackwardWeightsWinograd'), name(c)).toBe(1);
  });

  it('is deterministic: the filter gradient sums its chunks in the same order every call', () => {
    const p = params(64, 11, 11, 32, 48);
    const x = rand(64 * 11 * 11 * 32, 11),
      dy = rand(64 * 11 * 11 * 48, 12);
    const a = loadAddon().addon as OneDnnAddon;
    const dw1 = new Float32Array(9 * 32 * 48),
      dw2 = new Float32Array(dw1.length),
      ref = new Float32Array(dw1.length);
    a.conv2dBackwardWeightsWinograd(x, dy, dw1, p);
    a.conv2dBackwardWeightsWinograd(x, dy, dw2, p);
    expect(Buffer.from(dw2.buffer).equals(Buffer.from(dw1.buffer))).toBe(true);
    a.conv2dBackwardWeights(x, dy, ref, p); // and agrees with oneDNN's direct kernel over 7744 tiles
    expect(relErr(dw1, ref)).toBeLessThan(TOL);
  });

  it('refuses what it cannot compute, naming why', () => {
    const a = loadAddon().addon as OneDnnAddon;
    const x = new Float32Array(2 * 8 * 8 * 4),
      w = new Float32Array(9 * 4 * 4),
      y = new Float32Array(2 * 4 * 4 * 4);
    const strided = { ...params(2, 8, 8, 4, 4), strideHeight: 2, strideWidth: 2, outHeight: 4, outWidth: 4 };
    expect(() => a.conv2dForwardWinograd(x, w, null, y, strided)).toThrow(/winograd: only 3x3 filters, stride 1/);
    expect(() => a.conv2dForwardWinograd(x, w, null, y, { ...params(2, 8, 8, 4, 4), precision: 1 })).toThrow(
      /winograd: bf16/,
    );
    expect(() => a.conv2dBackwardWeightsWinograd(x, y, w, { ...params(2, 8, 8, 4, 4), outHeight: 5 })).toThrow(
      /winograd: output size/,
    );
  });
});

/** ConvParams of a 3x3, stride-1, 'same' convolution (via the kernels' own mapping from tfjs's Conv2DInfo). */
function params(n: number, h: number, w: number, cin: number, cout: number): ConvParams {
  const ci = tf.backend_util.computeConv2DInfo([n, h, w, cin], [3, 3, cin, cout], 1, 1, 'same');
  const p = convParams(ci);
  if (!p) throw new Error('no ConvParams');
  return p;
}
