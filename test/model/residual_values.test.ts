/**
 * The residual connection, checked by value: with the main path's last scale zeroed, each block
 * reduces to (a ReLU of) its shortcut plus a known constant, so dropping or changing the shortcut
 * fails here. Variables are set through namedVariables(); the projection is found as the variables
 * a shape-changing block has beyond a shape-keeping one, so renaming its fields does not matter.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Bottleneck, PreActResidual, Residual } from '../../src';
import type { Module } from '../../src/nn/module';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const EPS = 1e-5;

function vars(m: Module): Map<string, tf.Variable> {
  return new Map(m.namedVariables());
}

/** Names of the projection's variables: what `changed` has and `kept` lacks. */
function projectionVars(changed: Module, kept: Module): { weight: tf.Variable; bias?: tf.Variable } {
  const keptNames = new Set(kept.namedVariables().map(([n]) => n));
  const extra = changed.namedVariables().filter(([n]) => !keptNames.has(n));
  const weight = extra.find(([, v]) => v.rank === 4);
  const bias = extra.find(([, v]) => v.rank === 1);
  expect(weight, `projection weight among ${extra.map(([n]) => n)}`).toBeDefined();
  expect(extra.length).toBeLessThanOrEqual(2);
  return { weight: weight![1], bias: bias?.[1] };
}

function set(v: tf.Variable, values: tf.Tensor): void {
  expect(values.shape).toEqual(v.shape);
  v.assign(values);
}

/** A varying per-channel vector with both signs. */
function ramp(c: number, scale = 0.3): tf.Tensor1D {
  return tf.tensor1d(Array.from({ length: c }, (_, i) => scale * (i % 2 === 0 ? 1 : -1) * (1 + i / c)));
}

function expectClose(actual: tf.Tensor, expected: tf.Tensor, tol = 1e-5): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.dataSync(),
    e = expected.dataSync();
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - e[i]));
  expect(worst).toBeLessThan(tol);
}

/** Input with both signs, so a missing or extra ReLU shows. */
const input = (shape: number[]) => tf.randomNormal(shape, 0, 1, 'float32', 7);

/** Gives a 1x1 projection known weights; returns the shortcut it computes from `src`. */
function setProjection(p: { weight: tf.Variable; bias?: tf.Variable }, src: tf.Tensor4D, strides: number): tf.Tensor {
  set(p.weight, tf.randomNormal(p.weight.shape, 0, 0.5, 'float32', 11));
  if (p.bias) set(p.bias, ramp(p.bias.shape[0], 0.2));
  const conv = tf.conv2d(src, p.weight as tf.Tensor4D, strides, 'valid');
  return p.bias ? tf.add(conv, p.bias) : conv;
}

for (const training of [false, true]) {
  describe(`residual connection by value (${training ? 'training' : 'inference'} mode)`, () => {
    it('Residual, identity shortcut: last BN scale 0 makes the block relu(x + beta)', () => {
      const x = input([2, 5, 5, 4]);
      const blk = new Residual(4);
      blk.build([5, 5, 4]);
      const v = vars(blk);
      set(v.get('bn2.gamma')!, tf.zeros([4]));
      const beta = ramp(4);
      set(v.get('bn2.beta')!, beta);
      expectClose(blk.apply(x, { training }), tf.relu(tf.add(x, beta)));
    });

    it('Residual, projected shortcut: last BN scale 0 makes the block relu(conv1x1/2(x) + beta)', () => {
      const x = input([2, 6, 6, 3]);
      const blk = new Residual(8, { sameShape: false });
      blk.build([6, 6, 3]);
      const kept = new Residual(8);
      kept.build([6, 6, 8]);
      const shortcut = setProjection(projectionVars(blk, kept), x as tf.Tensor4D, 2);
      const v = vars(blk);
      set(v.get('bn2.gamma')!, tf.zeros([8]));
      const beta = ramp(8);
      set(v.get('bn2.beta')!, beta);
      const y = blk.apply(x, { training });
      expect(y.shape).toEqual([2, 3, 3, 8]);
      expectClose(y, tf.relu(tf.add(shortcut, beta)));
    });

    it('Bottleneck, identity shortcut: last BN scale 0 makes the block relu(x + beta)', () => {
      const x = input([2, 5, 5, 8]);
      const blk = new Bottleneck(8);
      blk.build([5, 5, 8]);
      const v = vars(blk);
      set(v.get('bn3.gamma')!, tf.zeros([8]));
      const beta = ramp(8);
      set(v.get('bn3.beta')!, beta);
      expectClose(blk.apply(x, { training }), tf.relu(tf.add(x, beta)));
    });

    for (const sameShape of [false, true]) {
      // sameShape with a channel change still needs a projection (first block of a stage).
      it(`Bottleneck, projected shortcut (sameShape ${sameShape}): relu(conv1x1(x) + beta)`, () => {
        const x = input([2, 6, 6, 4]);
        const strides = sameShape ? 1 : 2;
        const blk = new Bottleneck(16, { sameShape, inChannels: 4 });
        blk.build([6, 6, 4]);
        const kept = new Bottleneck(16);
        kept.build([6, 6, 16]);
        const shortcut = setProjection(projectionVars(blk, kept), x as tf.Tensor4D, strides);
        const v = vars(blk);
        set(v.get('bn3.gamma')!, tf.zeros([16]));
        const beta = ramp(16);
        set(v.get('bn3.beta')!, beta);
        const y = blk.apply(x, { training });
        expect(y.shape).toEqual([2, 6 / strides, 6 / strides, 16]);
        expectClose(y, tf.relu(tf.add(shortcut, beta)));
      });
    }

    it('PreActResidual, identity shortcut: last conv zeroed makes the block x + bias (no ReLU after the add)', () => {
      const x = input([2, 5, 5, 4]);
      const blk = new PreActResidual(4);
      blk.build([5, 5, 4]);
      const v = vars(blk);
      set(v.get('conv2.weight')!, tf.zeros(v.get('conv2.weight')!.shape));
      const bias = ramp(4);
      set(v.get('conv2.bias')!, bias);
      const y = blk.apply(x, { training });
      expectClose(y, tf.add(x, bias));
      expect(y.min().dataSync()[0]).toBeLessThan(0);
    });

    it('PreActResidual, projected shortcut: x + bias where the projection reads relu(bn1(x))', () => {
      const x = input([2, 6, 6, 3]);
      const blk = new PreActResidual(8, { sameShape: false });
      blk.build([6, 6, 3]);
      const kept = new PreActResidual(8);
      kept.build([6, 6, 8]);
      const v = vars(blk);
      // bn1 with a known affine part, so the pre-activation is computable here.
      const gamma1 = tf.tensor1d([1.5, 0.5, 2]);
      const beta1 = tf.tensor1d([0.2, -0.1, 0.3]);
      set(v.get('bn1.gamma')!, gamma1);
      set(v.get('bn1.beta')!, beta1);
      let normed: tf.Tensor;
      if (training) {
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        normed = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, EPS)));
      } else {
        normed = tf.div(x, Math.sqrt(1 + EPS)); // fresh running stats: mean 0, variance 1
      }
      const pre = tf.relu(tf.add(tf.mul(normed, gamma1), beta1)) as tf.Tensor4D;
      const shortcut = setProjection(projectionVars(blk, kept), pre, 2);
      set(v.get('conv2.weight')!, tf.zeros(v.get('conv2.weight')!.shape));
      const bias = ramp(8);
      set(v.get('conv2.bias')!, bias);
      expectClose(blk.apply(x, { training }), tf.add(shortcut, bias), 1e-4);
    });
  });
}

