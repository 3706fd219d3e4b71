/**
 * bf16 activations between layers (issue #28 item 2; src/backend/onednn/kernel_helpers/activations.ts).
 * In the bf16 precisions the kernels that make a network's activations write bf16 bits, and the kernels
 * after them read those bits as they are. Checked here, in emulated bf16 (any CPU) and in native bf16
 * where the CPU has it:
 *  - the storage: a bf16 tensor reads as its bits widened (exactly), only when something reads its
 *    float32 values; its buffers go back to the pool on dispose; it is never updated in place;
 *  - each kernel's numbers: its float32 result rounded once to bf16 (ReLU and max pooling: exact);
 *  - a training step and an evaluation pass of each recipe: which tensors are bf16, how many are widened
 *    (none: every kernel that reads one takes bf16), and fp32 creates none.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { loadAddon } from '../../src/backend/onednn/addon';
import { OneDnnBackend } from '../../src/backend/onednn/backend';
import { allocBf16, poolStats } from '../../src/backend/onednn/buffer_pool';
import { activationIn } from '../../src/backend/onednn/kernel_helpers/activations';
import {
  convInfo,
  convParams,
  runConvBackwardWeights,
  runConvForward,
  setConvPrecision,
} from '../../src/backend/onednn/kernel_helpers/conv_common';
import type { Precision } from '../../src/backend/precision';
import { detectBf16Support } from '../../src/backend/select';
import { addRelu } from '../../src/ops/add_relu';
import { batchNormTrain } from '../../src/ops/batch_norm_train';
import { ResNet } from '../../src/models/resnet';
import { recipeOptimizer, recipeStepOptions, trainingRecipe } from '../../src/recipe';
import { trainStep } from '../../src/train/train';
import { useBackendNow } from '../helpers/backend';
import { addonAvailable, assertNativeSince, bf16RoundJs, rand, relErr, skipReason, statsSnapshot } from './_helpers';

const support = addonAvailable ? detectBf16Support() : null;
const nativeBf16 = support != null && support.cpuFlags.length > 0 && support.onednnConv === true;

function onednn(): OneDnnBackend {
  useBackendNow('onednn');
  return tf.backend() as OneDnnBackend;
}

/** The bf16 bits of v (round to nearest even), in pooled storage as the kernels' outputs are. */
function bitsOf(v: Float32Array): Uint16Array {
  const u = new Uint32Array(bf16RoundJs(v).buffer);
  const bits = allocBf16(v.length);
  u.forEach((w, i) => (bits[i] = w >>> 16));
  return bits;
}

