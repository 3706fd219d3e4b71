/**
 * Native pooling, matrix products and bilinear resizing vs tfjs cpu; gradients through pooling and dense.
 * Pooling gradients use a random upstream gradient: a uniform one cannot tell which input position
 * receives which output's gradient.
 * Tolerances: pooling 1e-6 (same arithmetic), matmul 1e-5 (summation order), resize 1e-6.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it, vi } from 'vitest';

import type { MatMulParams, PoolParams, ResizeParams } from '../../src/backend/onednn/addon';
import { loadAddon } from '../../src/backend/onednn/addon';
import { nativeMatMul } from '../../src/backend/onednn/kernel_helpers/matmul_common';
import { poolParams } from '../../src/backend/onednn/kernel_helpers/pooling_common';
import { GlobalAvgPool2d } from '../../src/nn/layers';
import { addonAvailable, callsSince, compare, rand, relErr, runOn, skipReason, statsSnapshot } from './_helpers';
import { useBackendNow } from '../helpers/backend';

type PoolCase = [number[], number, number, 'valid' | 'same' | number];

function pooledShape([n, h, w, c]: number[], k: number, s: number, pad: PoolCase[3]): number[] {
  return tf.backend_util.computePool2DInfo([n, h, w, c], k, s, 1, pad).outShape;
}

/** d/dx of sum(pool(x) * dyWeights): dx under an upstream gradient that differs at every output. */
function poolGrad(pool: (a: tf.Tensor4D) => tf.Tensor, x: tf.Tensor, dyWeights: tf.Tensor): tf.Tensor {
  return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(pool(a as tf.Tensor4D), dyWeights)))(x);
}
const pools: PoolCase[] = [
  [[2, 45, 45, 64], 3, 2, 'valid'], // the seed's b2
  [[2, 3, 3, 40], 3, 3, 'valid'], // the seed's b6 average pool
  [[1, 9, 8, 5], 3, 2, 'same'],
  [[3, 7, 7, 17], 2, 2, 'valid'],
  [[1, 10, 11, 3], 3, 1, 1],
  [[2, 6, 6, 20], 1, 1, 'valid'],
];

