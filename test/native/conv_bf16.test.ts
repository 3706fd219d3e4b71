/**
 * The convolutions in the bf16 precisions (src/backend/precision.ts) against float32 references.
 *
 * What a bf16 pass computes: its inputs (x and w forward, dy and w backward-data, x and dy backward-weights)
 * rounded to bf16, products accumulated in float32; the gradients come out float32, the forward output
 * (bias and ReLU added in float32) and the input gradient are rounded once to bf16, as they are stored as
 * bf16 activations between layers (kernel_helpers/activations.ts). So each pass is checked twice:
 *  - against tfjs's JS float32 kernels on the bf16-ROUNDED inputs: equal up to float32 summation order
 *    (1e-4 emulated, 1e-3 native bf16, whose kernels may split the sums differently);
 *  - against the same kernels on the UNROUNDED inputs: within BF16_TOL, the stated bf16 tolerance (8-bit
 *    significands: 2^-9 relative per input, 2e-2 of the output's scale leaves room for sums of up to
 *    7*7*C terms). Every case first checks that rounding moves its reference by more than the first
 *    tolerance, so a pass that skipped the rounding fails.
 * 'bf16-emulated' runs everywhere; 'bf16' (oneDNN bf16 primitives) only where the CPU has bf16 instructions
 * (avx512_bf16 / amx_bf16) and oneDNN makes a bf16 convolution: elsewhere that block skips, naming why.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadAddon } from '../../src/backend/onednn/addon';
import { OneDnnBackend } from '../../src/backend/onednn/backend';
import { setConvPrecision } from '../../src/backend/onednn/kernel_helpers/conv_common';
import { setConvAlgorithm, type ConvAlgorithm } from '../../src/backend/onednn/conv_method_choice';
import { LAZY_MAX_CHANNELS } from '../../src/backend/onednn/kernels/Conv2DBackpropInput';
import type { Precision } from '../../src/backend/precision';
import { detectBf16Support } from '../../src/backend/select';
import { groupedConv2d } from '../../src/ops/grouped_conv2d';
import { ResNet } from '../../src/models/resnet';
import { trainingRecipe, recipeOptimizer } from '../../src/recipe';
import { trainStep } from '../../src/train/train';
import {
  addonAvailable,
  assertNativeSince,
  bf16RoundJs,
  ConvCase,
  convCaseName,
  rand,
  relErr,
  skipReason,
  statsSnapshot,
} from './_helpers';
import { useBackendNow } from '../helpers/backend';

const BF16_TOL = 2e-2;

type Case = ConvCase<'same' | 'valid' | number>;

// odd sizes, stride 2, 1x1, 7x7 (the stem), batch 1, a grouped one
const cases: Case[] = [
  { n: 1, h: 9, w: 9, cin: 3, cout: 5, k: 3, s: 1, pad: 1 },
  { n: 2, h: 11, w: 7, cin: 17, cout: 13, k: 3, s: 2, pad: 1 },
  { n: 3, h: 8, w: 8, cin: 16, cout: 32, k: 3, s: 1, pad: 'same' },
  { n: 2, h: 12, w: 12, cin: 24, cout: 40, k: 1, s: 2, pad: 'valid' },
  { n: 1, h: 5, w: 6, cin: 33, cout: 18, k: 1, s: 1, pad: 0 },
  { n: 2, h: 23, w: 21, cin: 1, cout: 16, k: 7, s: 2, pad: 'valid' },
  { n: 1, h: 15, w: 15, cin: 3, cout: 8, k: 7, s: 2, pad: 3 },
  { n: 4, h: 3, w: 3, cin: 40, cout: 24, k: 3, s: 1, pad: 1 },
  { n: 2, h: 7, w: 7, cin: 12, cout: 8, k: 3, s: 1, pad: 1, groups: 4 },
];
const label = convCaseName;

function conv(c: Case, x: tf.Tensor, w: tf.Tensor, bias?: tf.Tensor1D, relu = false): tf.Tensor {
  if (c.groups)
    return groupedConv2d(x as tf.Tensor4D, w as tf.Tensor4D, { strides: c.s, pad: c.pad, groups: c.groups, bias });
  if (bias || relu)
    return tf.fused.conv2d({
      x: x as tf.Tensor4D,
      filter: w as tf.Tensor4D,
      strides: c.s,
      pad: c.pad,
      bias,
      activation: relu ? 'relu' : 'linear',
    });
  return tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad);
}

/** Output, input gradient and filter gradient of conv(x, w) for the upstream gradient dy, on `backend`. */
function passes(backend: string, c: Case, x: Float32Array, w: Float32Array, dy: Float32Array, yShape: number[]) {
  useBackendNow(backend);
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, [c.n, c.h, c.w, c.cin]);
    const wt = tf.tensor4d(w, [c.k, c.k, c.cin / (c.groups ?? 1), c.cout]);
    const y = conv(c, xt, wt);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => conv(c, a, b))([xt, wt], tf.tensor(dy, yShape));
    return [y, dx, dw].map((t) => t.dataSync().slice() as Float32Array);
  });
}

