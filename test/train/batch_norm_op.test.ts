import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/tfjs_setup';
import {
  batchNormTrain,
  batchNormTrainForwardJs,
  BATCH_NORM_TRAIN,
  BATCH_NORM_TRAIN_GRAD,
} from '../../src/ops/batch_norm_train';
import { useBackendNow } from '../helpers/backend';

useBackendNow('cpu');

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** Runs batchNormTrain with the fused 'cpu' kernels, or with them hidden (composed tfjs ops). */
function run(fused: boolean, x: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D, dy: tf.Tensor, relu = false) {
  const saved = [BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD].map((k) => tf.getKernel(k, 'cpu')!);
  if (!fused) saved.forEach((k) => tf.unregisterKernel(k.kernelName, 'cpu'));
  try {
    let stats: number[][] = [];
    const grads = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
      const r = batchNormTrain(xx, gg as tf.Tensor1D, bb as tf.Tensor1D, 1e-5, relu);
      stats = [Array.from(r.mean.dataSync()), Array.from(r.variance.dataSync())];
      r.mean.dispose();
      r.variance.dispose();
      return tf.sum(tf.mul(r.y, dy));
    })([x, g, b]);
    const y = tf.tidy(() => {
      const r = batchNormTrain(x, g, b, 1e-5, relu);
      r.mean.dispose();
      r.variance.dispose();
      return r.y;
    });
    return { y, grads, stats };
  } finally {
    if (!fused) saved.forEach((k) => tf.registerKernel(k));
  }
}