describe.skipIf(!addonAvailable)(`native pooling, matmul, resize ${skipReason}`, () => {
  it.each(pools)('maxPool %j k%i s%i %s (+ grad)', (shape, k, s, pad) => {
    const specs = [
      { shape, seed: 1 },
      { shape: pooledShape(shape, k, s, pad), seed: 21 },
    ];
    expect(compare(specs, (x) => tf.maxPool(x as tf.Tensor4D, k, s, pad), ['MaxPool'])).toBeLessThan(1e-6);
    expect(
      compare(specs, (x, dy) => poolGrad((a) => tf.maxPool(a, k, s, pad), x, dy), ['MaxPool', 'MaxPoolGrad']),
    ).toBeLessThan(1e-6);
  });

  it('maxPool gradient picks the first maximum on ties', () => {
    const values = Float32Array.from({ length: 2 * 6 * 6 * 3 }, (_, i) => (i % 4 === 0 ? 1 : 0));
    // unit upstream gradient: integer sums, so any difference is a different choice of maximum
    expect(
      compare(
        [{ shape: [2, 6, 6, 3], seed: 0, values }],
        (x) => tf.grads((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 3, 1, 'same')))([x]),
        ['MaxPool', 'MaxPoolGrad'],
      ),
    ).toBe(0);
    // varying upstream gradient: also which window's gradient lands where (summation order differs: 1e-6)
    expect(
      compare(
        [
          { shape: [2, 6, 6, 3], seed: 0, values },
          { shape: [2, 6, 6, 3], seed: 22 },
        ],
        (x, dy) => poolGrad((a) => tf.maxPool(a, 3, 1, 'same'), x, dy),
        ['MaxPool', 'MaxPoolGrad'],
      ),
    ).toBeLessThan(1e-6);
  });

  it.each(pools)('avgPool %j k%i s%i %s (+ grad)', (shape, k, s, pad) => {
    const specs = [
      { shape, seed: 2 },
      { shape: pooledShape(shape, k, s, pad), seed: 23 },
    ];
    expect(compare(specs, (x) => tf.avgPool(x as tf.Tensor4D, k, s, pad), ['AvgPool'])).toBeLessThan(1e-6);
    expect(
      compare(specs, (x, dy) => poolGrad((a) => tf.avgPool(a, k, s, pad), x, dy), ['AvgPool', 'AvgPoolGrad']),
    ).toBeLessThan(1e-6);
  });

  // The library's global average pool is an avgPool over the whole map (GlobalAvgPool2d); it must run
  // natively and agree with tf.mean, forward and backward, on square and non-square maps.
  it.each([
    [128, 4, 4, 128],
    [3, 3, 5, 7],
  ])('GlobalAvgPool2d on [%i, %i, %i, %i]: native, equal to tf.mean (+ grad)', (n, h, w, c) => {
    const specs = [
      { shape: [n, h, w, c], seed: 4 },
      { shape: [n, 1, 1, c], seed: 24 },
    ];
    const pool = new GlobalAvgPool2d();
    expect(compare(specs, (x) => pool.apply(x), ['AvgPool'])).toBeLessThan(1e-6);
    expect(
      compare(specs, (x, dy) => poolGrad((a) => pool.apply(a) as tf.Tensor4D, x, dy), ['AvgPool', 'AvgPoolGrad']),
    ).toBeLessThan(1e-6);
    // the same numbers as the mean it replaces, on cpu
    const viaMean = runOn('cpu', specs, (x, dy) =>
      tf.grads((a: tf.Tensor) => tf.sum(tf.mul(tf.mean(a, [1, 2], true), dy)))([x]),
    );
    const viaPool = runOn('cpu', specs, (x, dy) => poolGrad((a) => pool.apply(a) as tf.Tensor4D, x, dy));
    expect(relErr(viaPool[0].values as Float32Array, viaMean[0].values as Float32Array)).toBeLessThan(1e-6);
  });

  const mms: [number[], number[], boolean, boolean][] = [
    [[64, 512], [512, 10], false, false],
    [[7, 13], [13, 5], false, false],
    [[13, 7], [13, 5], true, false],
    [[7, 13], [5, 13], false, true],
    [[13, 7], [5, 13], true, true],
    [[3, 4, 6], [3, 6, 2], false, false],
    [[3, 4, 6], [6, 2], false, false],
    [[1, 4, 6], [5, 6, 2], false, false],
  ];
  it.each(mms)('matMul %j %j tA=%s tB=%s', (sa, sb, ta, tb) => {
    expect(
      compare(
        [
          { shape: sa, seed: 3 },
          { shape: sb, seed: 4 },
        ],
        (a, b) => tf.matMul(a, b, ta, tb),
        ['BatchMatMul'],
      ),
    ).toBeLessThan(1e-5);
  });

  it('fused matMul (bias, relu) and dense gradients', () => {
    const specs = [
      { shape: [16, 40], seed: 5 },
      { shape: [40, 10], seed: 6 },
      { shape: [10], seed: 7 },
    ];
    expect(
      compare(
        specs,
        (a, b, c) => [tf.fused.matMul({ a, b, bias: c, activation: 'relu' }), tf.fused.matMul({ a, b, bias: c })],
        ['_FusedMatMul'],
      ),
    ).toBeLessThan(1e-5);
    expect(
      compare(
        specs,
        (a, b, c) =>
          tf.grads((x: tf.Tensor, w: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.square(tf.add(tf.matMul(x, w), bb))))([
            a,
            b,
            c,
          ]),
        ['BatchMatMul', 'Add', 'Sum'],
      ),
    ).toBeLessThan(1e-5);
  });

  it('matMul refuses arrays shorter or longer than its shapes, naming the array (never reading past an end)', () => {
    const mm = loadAddon().addon!;
    const p = { batchA: 2, batchB: 1, m: 3, k: 4, n: 5, transposeA: false, transposeB: false, relu: false };
    const f = (n: number) => new Float32Array(n);
    expect(() => mm.matMul(f(24), f(20), null, f(30), p)).not.toThrow();
    expect(() => mm.matMul(f(23), f(20), null, f(30), p)).toThrow('matMul: a has 23 values, the shapes need 24');
    expect(() => mm.matMul(f(24), f(40), null, f(30), p)).toThrow('matMul: b has 40 values, the shapes need 20');
    expect(() => mm.matMul(f(24), f(20), f(4), f(30), p)).toThrow('matMul: bias has 4 values, the shapes need 5');
    expect(() => mm.matMul(f(24), f(20), null, f(1), p)).toThrow('matMul: out has 1 values, the shapes need 30');
  });

  const resizes: [number[], [number, number], boolean, boolean][] = [
    [[2, 28, 28, 1], [96, 96], false, false],
    [[2, 28, 28, 1], [96, 96], false, true],
    [[1, 5, 7, 3], [11, 4], true, false],
    [[1, 5, 7, 3], [1, 1], true, false],
    [[3, 9, 9, 2], [4, 17], false, true],
  ];
  it.each(resizes)('resizeBilinear %j -> %j align=%s half=%s', (shape, size, align, half) => {
    expect(
      compare([{ shape, seed: 8 }], (x) => tf.image.resizeBilinear(x as tf.Tensor4D, size, align, half), [
        'ResizeBilinear',
      ]),
    ).toBeLessThan(1e-6);
  });
});