function outShape(c: Case): number[] {
  useBackendNow('cpu');
  return tf.tidy(
    () => conv(c, tf.zeros([c.n, c.h, c.w, c.cin]), tf.zeros([c.k, c.k, c.cin / (c.groups ?? 1), c.cout])).shape,
  );
}

const support = addonAvailable ? detectBf16Support() : null;
const nativeBf16 = support != null && support.cpuFlags.length > 0 && support.onednnConv === true;
const nativeSkip = nativeBf16
  ? ''
  : `(skipped: ${support == null ? skipReason : support.cpuFlags.length === 0 ? 'no avx512_bf16 / amx_bf16 in /proc/cpuinfo' : `oneDNN: ${support.onednnImpl}`})`;

// A CPU with bf16 instructions where oneDNN cannot make a bf16 convolution is a broken install, not
// a reason to skip: the bf16 path (precision 'auto' picks it) would fail for a learner there.
describe('native bf16 where the CPU has it', () => {
  it.skipIf(!support || support.cpuFlags.length === 0)(
    'oneDNN creates a bf16 convolution on a CPU with bf16 flags',
    () => {
      expect(support!.onednnConv, `CPU flags ${support!.cpuFlags.join(', ')}, oneDNN: ${support!.onednnImpl}`).toBe(
        true,
      );
    },
  );
});

// [precision, runs here, why not, tolerance against float32 on rounded inputs, method forced (else chosen)]
const precisions: [Precision, boolean, string, number, ConvAlgorithm][] = [
  ['bf16-emulated', addonAvailable, skipReason, 1e-4, 'auto'],
  ['bf16', nativeBf16, nativeSkip, 1e-3, 'auto'],
  // im2col + bf16 GEMM (conv_gemm.cc), which measuring picks for small maps and the stem's filter gradient
  ['bf16', nativeBf16, nativeSkip, 1e-3, 'gemm'],
];

