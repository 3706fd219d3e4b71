/**
 * One training step by hand: the update that train() applies with a schedule, weight decay and
 * (Nesterov) momentum equals the formula computed here from the same gradient.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/tfjs_setup';
import { BatchNorm, Dense } from '../../src/nn/layers';
import { Sequential } from '../../src/nn/module';
import { seedInitializers } from '../../src/nn/init';
import { softmaxCrossEntropy } from '../../src/train/metrics';
import { train } from '../../src/train/train';
import { recalibrateBatchNorm } from '../../src/train/recalibrate';
import type { BatchSource } from '../../src/train/batches';

const quiet = () => {};

function source(batches: number): BatchSource {
  return {
    numExamples: 4 * batches,
    numBatches: batches,
    *epoch(e: number) {
      for (let b = 0; b < batches; b++) {
        const seed = 100 * e + b;
        yield {
          x: tf.randomUniform([4, 2, 2, 3], -1, 1, 'float32', seed) as tf.Tensor4D,
          y: tf.tensor1d([0, 1, 2, 1], 'int32'),
        };
      }
    },
  };
}

function net(): Sequential {
  seedInitializers(5);
  const n = new Sequential(new BatchNorm(), new Dense(3)).build([2, 2, 3]);
  seedInitializers(undefined);
  return n;
}

/** The gradient of the loss on batch (epoch 0, batch b) at the net's current weights, by name (a training-mode pass: BN statistics move as in train()). */
function gradsAt(n: Sequential, b: number): Map<string, Float32Array> {
  const batch = [...source(b + 1).epoch(0)][b];
  const named = n.namedVariables().filter(([, v]) => v.trainable);
  const { grads } = tf.variableGrads(
    () => softmaxCrossEntropy(n.apply(batch.x, { training: true }), batch.y),
    named.map(([, v]) => v),
  );
  return new Map(named.map(([name, v]) => [name, grads[v.name].dataSync() as Float32Array]));
}

const values = (n: Sequential) =>
  new Map(n.namedVariables().map(([name, v]) => [name, Float32Array.from(v.dataSync())]));

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('the optimizer step train() takes', () => {
  it('SGD with a schedule and weight decay: w1 = w0 - lr(0) * (g + wd * w0) for weights, no decay for BN and biases', async () => {
    const a = net();
    const w0 = values(a);
    const g = gradsAt(net(), 0);
    await train({
      trainData: source(1),
      testData: source(1),
      net: a,
      epochs: 1,
      log: quiet,
      progress: 'none',
      optimizer: tf.train.sgd(1),
      schedule: (step) => 0.1 + step,
      weightDecay: 0.01,
    });
    const w1 = values(a);
    for (const [name, g0] of g) {
      const decay = name.endsWith('.weight') ? 0.01 : 0;
      const expected = w0.get(name)!.map((w, i) => w - 0.1 * (g0[i] + decay * w));
      for (let i = 0; i < expected.length; i++) expect(w1.get(name)![i], `${name}[${i}]`).toBeCloseTo(expected[i], 6);
    }
    // The decayed and undecayed variables both exist, so both branches were checked.
    expect([...g.keys()].some((n) => n.endsWith('.weight'))).toBe(true);
    expect([...g.keys()].some((n) => !n.endsWith('.weight'))).toBe(true);
  });

  it('Nesterov momentum over two steps with a changing learning rate, as PyTorch defines it', async () => {
    const m = 0.9,
      lrs = [0.05, 0.02];
    const a = net();
    await train({
      trainData: source(2),
      testData: source(1),
      net: a,
      epochs: 1,
      log: quiet,
      progress: 'none',
      optimizer: tf.train.momentum(1, m, true),
      schedule: (step) => lrs[step],
    });
    // By hand: buf = m*buf + g; w -= lr * (g + m*buf).
    const b = net();
    const buf = new Map<string, Float32Array>();
    for (let step = 0; step < 2; step++) {
      const g = gradsAt(b, step);
      for (const [name, v] of b.namedVariables()) {
        if (!v.trainable) continue;
        const gi = g.get(name)!;
        const prev = buf.get(name) ?? new Float32Array(gi.length);
        const next = prev.map((p, i) => m * p + gi[i]);
        buf.set(name, next);
        const w = v.dataSync();
        v.assign(
          tf.tensor(
            Float32Array.from(w, (wi, i) => wi - lrs[step] * (gi[i] + m * next[i])),
            v.shape,
          ),
        );
      }
    }
    const got = values(a),
      want = values(b);
    for (const [name, w] of want) {
      for (let i = 0; i < w.length; i++) expect(got.get(name)![i], `${name}[${i}]`).toBeCloseTo(w[i], 5);
    }
  });

  it('recalibrateBatches: evaluation sees the recalibrated statistics, as recalibrateBatchNorm after training', async () => {
    const a = net(),
      b = net();
    const ra = await train({
      trainData: source(3),
      testData: source(2),
      net: a,
      epochs: 1,
      log: quiet,
      progress: 'none',
      recalibrateBatches: 2,
    });
    await train({ trainData: source(3), testData: source(2), net: b, epochs: 1, log: quiet, progress: 'none' });
    const before = values(b).get('0.running_mean')!;
    recalibrateBatchNorm(b, source(3), 2, 0);
    const wa = values(a),
      wb = values(b);
    expect(Array.from(wb.get('0.running_mean')!)).not.toEqual(Array.from(before));
    for (const name of ['0.running_mean', '0.running_var']) {
      for (let i = 0; i < wb.get(name)!.length; i++) expect(wa.get(name)![i], name).toBeCloseTo(wb.get(name)![i], 6);
    }
    expect(ra.history[0].testAcc).toBeGreaterThanOrEqual(0);
  });
});