describe.skipIf(!addonAvailable)(`native pooling, matmul and resize parameters ${skipReason}`, () => {
  it('are read by name: a missing field or a positional array is an error naming it', () => {
    const a = loadAddon().addon!;
    const p = poolParams(tf.backend_util.computePool2DInfo([1, 6, 6, 2], 3, 2, 1, 'same'))!;
    const x = rand(72, 1),
      y = new Float32Array(1 * 3 * 3 * 2).fill(NaN);
    a.maxPool(x, y, p);
    useBackendNow('cpu');
    expect(Array.from(y)).toEqual(
      Array.from(tf.tidy(() => tf.maxPool(tf.tensor4d(x, [1, 6, 6, 2]), 3, 2, 'same').dataSync())),
    );
    const { padLeft: _, ...noPad } = p;
    expect(() => a.maxPool(x, y, noPad as PoolParams)).toThrow(/pool params: 'padLeft' must be a number/);
    expect(() => a.avgPool(x, y, Object.values(p) as unknown as PoolParams)).toThrow(/pool params: expected an object/);
  });

  it('matMul and resizeBilinear read their parameters by name too', () => {
    const a = loadAddon().addon!;
    const mm: MatMulParams = {
      batchA: 1,
      batchB: 1,
      m: 2,
      k: 3,
      n: 2,
      transposeA: false,
      transposeB: false,
      relu: false,
    };
    const out = new Float32Array(4).fill(NaN);
    a.matMul(Float32Array.of(1, 2, 3, 4, 5, 6), Float32Array.of(1, 0, 0, 1, 1, 1), null, out, mm);
    expect(Array.from(out)).toEqual([4, 5, 10, 11]);
    expect(() => a.matMul(out, out, null, out, { ...mm, transposeB: 0 } as unknown as MatMulParams)).toThrow(
      /matmul params: 'transposeB' must be a boolean/,
    );
    const rp: ResizeParams = {
      batch: 1,
      inHeight: 1,
      inWidth: 2,
      channels: 1,
      outHeight: 1,
      outWidth: 4,
      alignCorners: true,
      halfPixelCenters: false,
    };
    const y = new Float32Array(4).fill(NaN);
    a.resizeBilinear(Float32Array.of(0, 3), y, rp);
    expect(Array.from(y)).toEqual([0, 1, 2, 3]);
    const { outWidth: _, ...noWidth } = rp;
    expect(() => a.resizeBilinear(Float32Array.of(0, 3), y, noWidth as ResizeParams)).toThrow(
      /resize params: 'outWidth' must be a number/,
    );
  });
});