describe.skipIf(!addonAvailable)(`bf16 activations: the storage ${skipReason}`, () => {
  afterEach(() => setConvPrecision('fp32'));

  it('reads as its bits widened, only when read; recycles both buffers on dispose', () => {
    const b = onednn();
    const values = rand(5000, 1).map((v) => v * 100);
    const bits = bitsOf(values);
    const stats0 = { ...b.bf16Stats };
    const info = b.makeBf16TensorInfo([50, 100], bits);
    const t = tf.engine().makeTensorFromTensorInfo(info);
    expect(b.bf16Values(t)).toBe(bits);
    expect(b.bf16Stats.widened - stats0.widened, 'nothing read its float32 values yet').toBe(0);
    expect(Array.from(t.dataSync())).toEqual(Array.from(bf16RoundJs(values)));
    expect(b.bf16Stats.widened - stats0.widened).toBe(1);
    t.dataSync();
    expect(b.bf16Stats.widened - stats0.widened, 'widened once').toBe(1);
    expect(b.bf16Values(t), 'the bits stay').toBe(bits);
    const recycled0 = poolStats.recycled;
    t.dispose();
    expect(poolStats.recycled - recycled0, 'the bits and the widened values back in the pool').toBe(2);
  });

  it('a bf16 tensor disposed unread returns its bits; it is never written in place', () => {
    const b = onednn();
    const recycled0 = poolStats.recycled;
    const info = b.makeBf16TensorInfo([4], bitsOf(new Float32Array([1, 2, 3, 4])));
    tf.engine().makeTensorFromTensorInfo(info).dispose();
    expect(poolStats.recycled - recycled0).toBe(1);
    // an in-place SGD step would change the float32 values under unchanged bits
    const p = tf.engine().makeTensorFromTensorInfo(b.makeBf16TensorInfo([4], bitsOf(new Float32Array([1, 2, 3, 4]))));
    p.dataSync();
    const g = tf.ones([4]);
    const update = {
      params: [p],
      grads: [g],
      accums: null,
      decays: [0],
      learningRate: 1,
      momentum: 0,
      nesterov: false,
    };
    expect(b.sgdUpdateInPlace(update)).toBe(false);
    expect(Array.from(p.dataSync())).toEqual([1, 2, 3, 4]);
    tf.dispose([p, g]);
  });

  it('the native kernels name a wrong array: type and length', () => {
    const addon = loadAddon().addon!;
    const f = new Float32Array(8);
    expect(() => addon.addRelu(new Int32Array(8) as never, f, f)).toThrow(
      'addRelu a: expected a Float32Array or a Uint16Array of bf16 bits',
    );
    expect(() => addon.addRelu(new Uint16Array(7), f, f)).toThrow('addRelu: operands and output differ in length');
    expect(() => addon.bf16Widen(new Uint16Array(8), new Float32Array(7))).toThrow(
      'bf16Widen: b must be a Uint16Array as long as the Float32Array y',
    );
    const p = {
      batch: 1,
      inHeight: 4,
      inWidth: 4,
      inChannels: 2,
      outHeight: 4,
      outWidth: 4,
      outChannels: 3,
      filterHeight: 1,
      filterWidth: 1,
      strideHeight: 1,
      strideWidth: 1,
      dilationHeight: 1,
      dilationWidth: 1,
      padTop: 0,
      padLeft: 0,
      padBottom: 0,
      padRight: 0,
      relu: false,
      groups: 1,
      precision: 2 as const,
      weightsStamp: 0,
    };
    const w = new Float32Array(6);
    expect(() => addon.conv2dForward(new Uint16Array(31), w, null, new Uint16Array(48), p)).toThrow(
      "conv2dForward x: length 31 does not match the convolution's 32",
    );
    expect(() => addon.conv2dForward(new Uint16Array(32), w, null, new Float32Array(47), p)).toThrow(
      "conv2dForward y: length 47 does not match the convolution's 48",
    );
    // the GEMM entry points (float32 here: bf16-emulated is direct only) check every array too
    const pf = { ...p, precision: 0 as const };
    const [x32, y48] = [new Float32Array(32), new Float32Array(48)];
    expect(() => addon.conv2dForwardGemm(new Float32Array(31), w, null, y48, pf)).toThrow(
      "conv2dForwardGemm x: length 31 does not match the convolution's 32",
    );
    expect(() => addon.conv2dForwardGemm(x32, new Float32Array(5), null, y48, pf)).toThrow(
      "conv2dForwardGemm w: length 5 does not match the convolution's 6",
    );
    expect(() => addon.conv2dForwardGemm(x32, w, new Float32Array(2), y48, pf)).toThrow(
      "conv2dForwardGemm bias: length 2 does not match the convolution's 3",
    );
    expect(() => addon.conv2dForwardGemm(x32, w, null, new Float32Array(47), pf)).toThrow(
      "conv2dForwardGemm y: length 47 does not match the convolution's 48",
    );
    expect(() => addon.conv2dBackwardDataGemm(new Float32Array(47), w, x32, pf)).toThrow(
      "conv2dBackwardDataGemm dy: length 47 does not match the convolution's 48",
    );
    expect(() => addon.conv2dBackwardDataGemm(y48, w, new Float32Array(33), pf)).toThrow(
      "conv2dBackwardDataGemm dx: length 33 does not match the convolution's 32",
    );
    expect(() => addon.conv2dBackwardWeightsGemm(x32, y48, new Float32Array(7), pf)).toThrow(
      "conv2dBackwardWeightsGemm dw: length 7 does not match the convolution's 6",
    );
    expect(() => addon.conv2dBackwardWeightsGemm(x32, new Uint16Array(48), w, pf)).toThrow(
      'conv2dBackwardWeightsGemm: a float32 convolution got a bf16 array',
    );
    addon.conv2dForwardGemm(x32.fill(1), w.fill(0.5), null, y48, pf);
    expect(Array.from(y48)).toEqual(new Array(48).fill(1)); // 2 channels x 1 x 0.5: the right lengths run
  });

  it('bf16 bits reach only the methods and kernels that take them', () => {
    const b = onednn();
    setConvPrecision('bf16-emulated');
    expect(activationIn(b, null)).toBeNull();
    expect(activationIn(b, tf.tensor1d([1, 2], 'int32'))).toBeNull();
    const p = convParams(convInfo([1, 4, 4, 2], [1, 1, 2, 3], { strides: 1, pad: 'valid', dataFormat: 'NHWC' }))!;
    const [x, w, y] = [new Uint16Array(32), new Float32Array(6), new Float32Array(48)];
    // GEMM runs float32 and native bf16; bf16-emulated is direct only, Winograd float32 only
    expect(() => runConvForward(p, x, w, null, y, 'gemm')).toThrow(
      'conv gemm: bf16-emulated convolutions take the direct path',
    );
    expect(() => runConvBackwardWeights(p, x, new Uint16Array(48), w, 'winograd')).toThrow(
      'onednn: the winograd convolution takes float32 arrays, got a bf16 activation (direct or gemm)',
    );
    setConvPrecision('fp32');
    const pf = convParams(convInfo([1, 4, 4, 2], [1, 1, 2, 3], { strides: 1, pad: 'valid', dataFormat: 'NHWC' }))!;
    expect(() => runConvForward(pf, x, w, null, y, 'gemm')).toThrow(
      'conv2dForwardGemm: a float32 convolution got a bf16 array',
    );
    setConvPrecision('bf16-emulated');
    // a broadcast (here a per-channel bias) with a bf16 operand: the native kernel reads its float32 values
    const a = tf.conv2d(
      tf.tensor4d(rand(2 * 5 * 5 * 3, 8), [2, 5, 5, 3]),
      tf.tensor4d(rand(9, 9), [1, 1, 3, 3]),
      1,
      'valid',
    );
    expect(b.bf16Values(a)).not.toBeNull();
    const bias = tf.tensor1d([0.5, -1, 2]);
    const before = statsSnapshot();
    const sum = tf.add(a, bias);
    assertNativeSince(before, ['Add']);
    const av = a.dataSync(),
      got = sum.dataSync();
    for (let i = 0; i < got.length; i++) expect(got[i]).toBe(Math.fround(av[i] + [0.5, -1, 2][i % 3]));
    tf.dispose([a, bias, sum]);
  });

  it('reshape reads no values: a reshaped bf16 tensor stays unwidened; complex tensors reshape as on cpu', () => {
    const b = onednn();
    const t = tf.engine().makeTensorFromTensorInfo(b.makeBf16TensorInfo([2, 3, 4], bitsOf(rand(24, 6))));
    const widened0 = b.bf16Stats.widened;
    const r = tf.reshape(t, [4, -1]);
    expect(r.shape).toEqual([4, 6]);
    expect(b.bf16Values(r), 'the same data').toBe(b.bf16Values(t));
    expect(b.bf16Stats.widened - widened0).toBe(0);
    const c = tf.complex(tf.tensor1d([1, 2, 3, 4]), tf.tensor1d([5, 6, 7, 8]));
    const rc = tf.reshape(c, [2, 2]);
    expect(Array.from(tf.imag(rc).dataSync())).toEqual([5, 6, 7, 8]);
    expect(tf.real(rc).shape).toEqual([2, 2]);
    tf.dispose([t, r, c, rc]);
  });

  it('fp32 makes no bf16 tensor; a bf16 tensor left from bf16 is read as float32 by every method', () => {
    const b = onednn();
    setConvPrecision('bf16-emulated');
    const x = tf.tensor4d(rand(2 * 8 * 8 * 4, 3), [2, 8, 8, 4]);
    const w = tf.tensor4d(rand(3 * 3 * 4 * 8, 4), [3, 3, 4, 8]);
    const y = tf.conv2d(x, w, 1, 'same');
    expect(b.bf16Values(y)).not.toBeNull();
    setConvPrecision('fp32');
    const created0 = b.bf16Stats.created;
    const w2 = tf.tensor4d(rand(3 * 3 * 8 * 8, 5), [3, 3, 8, 8]);
    const z = tf.conv2d(y as tf.Tensor4D, w2, 1, 'same');
    expect(b.bf16Stats.created - created0).toBe(0);
    expect(b.bf16Values(z)).toBeNull();
    useBackendNow('cpu');
    const ref = tf.conv2d(
      tf.tensor4d(y.dataSync(), y.shape as number[] as [number, number, number, number]),
      tf.tensor4d(w2.dataSync(), w2.shape),
      1,
      'same',
    );
    expect(relErr(z.dataSync(), ref.dataSync())).toBeLessThan(1e-5);
    tf.dispose([x, w, y, w2, z, ref]);
  });
});