describe('residual blocks with every weight live', () => {
  it('Residual output differs from its main path alone and from relu(shortcut) alone', () => {
    // Guards against the zero-scale tests passing with the main path ignored.
    const x = input([2, 5, 5, 4]);
    const blk = new Residual(4);
    blk.build([5, 5, 4]);
    const y = blk.apply(x);
    const diff = tf.sub(y, tf.relu(x)).abs().max().dataSync()[0];
    expect(diff).toBeGreaterThan(1e-2);
  });

  it('Bottleneck equals its layers composed by hand: conv-BN-ReLU twice, conv-BN, add, ReLU', () => {
    // Inference mode with varied running statistics and scales, so every ReLU cuts something.
    const x = input([2, 4, 4, 8]);
    const blk = new Bottleneck(8);
    blk.build([4, 4, 8]);
    const v = vars(blk);
    for (const i of [1, 2, 3]) {
      const c = v.get(`bn${i}.gamma`)!.shape[0];
      set(v.get(`bn${i}.gamma`)!, ramp(c, 1.5));
      set(v.get(`bn${i}.beta`)!, ramp(c, 0.4));
      set(v.get(`bn${i}.running_mean`)!, ramp(c, 0.2));
      set(v.get(`bn${i}.running_var`)!, tf.add(tf.abs(ramp(c, 0.5)), 0.5) as tf.Tensor1D);
    }
    const layer = (t: tf.Tensor, i: number, relu: boolean) => {
      const conv = tf.add(
        tf.conv2d(t as tf.Tensor4D, v.get(`conv${i}.weight`)! as tf.Tensor4D, 1, 'same'),
        v.get(`conv${i}.bias`)!,
      );
      const bn = tf.batchNorm(
        conv,
        v.get(`bn${i}.running_mean`)!,
        v.get(`bn${i}.running_var`)!,
        v.get(`bn${i}.beta`)!,
        v.get(`bn${i}.gamma`)!,
        EPS,
      );
      return relu ? tf.relu(bn) : bn;
    };
    const want = tf.relu(tf.add(layer(layer(layer(x, 1, true), 2, true), 3, false), x));
    expectClose(blk.apply(x), want, 1e-4);
  });

  it('names every variable of each block kind (checkpoints are keyed by these names)', () => {
    const names = (m: Module, shape: number[]) => {
      m.build(shape);
      return m.namedVariables().map(([n]) => n);
    };
    const bn = (i: number) => [`bn${i}.gamma`, `bn${i}.beta`, `bn${i}.running_mean`, `bn${i}.running_var`];
    const conv = (i: number) => [`conv${i}.weight`, `conv${i}.bias`];
    expect(names(new Residual(4), [5, 5, 4]).sort()).toEqual([...conv(1), ...bn(1), ...conv(2), ...bn(2)].sort());
    expect(names(new Bottleneck(8), [5, 5, 8]).sort()).toEqual(
      [...conv(1), ...conv(2), ...conv(3), ...bn(1), ...bn(2), ...bn(3)].sort(),
    );
    expect(names(new PreActResidual(4), [5, 5, 4]).sort()).toEqual([...bn(1), ...conv(1), ...bn(2), ...conv(2)].sort());
    // a projection only where the shape changes (or inChannels differs)
    expect(names(new Residual(4, { inChannels: 4 }), [5, 5, 4])).not.toContain('shortcut.weight');
    expect(names(new Residual(4, { sameShape: false }), [6, 6, 4])).toContain('shortcut.weight');
    expect(names(new Residual(4, { inChannels: 2 }), [5, 5, 2])).toContain('shortcut.weight');
  });
});