describe.skipIf(!addonAvailable)(
  `inputs outside the native path: the JS kernel, counted as a fallback ${skipReason}`,
  () => {
    const cases: [string, string, () => tf.Tensor][] = [
      ['Relu of an empty tensor', 'Relu', () => tf.relu(tf.zeros([0, 3]))],
      ['Relu of int32 values', 'Relu', () => tf.relu(tf.tensor([-1, 2], undefined, 'int32'))],
      ['MaxPool of an empty batch', 'MaxPool', () => tf.maxPool(tf.zeros([0, 4, 4, 2]) as tf.Tensor4D, 2, 2, 'valid')],
      ['AvgPool of no channels', 'AvgPool', () => tf.avgPool(tf.zeros([1, 4, 4, 0]) as tf.Tensor4D, 2, 2, 'valid')],
      ['MatMul with an empty inner dimension', 'BatchMatMul', () => tf.matMul(tf.zeros([2, 0]), tf.zeros([0, 3]))],
      ['MatMul of an empty row set', 'BatchMatMul', () => tf.matMul(tf.zeros([0, 4]), tf.ones([4, 3]))],
      [
        'MaxPool of int32 values',
        'MaxPool',
        () => tf.maxPool(tf.tensor4d([1, -2, 3, 4], [1, 2, 2, 1], 'int32'), 2, 1, 'valid'),
      ],
      [
        'MatMul of int32 matrices',
        'BatchMatMul',
        () => tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), tf.tensor2d([1, 0, 2, 1], [2, 2], 'int32')),
      ],
      [
        'fused MatMul with a bias [n, 1]: one per row, which the native per-column bias cannot add',
        '_FusedMatMul',
        () =>
          tf.fused.matMul({
            a: tf.tensor2d([1, 2, 3, 4], [2, 2]),
            b: tf.tensor2d([1, 0, 2, 1], [2, 2]),
            bias: tf.tensor2d([10, 20], [2, 1]),
          }),
      ],
      [
        'fused MatMul with a bias of m x n values',
        '_FusedMatMul',
        () =>
          tf.fused.matMul({
            a: tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]),
            b: tf.tensor2d([1, 0, 2, 1], [2, 2]),
            bias: tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]),
            activation: 'relu',
          }),
      ],
      [
        'MatMul with batches [3] against [2, 3] (a broadcast the native path does not take)',
        'BatchMatMul',
        () =>
          tf.matMul(
            tf.randomUniform([3, 4, 5], -1, 1, 'float32', 1),
            tf.randomUniform([2, 3, 5, 6], -1, 1, 'float32', 2),
          ),
      ],
      [
        'MatMul with batches [2, 3] against [3] (a broadcast the native path does not take)',
        'BatchMatMul',
        () =>
          tf.matMul(
            tf.randomUniform([2, 3, 4, 5], -1, 1, 'float32', 1),
            tf.randomUniform([3, 5, 6], -1, 1, 'float32', 2),
          ),
      ],
    ];
    it.each(cases)('%s', (_name, kernel, f) => {
      useBackendNow('cpu');
      const ref = tf.tidy(() => {
        const t = f();
        return { shape: t.shape, dtype: t.dtype, values: Array.from(t.dataSync()) };
      });
      useBackendNow('onednn');
      // declined before the native call: a native call that throws would fall back too, but with a warning
      const warn = vi.spyOn(console, 'warn');
      const before = statsSnapshot();
      const got = tf.tidy(() => {
        const t = f();
        return { shape: t.shape, dtype: t.dtype, values: Array.from(t.dataSync()) };
      });
      const warnings = [...warn.mock.calls];
      warn.mockRestore();
      expect(callsSince(before, kernel)).toEqual({ native: 0, fallback: 1 });
      expect(warnings).toEqual([]);
      expect(got).toEqual(ref);
      useBackendNow('cpu');
    });
  },
);

