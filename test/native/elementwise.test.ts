/**
 * Native element-wise and reduction kernels vs tfjs cpu, including the broadcasting patterns handled
 * natively (same shape, scalar, trailing axes) and JS fallback for everything else.
 * Tolerances: exact-ish ops 1e-6 relative; Sum 1e-5 (float partial sums vs JS double accumulation);
 * transcendental ops 1e-6.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it, vi } from 'vitest';

import { broadcastInner, callStats } from '../../src/backend/onednn/kernel_helpers/native_kernel';
import { ADD_RELU, addRelu } from '../../src/ops/add_relu';
import {
  addonAvailable,
  assertNativeSince,
  callsSince,
  compare,
  NativeExpectation,
  rand,
  runOn,
  skipReason,
  statsSnapshot,
} from './_helpers';
import { useBackendNow } from '../helpers/backend';

/** [name, op, the tfjs kernel it runs] */
const binaryOps: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, string][] = [
  ['add', tf.add, 'Add'],
  ['sub', tf.sub, 'Sub'],
  ['mul', tf.mul, 'Multiply'],
  ['div', tf.div, 'RealDiv'],
  ['maximum', tf.maximum, 'Maximum'],
  ['minimum', tf.minimum, 'Minimum'],
  ['squaredDifference', tf.squaredDifference, 'SquaredDifference'],
];
const shapePairs: [number[], number[]][] = [
  [
    [2, 3, 4, 5],
    [2, 3, 4, 5],
  ], // same
  [[64, 7, 7, 33], [33]], // bias over last axis
  [[33], [5, 7, 33]], // reversed
  [[3, 4, 5], []], // scalar
  [[], [3, 4, 5]],
  [
    [2, 9, 17],
    [1, 9, 17],
  ], // trailing block with leading 1
  // Above the native threshold for threads (kParallelMin = 2^17 elements, native/src/common.h), so
  // the chunked paths run on every thread, with odd lengths that split off the vector width.
  [[200003], [200003]], // same length
  [[131075], []], // scalar b
  [[], [131075]], // scalar a
  [[2000, 70], [70]], // periodic
  // Inner-axes broadcasting (one value per run of `inner` outputs): softmax cross-entropy's [N, 1] over
  // [N, C] both ways round, a per-channel [C, 1] in the middle, and a threaded one.
  [
    [128, 10],
    [128, 1],
  ],
  [
    [128, 1],
    [128, 10],
  ],
  [
    [3, 5, 7],
    [5, 1],
  ],
  [
    [4, 1, 1],
    [4, 6, 5],
  ],
  [
    [3001, 67],
    [3001, 1],
  ],
];