for (const [block, [precision, available, why, roundedTol, method]] of precisions.entries()) {
  // each block its own values: a recycled output buffer holding the previous block's right answer must not
  // hide a pass that leaves part of its output unwritten
  const seed = 100 * block;
  describe.skipIf(!available)(`convolutions in ${precision}, method ${method} ${why}`, () => {
    const gemmCalls = { count: 0 };
    const restore: (() => void)[] = [];
    beforeAll(() => {
      setConvPrecision(precision);
      const prev = setConvAlgorithm(method);
      restore.push(() => setConvAlgorithm(prev));
      // count the GEMM entry points' calls, so a forced GEMM that quietly ran direct fails
      const addon = loadAddon().addon as unknown as Record<string, (...a: unknown[]) => void>;
      for (const name of ['conv2dForwardGemm', 'conv2dBackwardDataGemm', 'conv2dBackwardWeightsGemm']) {
        const original = addon[name];
        addon[name] = (...a: unknown[]) => {
          gemmCalls.count++;
          original(...a);
        };
        restore.push(() => (addon[name] = original));
      }
    });
    afterAll(() => {
      setConvPrecision('fp32');
      restore.forEach((f) => f());
    });

    it.each(cases)('forward, input and filter gradients: %s', (c) => {
      const yShape = outShape(c);
      const x = rand(c.n * c.h * c.w * c.cin, seed + 11);
      const w = rand(c.k * c.k * (c.cin / (c.groups ?? 1)) * c.cout, seed + 12);
      const dy = rand(
        yShape.reduce((a, b) => a * b, 1),
        seed + 13,
      );
      const exact = passes('cpu', c, x, w, dy, yShape);
      const rounded = passes('cpu', c, bf16RoundJs(x), bf16RoundJs(w), bf16RoundJs(dy), yShape);
      // The output is a bf16 activation, and so is the input gradient unless the input is a network's
      // images (at most LAZY_MAX_CHANNELS channels: a float32 gradient computed only if read).
      rounded[0] = bf16RoundJs(rounded[0]);
      const dxBf16 = c.groups !== undefined || c.cin > LAZY_MAX_CHANNELS;
      if (dxBf16) rounded[1] = bf16RoundJs(rounded[1]);
      const before = statsSnapshot();
      const gemmBefore = gemmCalls.count;
      const got = passes('onednn', c, x, w, dy, yShape);
      // forced GEMM: the two forward passes (y, then again under tf.grads) and both gradients of every
      // ungrouped case (the images' dx is lazy, computed by GEMM too when read here)
      if (method === 'gemm' && !c.groups) expect(gemmCalls.count - gemmBefore, 'GEMM calls').toBe(4);
      assertNativeSince(
        before,
        c.groups
          ? ['ResnetGroupedConv2D', 'ResnetGroupedConv2DBackpropInput', 'ResnetGroupedConv2DBackpropFilter']
          : ['Conv2D', 'Conv2DBackpropFilter', ...(c.cin > 4 ? ['Conv2DBackpropInput'] : [])],
      );
      ['y', 'dx', 'dw'].forEach((name, i) => {
        const what = `${label(c)} ${name}`;
        expect(relErr(rounded[i], exact[i]), `${what}: rounding must matter`).toBeGreaterThan(roundedTol);
        expect(relErr(got[i], rounded[i]), `${what} vs float32 on rounded inputs`).toBeLessThan(roundedTol);
        expect(relErr(got[i], exact[i]), `${what} vs float32`).toBeLessThan(BF16_TOL);
      });
      expect(Array.from(bf16RoundJs(got[0])), 'every output value is a bf16 value').toEqual(Array.from(got[0]));
      if (dxBf16) expect(Array.from(bf16RoundJs(got[1])), 'dx: bf16 values').toEqual(Array.from(got[1]));
      else expect(Array.from(bf16RoundJs(got[1])), "the images' dx: float32").not.toEqual(Array.from(got[1]));
    });

    it('bias and fused relu are added to the float32 sum, then the output is rounded once to bf16', () => {
      const c = cases[2];
      const x = rand(c.n * c.h * c.w * c.cin, seed + 21);
      const w = rand(c.k * c.k * c.cin * c.cout, seed + 22);
      const b = rand(c.cout, seed + 23).map((v) => v * 3 + 1e-3); // not bf16-representable
      const run = (backend: string, xs: Float32Array, ws: Float32Array) => {
        useBackendNow(backend);
        return tf.tidy(() => {
          const xt = tf.tensor4d(xs, [c.n, c.h, c.w, c.cin]);
          const wt = tf.tensor4d(ws, [c.k, c.k, c.cin, c.cout]);
          return conv(c, xt, wt, tf.tensor1d(b), true).dataSync().slice() as Float32Array;
        });
      };
      const before = statsSnapshot();
      const gemmBefore = gemmCalls.count;
      const got = run('onednn', x, w);
      assertNativeSince(before, ['FusedConv2D']);
      if (method === 'gemm') expect(gemmCalls.count - gemmBefore, 'GEMM calls').toBe(1);
      const sumThenRound = bf16RoundJs(run('cpu', bf16RoundJs(x), bf16RoundJs(w)));
      expect(relErr(got, sumThenRound)).toBeLessThan(roundedTol);
      expect(got.some((v) => v === 0)).toBe(true); // relu clamped
    });
  });
}