describe.skipIf(!addonAvailable)(
  `nativeMatMul: null for what the native product does not compute ${skipReason}`,
  () => {
    // Called directly (not through the kernel wrapper, which turns a throw into a JS fallback too): each case
    // must be declined before the addon is called, and the accepted ones must give a @ b (+ bias) (relu).
    const t = (shape: number[], dtype: 'float32' | 'int32' = 'float32') =>
      tf.tensor(
        Array.from({ length: shape.reduce((p, q) => p * q, 1) }, (_, i) => (i % 5) - 2),
        shape,
        dtype,
      );
    const run = (a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor | null = null, tA = false, tB = false, relu = false) => {
      const backend = tf.backend() as MathBackendCPU;
      const info = nativeMatMul(backend, a, b, tA, tB, bias, relu);
      if (info == null) return null;
      const r = { shape: info.shape, values: Array.from(backend.readSync(info.dataId) as Float32Array) };
      backend.disposeData(info.dataId);
      return r;
    };
    const declined: [string, () => [tf.Tensor, tf.Tensor, tf.Tensor | null], boolean?][] = [
      ['int32 a', () => [t([2, 3], 'int32'), t([3, 2]), null]],
      ['int32 b', () => [t([2, 3]), t([3, 2], 'int32'), null]],
      ['a of rank 1', () => [t([3]), t([3, 2]), null]],
      ['b of rank 1', () => [t([2, 3]), t([3]), null]],
      ['b of rank 1, transposed (its one axis read as k)', () => [t([2, 3]), t([3]), null], true],
      ['inner dimensions 3 and 4', () => [t([2, 3]), t([4, 2]), null]],
      ['no rows (m = 0)', () => [t([0, 3]), t([3, 2]), null]],
      ['no columns (n = 0)', () => [t([2, 3]), t([3, 0]), null]],
      ['an empty inner dimension (k = 0)', () => [t([2, 0]), t([0, 3]), null]],
      ['batches [3] against [2, 3] (a broadcasts partially)', () => [t([3, 4, 5]), t([2, 3, 5, 6]), null]],
      ['batches [2, 3] against [3] (b broadcasts partially)', () => [t([2, 3, 4, 5]), t([3, 5, 6]), null]],
      ['an int32 bias', () => [t([2, 3]), t([3, 2]), t([2], 'int32')]],
      ['a bias of m x n values (one per output, not per column)', () => [t([2, 3]), t([3, 2]), t([2, 2])]],
      ['a bias [n, 1] (one per row) with m = n', () => [t([2, 3]), t([3, 2]), t([2, 1])]],
      ['a scalar bias', () => [t([2, 3]), t([3, 2]), t([])]],
    ];
    it.each(declined)('%s', (_name, make, transposeB = false) => {
      useBackendNow('onednn');
      const [a, b, bias] = make();
      expect(run(a, b, bias, false, transposeB)).toBeNull();
      tf.dispose([a, b, ...(bias ? [bias] : [])]);
      useBackendNow('cpu');
    });

    it('the accepted cases: batches equal or of 1 on either side, a bias [n] or [1, n], relu', () => {
      useBackendNow('onednn');
      tf.tidy(() => {
        const a = tf.tensor([1, 2, 3, 4, 5, 6], [1, 2, 3]); // [[1, 2, 3], [4, 5, 6]]
        const b2 = tf.tensor([1, 0, 0, 1, 1, -1, 2, 1, 0, 0, -1, 1], [2, 3, 2]); // [[1,0],[0,1],[1,-1]], [[2,1],[0,0],[-1,1]]
        // a's batch of 1 against b's 2; a without a batch against b's batch of 1; equal batches
        expect(run(a, b2)).toEqual({ shape: [2, 2, 2], values: [4, -1, 10, -1, -1, 4, 2, 10] });
        const at = tf.tensor([1, 4, 2, 5, 3, 6], [3, 2]); // a transposed, no batch
        const b1 = tf.tensor([1, 0, 1, 0, 1, -1], [1, 2, 3]); // b transposed: [[1, 0, 1], [0, 1, -1]]
        expect(run(at, b1, null, true, true)).toEqual({ shape: [1, 2, 2], values: [4, -1, 10, -1] });
        const a2 = tf.tensor([1, 2, 3, 4, 5, 6, -1, -2, -3, 0, 0, 1], [2, 2, 3]);
        expect(run(a2, b2)).toEqual({ shape: [2, 2, 2], values: [4, -1, 10, -1, 1, -4, -1, 1] });
        const m = tf.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
        const w = tf.tensor([1, 0, 0, 1, 1, -1], [3, 2]);
        expect(run(m, w, tf.tensor([10, -20]), false, false, false)).toEqual({
          shape: [2, 2],
          values: [14, -21, 20, -21],
        });
        expect(run(m, w, tf.tensor([[10, -20]]), false, false, true)).toEqual({
          shape: [2, 2],
          values: [14, 0, 20, 0],
        });
      });
      useBackendNow('cpu');
    });
  },
);

describe('poolParams declines what the native pooling does not compute (no addon needed)', () => {
  const info = (dilations: number, dataFormat: 'channelsLast' | 'channelsFirst' = 'channelsLast') =>
    tf.backend_util.computePool2DInfo([1, 6, 6, 2], 2, 1, dilations, 'valid', undefined, dataFormat);
  it('NHWC, undilated: the parameters; dilated or NCHW: null', () => {
    expect(poolParams(info(1))).toMatchObject({ batch: 1, inHeight: 6, channels: 2, outHeight: 5, outWidth: 5 });
    expect(poolParams(info(2))).toBeNull();
    expect(poolParams(info(1, 'channelsFirst'))).toBeNull();
    expect(poolParams({ ...info(1), dilationWidth: 2 })).toBeNull();
    expect(poolParams({ ...info(1), dilationHeight: 2 })).toBeNull();
  });
  it('an empty output, batch or channel count: null', () => {
    for (const k of ['outHeight', 'outWidth', 'batchSize', 'inChannels'] as const) {
      expect(poolParams({ ...info(1), [k]: 0 }), k).toBeNull();
      expect(poolParams({ ...info(1), [k]: 1 }), k).not.toBeNull();
    }
  });
});
