/**
 * recalibrateBatchNorm: afterwards every running average is the plain mean of the per-batch
 * statistics over the batches it saw, the trainable weights are untouched, and the momentum is back.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/tfjs_setup';
import { BatchNorm, Conv2d, Dense } from '../../src/nn/layers';
import { Sequential } from '../../src/nn/module';
import { seedInitializers } from '../../src/nn/init';
import { recalibrateBatchNorm } from '../../src/train/recalibrate';
import type { Batch, BatchSource } from '../../src/train/batches';

/** Four fixed batches with different scales and offsets, so per-batch statistics differ a lot. */
function source(): BatchSource & { xs: tf.Tensor4D[] } {
  const xs = [0, 1, 2, 3].map(
    (i) =>
      tf.tidy(() =>
        tf.add(tf.mul(tf.randomNormal([5, 4, 4, 2], 0, 1, 'float32', 10 + i), 1 + i), i * 0.5),
      ) as tf.Tensor4D,
  );
  return {
    xs,
    numExamples: 20,
    numBatches: 4,
    *epoch(): Iterable<Batch> {
      for (const x of xs) yield { x: x.clone(), y: tf.zeros([5], 'int32') as tf.Tensor1D } as Batch;
    },
  };
}

function net() {
  seedInitializers(7);
  const n = new Sequential(new Conv2d(3, { kernelSize: 3, padding: 1 }), new BatchNorm(), new Dense(2));
  n.build([4, 4, 2]);
  seedInitializers(undefined);
  return n;
}

const values = (t: tf.Tensor) => Array.from(t.dataSync());
const named = (n: Sequential) => new Map(n.namedVariables());

describe('recalibrateBatchNorm', () => {
  it('sets running mean/variance to the mean of the batch statistics over the first k batches', () => {
    const data = source();
    const n = net();
    const before = new Map([...named(n)].map(([k, v]) => [k, values(v)]));
    const conv = n.children()[0][1];
    // Per-batch statistics of the BatchNorm's input, computed independently with tf.moments.
    const stats = data.xs.slice(0, 3).map((x) =>
      tf.tidy(() => {
        const { mean, variance } = tf.moments(conv.apply(x), [0, 1, 2]);
        return [values(mean), values(variance)];
      }),
    );
    const avg = (j: number) => stats[0][j].map((_, c) => stats.reduce((a, s) => a + s[j][c], 0) / stats.length);
    const tensorsBefore = tf.memory().numTensors;

    expect(recalibrateBatchNorm(n, data, 3)).toBe(3);

    expect(tf.memory().numTensors).toBe(tensorsBefore);
    const after = named(n);
    const mean = values(after.get('1.running_mean')!);
    const variance = values(after.get('1.running_var')!);
    avg(0).forEach((m, c) => expect(mean[c]).toBeCloseTo(m, 4));
    avg(1).forEach((v, c) => expect(variance[c]).toBeCloseTo(v, 4));
    // Not what the default momentum would have given from the initial (0, 1).
    expect(Math.abs(mean[0] - avg(0)[0] * (1 - 0.9 ** 3))).toBeGreaterThan(1e-3);
    for (const [k, v] of after) {
      if (!k.includes('running')) expect(values(v), k).toEqual(before.get(k));
    }
    expect((n.children()[1][1] as BatchNorm).momentum).toBe(0.9);
  });

  it('uses every batch when asked for more than there are, and refuses bad input', () => {
    const data = source();
    expect(recalibrateBatchNorm(net(), data, 10)).toBe(4);
    expect(() => recalibrateBatchNorm(net(), data, 0)).toThrow(/batches must be an integer >= 1, got 0/);
    const noBn = new Sequential(new Dense(2));
    noBn.build([4, 4, 2]);
    expect(() => recalibrateBatchNorm(noBn, data, 1)).toThrow(/no BatchNorm layers/);
  });
});