describe.skipIf(!addonAvailable)(`native element-wise ${skipReason}`, () => {
  for (const [name, op, kernel] of binaryOps) {
    it.each(shapePairs)(`${name} %j %j`, (sa, sb) => {
      const specs = [
        { shape: sa, seed: 1 },
        { shape: sb, seed: 2 },
      ];
      expect(compare(specs, op, [kernel])).toBeLessThan(1e-6);
    });
  }

  it.each([
    [[33], [64, 7, 7, 33], 1],
    [[], [3, 4], 1],
    [[1, 1], [3, 4], 1],
    [[2, 9, 17], [2, 9, 17], 1],
    [[128, 1], [128, 10], 10],
    [[5, 1], [3, 5, 7], 7],
    [[4, 1, 1], [4, 6, 5], 30],
    [[1, 5, 1, 1], [2, 5, 1, 3], 3], // an axis of 1 in out sits inside the run
    [[4, 1, 6], [3, 4, 1, 6], 1], // ... and inside the kept block
    [[4, 1, 6], [4, 5, 6], null], // a broadcast axis between kept ones
    [[3, 1], [3, 4, 5], null], // not a broadcast of out
    [[2, 3, 4], [3, 4], null], // more axes than out
  ] as [number[], number[], number | null][])('broadcastInner(%j, %j) = %j', (small, out, inner) => {
    expect(broadcastInner(small, out)).toBe(inner);
  });

  it('falls back to JS for int32 and for middle-axis broadcasting', () => {
    callStats.clear();
    // declined before the native call (a native call that throws would fall back too, with a warning)
    const warn = vi.spyOn(console, 'warn');
    const why = { fallbackExpected: 'int32 and middle-axis broadcasting have no native path (asserted below)' };
    expect(
      compare(
        [
          { shape: [4, 5], seed: 1, dtype: 'int32' },
          { shape: [4, 5], seed: 2, dtype: 'int32' },
        ],
        tf.add,
        why,
      ),
    ).toBe(0);
    expect(
      compare(
        [
          { shape: [4, 5, 6], seed: 1 },
          { shape: [4, 1, 6], seed: 2 },
        ],
        tf.mul,
        why,
      ),
    ).toBeLessThan(1e-6);
    expect(
      compare(
        [
          { shape: [4, 1], seed: 1 },
          { shape: [1, 6], seed: 2 },
        ],
        tf.sub,
        why,
      ),
    ).toBeLessThan(1e-6);
    expect(
      compare(
        [
          { shape: [0, 3], seed: 1 },
          { shape: [0, 3], seed: 2 },
        ],
        tf.maximum,
        why,
      ),
    ).toBe(0);
    const warnings = [...warn.mock.calls];
    warn.mockRestore();
    expect(warnings).toEqual([]);
    expect(callStats.get('Add')).toEqual({ native: 0, fallback: 1 });
    expect(callStats.get('Multiply')).toEqual({ native: 0, fallback: 1 });
    expect(callStats.get('Sub')).toEqual({ native: 0, fallback: 1 });
    expect(callStats.get('Maximum')).toEqual({ native: 0, fallback: 1 });
  });

  it('operands of two dtypes through runKernel (which does not cast): the JS kernel, no warning', () => {
    const previous = tf.getBackend();
    useBackendNow('onednn');
    const warn = vi.spyOn(console, 'warn');
    const before = statsSnapshot();
    const got = tf.tidy(() => {
      const i = tf.tensor1d([1, 2, 3], 'int32');
      const f = tf.tensor1d([0.5, 0.5, 0.5]);
      return [
        tf.engine().runKernel('Add', { a: i, b: f }) as tf.Tensor,
        tf.engine().runKernel('Add', { a: f, b: i }) as tf.Tensor,
      ].map((t) => Array.from(t.dataSync()));
    });
    const warnings = [...warn.mock.calls];
    warn.mockRestore();
    expect(callsSince(before, 'Add')).toEqual({ native: 0, fallback: 2 });
    expect(warnings).toEqual([]);
    expect(got[1]).toEqual([1.5, 2.5, 3.5]);
    useBackendNow(previous);
  });

  it('Step run without attributes (runKernel): alpha 0, natively', () => {
    const previous = tf.getBackend();
    useBackendNow('onednn');
    const before = statsSnapshot();
    const got = tf.tidy(() =>
      Array.from((tf.engine().runKernel('Step', { x: tf.tensor1d([-1, 0, 2, NaN]) }) as tf.Tensor).dataSync()),
    );
    expect(callsSince(before, 'Step')).toEqual({ native: 1, fallback: 0 });
    expect(got).toEqual([0, 0, 1, NaN]);
    useBackendNow(previous);
  });

  it('bool and int32 cast to float32 are stored as float32, so a native Sum reads them', () => {
    const before = statsSnapshot();
    const b = tf.tensor1d([1, 0, 3, 0, 5], 'float32').greater(0.5); // bool
    const i = tf.tensor1d([7, -2, 3], 'int32');
    const bf = tf.cast(b, 'float32'),
      iff = tf.cast(i, 'float32');
    for (const t of [bf, iff]) expect(tf.backend().readSync(t.dataId)).toBeInstanceOf(Float32Array);
    expect(Array.from(bf.dataSync())).toEqual([1, 0, 1, 0, 1]);
    expect(Array.from(iff.dataSync())).toEqual([7, -2, 3]);
    expect(tf.sum(bf).dataSync()[0]).toBe(3);
    expect(tf.sum(iff).dataSync()[0]).toBe(8);
    assertNativeSince(before, ['Sum']);
    // other casts are tfjs's own (float32 -> int32 truncates, -> bool tests for non-zero)
    expect(Array.from(tf.cast(tf.tensor1d([1.7, -2.2, 0]), 'int32').dataSync())).toEqual([1, -2, 0]);
    expect(Array.from(tf.cast(tf.tensor1d([1.7, 0]), 'bool').dataSync())).toEqual([1, 0]);
    tf.dispose([b, i, bf, iff]);
  });

  it('a kernel without a native version runs the copied JS kernel (Tanh, Softmax)', () => {
    expect(
      compare([{ shape: [7, 13], seed: 3 }], (x) => [tf.tanh(x), tf.softmax(x)], {
        fallbackExpected: 'Tanh and Softmax have no native kernel',
      }),
    ).toBeLessThan(1e-6);
    expect(tf.getKernel('Tanh', 'onednn')).toBeDefined();
  });

  /** [name, op, shape, the tfjs kernel under test] */
  const unary: [string, (x: tf.Tensor) => tf.Tensor, number[], string][] = [
    ['relu', tf.relu, [3, 5, 7, 9], 'Relu'],
    ['step', (x) => tf.step(x, 0.25), [1000, 33], 'Step'],
    ['neg', tf.neg, [17], 'Neg'],
    ['square', tf.square, [44001, 3], 'Square'], // 132003 elements: threaded, odd chunks
    ['abs', tf.abs, [5, 5], 'Abs'],
    ['sqrt', (x) => tf.sqrt(tf.abs(x)), [9, 31], 'Sqrt'],
    ['rsqrt', (x) => tf.rsqrt(tf.add(tf.abs(x), 0.1)), [9, 31], 'Rsqrt'],
    ['exp', tf.exp, [123, 45], 'Exp'],
    ['log', (x) => tf.log(tf.add(tf.abs(x), 1e-3)), [123, 45], 'Log'],
  ];
  it.each(unary)('%s', (_n, op, shape, kernel) => {
    expect(compare([{ shape, seed: 4 }], op, [kernel])).toBeLessThan(1e-6);
  });

  it('relu and step keep NaN like tfjs', () => {
    const values = Float32Array.from([NaN, -1, 0, 2, -0.5, NaN]);
    expect(compare([{ shape: [6], seed: 0, values }], (x) => [tf.relu(x), tf.step(x, 0.1)], ['Relu', 'Step'])).toBe(0);
  });

  it.each([[[2, 3, 4, 5]], [[200003]], [[128, 28, 28, 16]]])(
    'addRelu %j: native equals the JS kernel bit for bit',
    (shape) => {
      const specs = [
        { shape, seed: 6 },
        { shape, seed: 7 },
      ];
      expect(compare(specs, addRelu, [ADD_RELU])).toBe(0);
    },
  );

  it('addRelu keeps NaN and zeroes non-positive sums like relu(add)', () => {
    const a = Float32Array.from([NaN, -1, 1, 2, -0.5, 0.25]);
    const b = Float32Array.from([1, 0.5, -1, NaN, 0.5, -0.5]);
    const specs = [
      { shape: [6], seed: 0, values: a },
      { shape: [6], seed: 0, values: b },
    ];
    const out = runOn('onednn', specs, addRelu)[0].values;
    expect(Array.from(out)).toEqual([NaN, 0, 0, NaN, 0, 0]);
    expect(compare(specs, (x, y) => [addRelu(x, y), tf.relu(tf.add(x, y))], [ADD_RELU])).toBe(0);
  });

  it('addRelu: value and gradients equal relu(add) bit for bit, through the fused kernels only', () => {
    const shape = [16, 9, 9, 24];
    const n = shape.reduce((p, q) => p * q, 1);
    const run = (fused: boolean) =>
      tf.tidy(() => {
        const [a, b, dy] = [41, 42, 43].map((seed) => tf.tensor(rand(n, seed), shape));
        const f = (x: tf.Tensor, y: tf.Tensor) => (fused ? addRelu(x, y) : tf.relu(tf.add(x, y)));
        const { value, grads } = tf.valueAndGrads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(f(x, y), dy)))([a, b]);
        return [f(a, b), value, ...grads].map((t) => Array.from(t.dataSync()));
      });
    useBackendNow('onednn');
    const before = statsSnapshot();
    const fused = run(true);
    assertNativeSince(before, [ADD_RELU, 'ResnetReluGrad']);
    expect(callsSince(before, 'Relu')).toEqual({ native: 0, fallback: 0 });
    const unfused = run(false);
    expect(fused).toEqual(unfused);
    useBackendNow('cpu'); // the JS kernel and the composed gradient (which, like tfjs's, gives -0 for dy < 0)
    expect(run(true)).toEqual(run(false));
  });

  it('addRelu names the operands when their shapes differ', () => {
    expect(() => addRelu(tf.zeros([2, 3]), tf.zeros([3]))).toThrow(
      /float32 tensors of one shape; got float32 \[2,3\] and float32 \[3\]/,
    );
  });

  const middle = { fallbackExpected: 'a middle-axis sum has no native path' };
  const sums: [number[], number | number[], boolean, NativeExpectation][] = [
    [[64, 11, 11, 128], [0, 1, 2], false, ['Sum']], // bias gradient
    [[3, 5, 7, 9], [0, 1, 2], true, ['Sum']],
    [[1000, 17], 0, false, ['Sum']],
    [[5, 7, 9], [1, 2], false, ['Sum']], // trailing
    [[6, 100], -1, true, ['Sum']],
    [[4, 5, 6], [0, 1, 2], false, ['Sum']], // everything
    [[4, 5, 6], 1, false, middle],
  ];
  it.each(sums)('sum %j axis %j keepDims %s', (shape, axis, keepDims, native) => {
    expect(compare([{ shape, seed: 5 }], (x) => tf.sum(x, axis, keepDims), native)).toBeLessThan(1e-5);
  });
});

describe("addRelu's checks and JS kernel (cpu back end, no addon needed)", () => {
  it('refuses a non-float32 operand on either side, naming both', () => {
    useBackendNow('cpu');
    const f = tf.zeros([2, 3]);
    const i = tf.zeros([2, 3], 'int32');
    expect(() => addRelu(i, f)).toThrow(/float32 tensors of one shape; got int32 \[2,3\] and float32 \[2,3\]/);
    expect(() => addRelu(f, i)).toThrow(/got float32 \[2,3\] and int32 \[2,3\]/);
    tf.dispose([f, i]);
  });

  it('a sum of -0 and -0 gives +0, as relu(add) does (bit for bit includes the sign of zero)', () => {
    useBackendNow('cpu');
    const a = tf.tensor([-0, 0, -0, -1, 1]);
    const b = tf.tensor([-0, -0, 0, 1, -1]);
    const fused = Array.from(addRelu(a, b).dataSync());
    const composed = Array.from(tf.relu(tf.add(a, b)).dataSync());
    expect(composed.map((v) => Object.is(v, 0))).toEqual([true, true, true, true, true]);
    expect(fused.map((v) => Object.is(v, 0))).toEqual([true, true, true, true, true]);
    tf.dispose([a, b]);
  });
});