describe('fused training-mode batch norm', () => {
  for (const shape of [
    [3, 5, 7, 6],
    [16, 10],
    [1, 2, 3, 17],
  ]) {
    it(`fused kernels agree with composed tfjs ops on ${JSON.stringify(shape)}`, () => {
      const c = shape[shape.length - 1];
      const x = tf.randomNormal(shape, 0.5, 2, 'float32', 1);
      const g = tf.randomUniform([c], 0.5, 1.5, 'float32', 2) as tf.Tensor1D;
      const b = tf.randomNormal([c], 0, 1, 'float32', 3) as tf.Tensor1D;
      const dy = tf.randomNormal(shape, 0, 1, 'float32', 4);
      const fused = run(true, x, g, b, dy);
      const composed = run(false, x, g, b, dy);
      expect(maxAbsDiff(fused.y, composed.y)).toBeLessThan(1e-4);
      fused.grads.forEach((gr, i) => expect(maxAbsDiff(gr, composed.grads[i])).toBeLessThan(2e-4));
      fused.stats.forEach((s, i) => s.forEach((v, j) => expect(v).toBeCloseTo(composed.stats[i][j], 4)));
      // Normalised output: per-channel mean 0 and (biased) variance 1 when gamma=1, beta=0.
      const ones = tf.ones([c]) as tf.Tensor1D,
        zeros = tf.zeros([c]) as tf.Tensor1D;
      const r = batchNormTrain(x, ones, zeros, 0);
      const m = tf.moments(
        r.y,
        shape.slice(0, -1).map((_, i) => i),
      );
      expect(tf.max(tf.abs(m.mean)).dataSync()[0]).toBeLessThan(1e-5);
      expect(tf.max(tf.abs(tf.sub(m.variance, 1))).dataSync()[0]).toBeLessThan(1e-4);
    });
  }

  it('with relu: fused kernels, composed ops and tf.relu after the plain op agree', () => {
    const shape = [4, 5, 5, 12];
    const x = tf.randomNormal(shape, 0.5, 2, 'float32', 11);
    const g = tf.randomUniform([12], 0.5, 1.5, 'float32', 12) as tf.Tensor1D;
    const b = tf.randomNormal([12], 0, 1, 'float32', 13) as tf.Tensor1D;
    const dy = tf.randomNormal(shape, 0, 1, 'float32', 14);
    const fused = run(true, x, g, b, dy, true);
    const composed = run(false, x, g, b, dy, true);
    // reference: the plain op, then tf.relu, differentiated by tfjs
    const ref = tf.grads((xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
      const r = batchNormTrain(xx, gg as tf.Tensor1D, bb as tf.Tensor1D, 1e-5);
      tf.dispose([r.mean, r.variance]);
      return tf.sum(tf.mul(tf.relu(r.y), dy));
    })([x, g, b]);
    const yRef = tf.tidy(() => {
      const r = batchNormTrain(x, g, b, 1e-5);
      return tf.relu(r.y);
    });
    const zeros = tf.sum(tf.equal(fused.y, 0)).dataSync()[0];
    expect(zeros).toBeGreaterThan(0.2 * x.size); // the clamp is exercised...
    expect(zeros).toBeLessThan(0.8 * x.size); // ...and so is the pass-through
    expect(maxAbsDiff(fused.y, yRef)).toBeLessThan(1e-6);
    expect(maxAbsDiff(composed.y, yRef)).toBeLessThan(1e-4);
    ref.forEach((gr, i) => {
      expect(maxAbsDiff(fused.grads[i], gr)).toBeLessThan(1e-5);
      expect(maxAbsDiff(composed.grads[i], gr)).toBeLessThan(2e-4);
    });
  });

  it('gradient matches finite differences', () => {
    const x = tf.randomNormal([4, 3, 3, 2], 0, 1, 'float32', 5);
    const g = tf.tensor1d([1.3, 0.7]);
    const b = tf.tensor1d([0.1, -0.2]);
    const w = tf.randomNormal([4, 3, 3, 2], 0, 1, 'float32', 6);
    const f = (xx: tf.Tensor) =>
      tf.tidy(() => {
        const r = batchNormTrain(xx, g, b, 1e-3);
        r.mean.dispose();
        r.variance.dispose();
        return tf.sum(tf.mul(tf.square(r.y), w));
      });
    const analytic = tf.grad(f)(x).dataSync();
    const xv = x.dataSync().slice();
    const h = 1e-2;
    for (const i of [0, 7, 35, 71]) {
      const plus = xv.slice();
      plus[i] += h;
      const minus = xv.slice();
      minus[i] -= h;
      const num = (f(tf.tensor(plus, x.shape)).dataSync()[0] - f(tf.tensor(minus, x.shape)).dataSync()[0]) / (2 * h);
      expect(analytic[i]).toBeCloseTo(num, 1);
      expect(Math.abs(analytic[i] - num)).toBeLessThan(0.02 * Math.max(1, Math.abs(num)));
    }
  });

  it('names the shapes when scale or offset does not match the channels, or x has no batch axis', () => {
    expect(() => batchNormTrain(tf.zeros([2, 3]), tf.ones([4]) as tf.Tensor1D, tf.zeros([4]) as tf.Tensor1D)).toThrow(
      /x \[2,3\].*scale \[4\]/,
    );
    expect(() => batchNormTrain(tf.zeros([2, 3]), tf.ones([3]) as tf.Tensor1D, tf.zeros([2]) as tf.Tensor1D)).toThrow(
      /x \[2,3\], scale \[3\], offset \[2\]/,
    );
    expect(() => batchNormTrain(tf.zeros([3]), tf.ones([3]) as tf.Tensor1D, tf.zeros([3]) as tf.Tensor1D)).toThrow(
      /expected x \[\.\.\., C\].*got x \[3\]/,
    );
    // scale alone wrong (the offset right): refused for the scale
    expect(() => batchNormTrain(tf.zeros([2, 3]), tf.ones([4]) as tf.Tensor1D, tf.zeros([3]) as tf.Tensor1D)).toThrow(
      /x \[2,3\], scale \[4\], offset \[3\]/,
    );
  });

  it('the JS gradient kernel with relu needs the forward output: an error naming it, not a crash', () => {
    const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const c = tf.tensor1d([1, 1]);
    expect(() =>
      tf
        .engine()
        .runKernel(
          BATCH_NORM_TRAIN_GRAD,
          { dy: x, x, scale: c, mean: c, variance: c },
          { varianceEpsilon: 1e-5, relu: true },
        ),
    ).toThrow(`${BATCH_NORM_TRAIN_GRAD}: attrs.relu needs the forward output as inputs.y`);
    tf.dispose([x, c]);
  });

  it('the JS forward reference has no relu unless asked', () => {
    const x = Float32Array.from([-1, 1]); // one channel: mean 0, variance 1
    const plain = batchNormTrainForwardJs(x, 1, Float32Array.of(1), Float32Array.of(0), 0);
    expect(Array.from(plain.y)).toEqual([-1, 1]);
    const relu = batchNormTrainForwardJs(x, 1, Float32Array.of(1), Float32Array.of(0), 0, true);
    expect(Array.from(relu.y)).toEqual([0, 1]);
  });

  it("the fused JS kernel's relu turns -0 into +0, as tf.relu does (bit for bit)", () => {
    // A channel of -0 with offset -0: (x - mean) * a + b is -0 + -0 = -0 before the relu.
    const x = tf.tensor2d([-0, 1, -0, 2], [2, 2]);
    const r = batchNormTrain(x, tf.ones([2]) as tf.Tensor1D, tf.tensor1d([-0, 0]), 1e-5, true);
    const plain = batchNormTrain(x, tf.ones([2]) as tf.Tensor1D, tf.tensor1d([-0, 0]), 1e-5, false);
    const y = Array.from(r.y.dataSync());
    expect(Object.is(plain.y.dataSync()[0], -0)).toBe(true);
    expect(Object.is(y[0], 0) && Object.is(y[2], 0)).toBe(true);
    expect(Object.is(tf.relu(plain.y).dataSync()[0], 0)).toBe(true);
  });

  // A channel whose values are all equal has variance 0: only epsilon keeps 1/sqrt(var + eps) finite
  // (a sign slip, var - eps, gives NaN). Both paths: the fused kernels and the composed ops.
  it.each([true, false])('a constant channel normalises to the offset, with finite gradients (fused %s)', (fused) => {
    const x = tf.tensor2d([
      [5, 1],
      [5, 2],
      [5, 4],
    ]);
    const g = tf.tensor1d([2, 1]);
    const b = tf.tensor1d([0.5, 0]);
    const dy = tf.tensor2d([
      [1, 0.5],
      [-2, 1],
      [0.25, -1],
    ]);
    const r = run(fused, x, g, b, dy);
    const y = Array.from(r.y.dataSync());
    // (x - mean) * a + b in float32: 0.5 up to rounding; var - eps instead would make a NaN
    for (const v of [y[0], y[2], y[4]]) expect(v).toBeCloseTo(0.5, 3);
    for (const v of [...y, ...r.grads.flatMap((t) => Array.from(t.dataSync()))]) expect(Number.isFinite(v)).toBe(true);
  });

  it('uses the fused kernels where the back end has them, the composed ops where it does not', async () => {
    const x = tf.randomNormal([4, 3, 3, 2], 0, 1, 'float32', 7);
    const g = tf.ones([2]) as tf.Tensor1D;
    const b = tf.zeros([2]) as tf.Tensor1D;
    const names = async (fused: boolean) => {
      const saved = [BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD].map((k) => tf.getKernel(k, 'cpu')!);
      if (!fused) saved.forEach((k) => tf.unregisterKernel(k.kernelName, 'cpu'));
      try {
        const info = await tf.profile(() => tf.grads((xx: tf.Tensor) => tf.sum(batchNormTrain(xx, g, b).y))([x]));
        return info.kernelNames;
      } finally {
        if (!fused) saved.forEach((k) => tf.registerKernel(k));
      }
    };
    expect(await names(true)).toEqual(expect.arrayContaining([BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD]));
    const composed = await names(false);
    expect(composed).not.toContain(BATCH_NORM_TRAIN);
    expect(composed).not.toContain(BATCH_NORM_TRAIN_GRAD);
  });
});