const precisions: [Precision, boolean][] = [
  ['bf16-emulated', addonAvailable],
  ['bf16', nativeBf16],
];

for (const [precision, available] of precisions) {
  describe.skipIf(!available)(`bf16 activations: kernels and training steps in ${precision}`, () => {
    beforeAll(() => {
      onednn();
    });
    afterEach(() => setConvPrecision('fp32'));

    /** The kernel's result on the onednn back end in `precision`, and whether it came out as a bf16 tensor. */
    function onOneDnn(f: () => tf.Tensor | tf.Tensor[]): { values: Float32Array[]; bf16: boolean[] } {
      const b = onednn();
      setConvPrecision(precision);
      const out = [f()].flat();
      const r = {
        values: out.map((t) => t.dataSync().slice() as Float32Array),
        bf16: out.map((t) => b.bf16Values(t) != null),
      };
      setConvPrecision('fp32');
      tf.dispose(out);
      return r;
    }
    function onCpu(f: () => tf.Tensor | tf.Tensor[]): Float32Array[] {
      useBackendNow('cpu');
      const out = [f()].flat();
      const r = out.map((t) => t.dataSync().slice() as Float32Array);
      tf.dispose(out);
      return r;
    }

    it('batch norm + ReLU: y is float32 BN of the bf16 input, rounded once; the statistics stay float32', () => {
      const shape = [4, 6, 6, 24];
      const xv = bf16RoundJs(rand(4 * 6 * 6 * 24, 7).map((v) => v * 3 + 0.5));
      const scale = rand(24, 8).map((v) => v + 1.5),
        offset = rand(24, 9);
      const make = () => {
        const x = tf.tensor(xv, shape);
        const r = batchNormTrain(x, tf.tensor1d(scale), tf.tensor1d(offset), 1e-5, true);
        return [r.y, r.mean, r.variance];
      };
      const before = statsSnapshot();
      const got = onOneDnn(make);
      assertNativeSince(before, ['ResnetBatchNormTrain']);
      const want = onCpu(make);
      expect(got.bf16).toEqual([true, false, false]);
      expect(relErr(got.values[0], bf16RoundJs(want[0]))).toBeLessThan(1e-3);
      expect(Array.from(bf16RoundJs(got.values[0]))).toEqual(Array.from(got.values[0]));
      expect(relErr(got.values[1], want[1])).toBeLessThan(1e-5);
      expect(relErr(got.values[2], want[2])).toBeLessThan(1e-5);
    });

    it('batch norm + ReLU gradient: dx from bf16 dy, x and y is float32 maths rounded once; dScale, dOffset float32', () => {
      const shape = [3, 5, 5, 16];
      const n = 3 * 5 * 5 * 16;
      const xv = bf16RoundJs(rand(n, 31).map((v) => v * 2 + 0.3)),
        dyv = bf16RoundJs(rand(n, 32));
      const scale = rand(16, 33).map((v) => v + 1.5),
        offset = rand(16, 34);
      const make = (bf16Input: boolean) => {
        // on onednn, a 1x1 identity convolution makes x and dy bf16 activations
        const eye = tf.eye(16).reshape([1, 1, 16, 16]) as tf.Tensor4D;
        const act = (v: Float32Array) => {
          const t = tf.tensor4d(v, shape as [number, number, number, number]);
          return bf16Input ? tf.conv2d(t, eye, 1, 'valid') : t;
        };
        const x = act(xv),
          dy = act(dyv);
        const f = (xi: tf.Tensor, s: tf.Tensor, o: tf.Tensor) =>
          batchNormTrain(xi, s as tf.Tensor1D, o as tf.Tensor1D, 1e-5, true).y;
        return tf.grads(f)([x, tf.tensor1d(scale), tf.tensor1d(offset)], dy);
      };
      const before = statsSnapshot();
      const got = onOneDnn(() => make(true));
      assertNativeSince(before, ['ResnetBatchNormTrainGrad']);
      const want = onCpu(() => make(false));
      expect(got.bf16).toEqual([true, false, false]);
      expect(relErr(got.values[0], want[0]), 'dx').toBeLessThan(5e-3);
      expect(Array.from(bf16RoundJs(got.values[0]))).toEqual(Array.from(got.values[0]));
      expect(relErr(got.values[1], want[1]), 'dScale').toBeLessThan(1e-4);
      expect(relErr(got.values[2], want[2]), 'dOffset').toBeLessThan(1e-4);
    });

    it('residual add + ReLU, ReLU and max pooling keep bf16 (ReLU and max exactly); average pooling and add are float32', () => {
      const shape: [number, number, number, number] = [2, 9, 9, 16];
      const av = rand(2 * 9 * 9 * 16, 11),
        bv = rand(2 * 9 * 9 * 16, 12);
      // bf16 inputs: the outputs of a convolution in this precision
      const w = tf.tidy(() => tf.eye(16).reshape([1, 1, 16, 16]));
      const asActivation = (v: Float32Array) => tf.conv2d(tf.tensor4d(v, shape), w as tf.Tensor4D, 1, 'valid');
      const make = () => {
        const a = asActivation(av),
          b = asActivation(bv);
        return [addRelu(a, b), tf.relu(a), tf.maxPool(a, 3, 2, 'same'), tf.avgPool(a, 3, 2, 'same'), tf.add(a, b)];
      };
      const before = statsSnapshot();
      const got = onOneDnn(make);
      assertNativeSince(before, ['ResnetAddRelu', 'Relu', 'MaxPool', 'AvgPool', 'Add']);
      expect(got.bf16).toEqual([true, true, true, false, false]);
      const ra = bf16RoundJs(av),
        rb = bf16RoundJs(bv);
      const want = onCpu(() => {
        const a = tf.tensor4d(ra, shape),
          b = tf.tensor4d(rb, shape);
        return [
          tf.relu(tf.add(a, b)),
          tf.relu(a),
          tf.maxPool(a, 3, 2, 'same'),
          tf.avgPool(a, 3, 2, 'same'),
          tf.add(a, b),
        ];
      });
      expect(relErr(got.values[0], bf16RoundJs(want[0]))).toBeLessThan(1e-6);
      expect(Array.from(got.values[1]), 'ReLU: exact').toEqual(Array.from(want[1]));
      expect(Array.from(got.values[2]), 'max pooling: exact').toEqual(Array.from(want[2]));
      expect(relErr(got.values[3], want[3])).toBeLessThan(1e-6);
      expect(Array.from(got.values[4]), 'a sum of bf16 activations: float32').toEqual(Array.from(want[4]));
      // a bf16 and a float32 operand
      const mixed = onOneDnn(() => tf.sub(asActivation(av), tf.tensor4d(bv, shape)));
      expect(mixed.bf16).toEqual([false]);
      const mixedWant = onCpu(() => tf.sub(tf.tensor4d(ra, shape), tf.tensor4d(bv, shape)));
      expect(Array.from(mixed.values[0])).toEqual(Array.from(mixedWant[0]));
      w.dispose();
    });

    it('a training step of each recipe: activations and their gradients bf16, none widened, losses as fp32', () => {
      const b = onednn();
      for (const name of ['fast', 'seed'] as const) {
        const r = trainingRecipe(name);
        const losses: Record<string, number> = {};
        for (const p of ['fp32', precision] as Precision[]) {
          setConvPrecision(p);
          const net = new ResNet(r.model);
          net.build([r.resize, r.resize, 1]);
          tf.tidy(() =>
            net.trainableVariables().forEach((v, i) => v.assign(tf.randomUniform(v.shape, -0.1, 0.1, 'float32', i))),
          );
          const opt = recipeOptimizer(r);
          const x = tf.randomUniform([8, r.resize, r.resize, 1], 0, 1, 'float32', 3);
          const y = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7]);
          trainStep(net, opt, { x, y }, recipeStepOptions(r)); // first step: primitives, measuring
          const s0 = { ...b.bf16Stats };
          const { loss } = trainStep(net, opt, { x, y }, recipeStepOptions(r));
          losses[p] = loss;
          const created = b.bf16Stats.created - s0.created,
            widened = b.bf16Stats.widened - s0.widened;
          if (p === 'fp32') expect(created, `${name} fp32`).toBe(0);
          else {
            // 20 convolutions (fast) / 17 (seed), their BNs, ReLUs, pools and residual outputs, BN gradients
            expect(created, `${name}: bf16 tensors per step`).toBeGreaterThan(50);
            expect(widened, `${name}: bf16 tensors whose float32 values a kernel read`).toBe(0);
            // evaluation: inference batch norm reads and writes bf16 as well
            const e0 = { ...b.bf16Stats };
            tf.tidy(() => net.apply(x, { training: false }).dataSync());
            expect(b.bf16Stats.created - e0.created, `${name}: evaluation`).toBeGreaterThan(15);
            expect(b.bf16Stats.widened - e0.widened, `${name}: evaluation, widened`).toBe(0);
          }
          tf.dispose([x, y]);
          net.dispose();
          opt.dispose();
        }
        expect(Math.abs(losses[precision] - losses.fp32), `${name}: ${JSON.stringify(losses)}`).toBeLessThan(
          0.02 * Math.abs(losses.fp32),
        );
      }
    });
  });
}