describe.skipIf(!addonAvailable)(`bf16 filter cache and rounding ${skipReason}`, () => {
  const addon = () => loadAddon().addon!;
  beforeAll(() => {
    setConvPrecision('bf16-emulated');
  });
  afterAll(() => {
    setConvPrecision('fp32');
  });

  it('bf16Round rounds to nearest even, keeps NaN, infinities and overflows to infinity', () => {
    const specials = new Float32Array([
      0,
      -0,
      1,
      1 + 2 ** -8, // tie, even below: 1
      1 + 3 * 2 ** -8, // tie, even above: 1 + 2^-6
      1 + 2 ** -8 + 2 ** -20, // above the tie: up
      -(1 + 2 ** -9),
      3.4e38, // rounds past the largest bf16: infinity
      Infinity,
      -Infinity,
      NaN,
      1e-40, // subnormal
      65504.5,
    ]);
    const values = new Float32Array([...specials, ...rand(200003, 31).map((v) => v * 1e3)]); // threaded size
    const got = new Float32Array(values.length);
    addon().bf16Round(values, got);
    const want = bf16RoundJs(values);
    expect(got[3]).toBe(1);
    expect(got[4]).toBe(1 + 2 ** -6);
    expect(got[5]).toBe(1 + 2 ** -7);
    expect(got[7]).toBe(Infinity);
    expect(Number.isNaN(got[10])).toBe(true);
    for (let i = 0; i < values.length; i++) {
      if (!Object.is(got[i], want[i]) && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) {
        throw new Error(`element ${i}: bf16Round(${values[i]}) = ${got[i]}, expected ${want[i]}`);
      }
    }
  });

  it('a filter updated in place is converted again; a recycled buffer never serves stale values', async () => {
    await tf.setBackend('onednn');
    const backend = tf.backend() as OneDnnBackend;
    const x = tf.tensor4d(rand(2 * 6 * 6 * 4, 41), [2, 6, 6, 4]);
    const ref = (w: Float32Array) => {
      useBackendNow('cpu');
      const r = tf.tidy(() =>
        tf
          .conv2d(
            tf.tensor4d(bf16RoundJs(x.dataSync() as Float32Array), x.shape),
            tf.tensor4d(bf16RoundJs(w), [3, 3, 4, 5]),
            1,
            'same',
          )
          .dataSync()
          .slice(),
      );
      useBackendNow('onednn');
      return bf16RoundJs(r as Float32Array); // the output is a bf16 activation
    };
    const run = (w: tf.Tensor) =>
      tf.tidy(
        () =>
          tf
            .conv2d(x, w as tf.Tensor4D, 1, 'same')
            .dataSync()
            .slice() as Float32Array,
      );
    const init = tf.tensor4d(rand(3 * 3 * 4 * 5, 42), [3, 3, 4, 5]);
    const v = tf.variable(init);
    init.dispose(); // the variable alone holds its array, so the update may write it in place
    const conversions0 = addon().convFilterConversions();
    expect(relErr(run(v), ref(v.dataSync() as Float32Array))).toBeLessThan(1e-4);
    expect(relErr(run(v), ref(v.dataSync() as Float32Array))).toBeLessThan(1e-4);
    expect(addon().convFilterConversions() - conversions0, 'same values: converted once').toBe(1);
    // an SGD step in place: same array, new values
    const g = tf.onesLike(v);
    expect(
      backend.sgdUpdateInPlace({
        params: [v],
        grads: [g],
        accums: null,
        decays: [0],
        learningRate: 0.5,
        momentum: 0,
        nesterov: false,
      }),
    ).toBe(true);
    expect(relErr(run(v), ref(v.dataSync() as Float32Array)), 'after the in-place update').toBeLessThan(1e-4);
    expect(addon().convFilterConversions() - conversions0).toBe(2);
    // a kernel output used as a filter, disposed, and its pooled array handed to the next output
    const a = tf.mul(tf.tensor4d(rand(3 * 3 * 4 * 5, 43), [3, 3, 4, 5]), 2);
    const aBuffer = (backend.data.get(a.dataId).values as Float32Array).buffer;
    expect(relErr(run(a), ref(a.dataSync() as Float32Array))).toBeLessThan(1e-4);
    a.dispose();
    const b = tf.mul(tf.tensor4d(rand(3 * 3 * 4 * 5, 44), [3, 3, 4, 5]), 2);
    expect((backend.data.get(b.dataId).values as Float32Array).buffer, 'the pool handed out the same memory').toBe(
      aBuffer,
    );
    expect(relErr(run(b), ref(b.dataSync() as Float32Array)), 'recycled array, new values').toBeLessThan(1e-4);
    tf.dispose([x, v, g, b]);
  });

  it.each(['fp32', 'bf16-emulated'] as Precision[])(
    '%s: training steps leak no tensors; bf16 converts each filter once per step',
    async (precision) => {
      setConvPrecision(precision);
      await tf.setBackend('onednn');
      const r = trainingRecipe('fast');
      const net = new ResNet({ widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], stem: 'small', headPool: 'global' });
      net.build([16, 16, 1]);
      const convs = net.trainableVariables().filter((v) => v.shape.length === 4).length;
      const opt = recipeOptimizer({ ...r, learningRate: 0.05 });
      const x = tf.tensor4d(rand(4 * 16 * 16, 51), [4, 16, 16, 1]);
      const y = tf.tensor1d([1, 2, 3, 4]);
      const counts: number[] = [];
      const conversions: number[] = [];
      for (let i = 0; i < 6; i++) {
        const c0 = addon().convFilterConversions();
        const { loss } = trainStep(net, opt, { x, y });
        expect(Number.isFinite(loss)).toBe(true);
        conversions.push(addon().convFilterConversions() - c0);
        counts.push(tf.memory().numTensors);
      }
      expect(new Set(counts.slice(1)).size, `numTensors per step: ${counts}`).toBe(1);
      if (precision === 'fp32') expect(conversions.every((k) => k === 0)).toBe(true);
      else {
        // forward and backward-data read one shared copy of each filter, converted after each update
        expect(conversions.slice(1), `conversions per step (${convs} filters)`).toEqual(Array(5).fill(convs));
        const c0 = addon().convFilterConversions();
        tf.tidy(() => net.apply(x, { training: false }).dataSync());
        tf.tidy(() => net.apply(x, { training: false }).dataSync());
        expect(addon().convFilterConversions() - c0, 'two forward passes, unchanged filters').toBe(convs);
      }
      tf.dispose([x, y]);
      net.dispose();
      opt.dispose();
      setConvPrecision('bf16-emulated');
    },
  );
});
