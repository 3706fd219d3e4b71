/**
 * Native convolutions vs tfjs's JS cpu kernels. Tolerance: relative error (see _helpers) <= 1e-4 for f32
 * forward/backward convolutions (different summation orders over up to 7*7*C terms).
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ConvParams } from '../../src/backend/onednn/addon';
import { loadAddon } from '../../src/backend/onednn/addon';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import {
  bf16Stamp,
  convKernelOptions,
  convParams,
  convPrecision,
  setConvPrecision,
} from '../../src/backend/onednn/kernel_helpers/conv_common';
import { ConvAlgorithm, setConvAlgorithm } from '../../src/backend/onednn/conv_method_choice';
import { callStats } from '../../src/backend/onednn/kernel_helpers/native_kernel';
import { addonAvailable, compare, ConvCase, convCaseName, rand, skipReason } from './_helpers';
import { useBackendNow } from '../helpers/backend';

const TOL = 1e-4;

type Case = ConvCase;

const cases: Case[] = [
  { n: 1, h: 9, w: 9, cin: 3, cout: 5, k: 3, s: 1, pad: 1 },
  { n: 2, h: 11, w: 7, cin: 17, cout: 13, k: 3, s: 2, pad: 1 },
  { n: 3, h: 8, w: 8, cin: 16, cout: 32, k: 3, s: 1, pad: 'same' },
  { n: 2, h: 10, w: 9, cin: 5, cout: 6, k: 3, s: 2, pad: 'same' },
  { n: 2, h: 13, w: 13, cin: 7, cout: 9, k: 3, s: 2, pad: 'valid' },
  { n: 2, h: 12, w: 12, cin: 24, cout: 40, k: 1, s: 2, pad: 'valid' },
  { n: 1, h: 5, w: 6, cin: 33, cout: 18, k: 1, s: 1, pad: 0 },
  { n: 2, h: 23, w: 21, cin: 1, cout: 64, k: 7, s: 2, pad: 'valid' },
  { n: 1, h: 15, w: 15, cin: 3, cout: 8, k: 7, s: 2, pad: 3 },
  {
    n: 2,
    h: 9,
    w: 8,
    cin: 6,
    cout: 10,
    k: 3,
    s: 1,
    pad: [
      [0, 0],
      [2, 0],
      [1, 2],
      [0, 0],
    ],
  },
  { n: 4, h: 3, w: 3, cin: 40, cout: 24, k: 3, s: 1, pad: 1 },
];

const name = convCaseName;

for (const algo of ['auto', 'direct', 'gemm', 'winograd'] as ConvAlgorithm[])
  describe.skipIf(!addonAvailable)(`native conv2d (${algo}) ${skipReason}`, () => {
    beforeAll(() => {
      setConvAlgorithm(algo);
    });
    afterAll(() => {
      setConvAlgorithm('auto');
    });

    it.each(cases)('forward $n $h $w $cin $cout k$k s$s', (c) => {
      const specs = [
        { shape: [c.n, c.h, c.w, c.cin], seed: 1 },
        { shape: [c.k, c.k, c.cin, c.cout], seed: 2 },
      ];
      const err = compare(specs, (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad as 'same'), [
        'Conv2D',
      ]);
      expect(err, name(c)).toBeLessThan(TOL);
    });

    it.each(cases)('fused (bias, relu) $n $h $w $cin $cout k$k s$s', (c) => {
      const specs = [
        { shape: [c.n, c.h, c.w, c.cin], seed: 3 },
        { shape: [c.k, c.k, c.cin, c.cout], seed: 4 },
        { shape: [c.cout], seed: 5 },
      ];
      for (const activation of ['linear', 'relu'] as const) {
        const err = compare(
          specs,
          (x, w, b) =>
            tf.fused.conv2d({
              x: x as tf.Tensor4D,
              filter: w as tf.Tensor4D,
              strides: c.s,
              pad: c.pad as 'same',
              bias: b,
              activation,
            }),
          ['FusedConv2D'],
        );
        expect(err, `${name(c)} ${activation}`).toBeLessThan(TOL);
      }
    });

    it.each(cases)('gradients dx, dw $n $h $w $cin $cout k$k s$s', (c) => {
      const specs = [
        { shape: [c.n, c.h, c.w, c.cin], seed: 6 },
        { shape: [c.k, c.k, c.cin, c.cout], seed: 7 },
      ];
      const err = compare(
        specs,
        (x, w) => {
          const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad as 'same');
          const dy = tf.sin(tf.reshape(tf.range(0, y.size), y.shape)); // non-uniform upstream gradient
          return tf.grads((a: tf.Tensor, b: tf.Tensor) =>
            tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad as 'same'),
          )([x, w], dy);
        },
        ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'],
      );
      expect(err, name(c)).toBeLessThan(TOL);
    });

    it('fused conv gradients (bias, relu) incl. the bias Sum', () => {
      const specs = [
        { shape: [2, 10, 10, 12], seed: 8 },
        { shape: [3, 3, 12, 20], seed: 9 },
        { shape: [20], seed: 10 },
      ];
      const err = compare(
        specs,
        (x, w, b) =>
          tf.grads((a: tf.Tensor, f: tf.Tensor, bb: tf.Tensor) =>
            tf.sum(
              tf.square(
                tf.fused.conv2d({
                  x: a as tf.Tensor4D,
                  filter: f as tf.Tensor4D,
                  strides: 1,
                  pad: 1,
                  bias: bb,
                  activation: 'relu',
                }),
              ),
            ),
          )([x, w, b]),
        // under a gradient tape tfjs does not fuse a relu: conv, bias add and relu run as separate kernels
        ['Conv2D', 'Add', 'Relu', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'Sum', 'ResnetReluGrad'],
      );
      expect(err).toBeLessThan(TOL);
    });

    it('actually runs natively (no silent fallback) for the training configurations', () => {
      callStats.clear();
      compare(
        [
          { shape: [2, 22, 22, 16], seed: 1 },
          { shape: [3, 3, 16, 32], seed: 2 },
        ],
        (x, w) =>
          tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 1)))([x, w]),
        ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'],
      );
      for (const k of ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter']) {
        expect(callStats.get(k), k).toEqual({ native: 1, fallback: 0 });
      }
    });

    it('depthwise conv (no native kernel) runs the copied JS kernel; dilated conv runs natively', () => {
      // NCHW is rejected by tfjs cpu too, so it cannot be compared here.
      const specs = [
        { shape: [1, 9, 9, 4], seed: 11 },
        { shape: [3, 3, 4, 2], seed: 12 },
      ];
      expect(
        compare(specs, (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), {
          fallbackExpected: 'depthwise convolution has no native kernel',
        }),
      ).toBeLessThan(TOL);
      expect(
        compare(
          [
            { shape: [1, 9, 9, 4], seed: 11 },
            { shape: [3, 3, 4, 5], seed: 12 },
          ],
          (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same', 'NHWC', 2),
          ['Conv2D'],
        ),
      ).toBeLessThan(TOL);
    });
  });

describe.skipIf(!addonAvailable)(`native conv parameters ${skipReason}`, () => {
  const p = convParams(tf.backend_util.computeConv2DInfo([2, 5, 5, 3], [3, 3, 3, 4], 1, 1, 'same'))!;
  const x = rand(2 * 5 * 5 * 3, 1),
    w = rand(3 * 3 * 3 * 4, 2);
  const forwards = ['conv2dForward', 'conv2dForwardGemm'] as const;

  it('are read by name: a missing or mistyped field is an error naming it', () => {
    const a = loadAddon().addon!;
    const y = new Float32Array(2 * 5 * 5 * 4);
    for (const f of forwards) {
      expect(() => a[f](x, w, null, y, p)).not.toThrow();
      const { strideWidth: _, ...noStride } = p;
      expect(() => a[f](x, w, null, y, noStride as ConvParams), f).toThrow(/'strideWidth' must be a number/);
      expect(() => a[f](x, w, null, y, { ...p, relu: 1 } as unknown as ConvParams), f).toThrow(
        /'relu' must be a boolean/,
      );
      expect(() => a[f](x, w, null, y, Object.values(p) as unknown as ConvParams), f).toThrow(/expected an object/);
    }
  });

  it('relu: true fuses a relu into the forward pass', () => {
    const a = loadAddon().addon!;
    for (const f of forwards) {
      const plain = new Float32Array(2 * 5 * 5 * 4),
        fused = new Float32Array(plain.length);
      a[f](x, w, null, plain, { ...p, relu: false });
      a[f](x, w, null, fused, { ...p, relu: true });
      expect(
        plain.some((v) => v < 0),
        f,
      ).toBe(true);
      expect(Array.from(fused), f).toEqual(Array.from(plain, (v) => Math.max(v, 0)));
    }
  });
});

describe.skipIf(!addonAvailable)(`the convolutions' precision and bf16 stamps ${skipReason}`, () => {
  it("bf16Stamp: a tensor's stamp on the onednn back end in bf16; 0 in fp32 and on another back end", () => {
    useBackendNow('onednn');
    const t = tf.ones([2]);
    const onednn = tf.backend() as MathBackendCPU;
    const cpu = tf.findBackend('cpu') as MathBackendCPU;
    const previous = setConvPrecision('bf16');
    try {
      expect([previous, convPrecision(), convKernelOptions.strict()]).toEqual(['fp32', 'bf16', true]);
      const stamp = bf16Stamp(onednn, t);
      expect(stamp).toBeGreaterThan(0);
      expect(bf16Stamp(onednn, t)).toBe(stamp);
      expect(bf16Stamp(cpu, t)).toBe(0);
      expect(setConvPrecision('fp32')).toBe('bf16');
      expect([convPrecision(), convKernelOptions.strict(), bf16Stamp(onednn, t)]).toEqual(['fp32', false, 0]);
    } finally {
      setConvPrecision(previous);
      t.dispose();
      useBackendNow('cpu');
    }
  });
});

describe('convParams declines what the native convolution does not compute (no addon needed)', () => {
  const info = (
    inShape: [number, number, number, number],
    filter: [number, number, number, number],
    stride = 1,
    pad: 'same' | 'valid' | number = 'same',
    dataFormat: 'NHWC' | 'NCHW' = 'NHWC',
  ) =>
    tf.backend_util.computeConv2DInfo(
      inShape,
      filter,
      stride,
      1,
      pad,
      undefined,
      false,
      tf.backend_util.convertConv2DDataFormat(dataFormat),
    );
  const base = info([2, 6, 6, 4], [3, 3, 4, 8]);

  it('NHWC with matching channels: the parameters; NCHW: null', () => {
    expect(convParams(base)).toMatchObject({ batch: 2, inChannels: 4, outChannels: 8, outHeight: 6, padTop: 1 });
    expect(convParams(info([2, 4, 6, 6], [3, 3, 4, 8], 1, 'same', 'NCHW'))).toBeNull();
  });

  it('groups: the filter times groups must be the input channels, and groups must divide the outputs', () => {
    const grouped = info([2, 6, 6, 4], [3, 3, 2, 6]);
    expect(convParams(grouped)).toBeNull(); // depthwise-like for one group
    expect(convParams(grouped, { groups: 2 })).toMatchObject({ groups: 2, inChannels: 4, outChannels: 6 });
    expect(convParams(info([2, 6, 6, 4], [3, 3, 2, 5]), { groups: 2 })).toBeNull(); // 5 outputs in 2 groups
  });

  it('a negative padding on any side: null (even where the opposite side makes the output size right)', () => {
    const opposite = { top: 'bottom', bottom: 'top', left: 'right', right: 'left' } as const;
    for (const side of ['top', 'left', 'bottom', 'right'] as const) {
      const padInfo = { ...base.padInfo, [side]: -1, [opposite[side]]: 3 };
      expect(convParams({ ...base, padInfo }), side).toBeNull();
      expect(convParams({ ...base, padInfo: { ...padInfo, [side]: 0, [opposite[side]]: 2 } }), side).not.toBeNull();
    }
  });

  it("an output size oneDNN's floor division would not give: null", () => {
    expect(convParams({ ...base, outHeight: 7 })).toBeNull();
    expect(convParams({ ...base, outWidth: 7 })).toBeNull();
    // tfjs's rounding 'ceil' on a numeric padding: 3 outputs where oneDNN computes 2
    const ceil = tf.backend_util.computeConv2DInfo([1, 6, 6, 1], [3, 3, 1, 1], 2, 1, 0, 'ceil');
    expect(ceil.outHeight).toBe(3);
    expect(convParams(ceil)).toBeNull();
  });

  it('an empty output or batch: null', () => {
    expect(convParams(info([1, 2, 6, 1], [3, 3, 1, 1], 1, 'valid'))).toBeNull(); // 0 output rows
    expect(convParams(info([1, 6, 2, 1], [3, 3, 1, 1], 1, 'valid'))).toBeNull(); // 0 output columns
    expect(convParams(info([0, 6, 6, 1], [3, 3, 1, 1]))).toBeNull();
    expect(convParams(info([1, 3, 3, 1], [3, 3, 1, 1], 1, 'valid'))).toMatchObject({ outHeight: 1, outWidth: 1 });
  });
});
