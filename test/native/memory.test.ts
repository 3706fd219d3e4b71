/**
 * Memory behaviour of the onednn back end: tensor counts stay flat over training steps, recycled output
 * buffers never change data a user already holds (dataSync results, slices aliasing a recycled buffer),
 * and Relu's fused gradient matches tfjs's.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import { OneDnnBackend } from '../../src/backend/onednn/backend';
import { poolStats } from '../../src/backend/onednn/buffer_pool';
import { ResNet } from '../../src/models/resnet';
import { softmaxCrossEntropy } from '../../src/train/metrics';
import { addonAvailable, compare, rand, skipReason } from './_helpers';

describe.skipIf(!addonAvailable)(`onednn memory ${skipReason}`, () => {
  it('numTensors and pooled memory are stable over training steps', async () => {
    await tf.setBackend('onednn');
    const net = new ResNet({ widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headPool: 'global' });
    net.build([40, 40, 1]);
    const opt = tf.train.sgd(0.05);
    const x = tf.tensor4d(rand(4 * 40 * 40, 1), [4, 40, 40, 1]);
    const y = tf.tensor1d([1, 2, 3, 4]);
    const counts: number[] = [];
    const misses: number[] = [];
    const hits: number[] = [];
    for (let i = 0; i < 12; i++) {
      const { value, grads } = tf.variableGrads(
        () => softmaxCrossEntropy(net.apply(x, { training: true }), y as tf.Tensor1D),
        net.trainableVariables(),
      );
      opt.applyGradients(grads);
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      tf.dispose([value]);
      tf.dispose(grads);
      counts.push(tf.memory().numTensors);
      misses.push(poolStats.misses);
      hits.push(poolStats.hits);
    }
    expect(new Set(counts.slice(2)).size, `numTensors per step: ${counts}`).toBe(1);
    // the stem's input gradient (images are not trainable) is never computed
    const lazy = (tf.backend() as OneDnnBackend).lazyStats;
    expect(lazy.dropped).toBeGreaterThanOrEqual(12);
    expect(lazy.materialised).toBe(0);
    // after warm-up every native output comes from the pool: no new buffers
    expect(misses[11] - misses[3], `pool misses per step: ${misses}`).toBe(0);
    // ...because they are recycled (with the pool off there are neither hits nor misses): every native output
    // of a step is a hit, the same number each step (274 measured)
    const hitsPerStep = hits.slice(4).map((h, i) => h - hits[i + 3]);
    expect(new Set(hitsPerStep).size, `pool hits per step: ${hitsPerStep}`).toBe(1);
    expect(hitsPerStep[0], `pool hits per step: ${hitsPerStep}`).toBeGreaterThan(100);
    tf.dispose([x, y]);
    net.dispose();
    opt.dispose();
  });

  it('dataSync results stay valid after the tensor is disposed and its buffer reused', async () => {
    await tf.setBackend('onednn');
    const x = tf.tensor1d(rand(1000, 2));
    const a = tf.relu(x);
    const held = a.dataSync();
    const expected = Float32Array.from(held);
    a.dispose();
    const hitsBefore = poolStats.hits;
    const b = tf.relu(tf.neg(x)); // same size: takes the recycled buffer
    b.dataSync();
    expect(poolStats.hits - hitsBefore, 'a recycled buffer was reused (else this test shows nothing)').toBeGreaterThan(
      0,
    );
    expect(Array.from(held)).toEqual(Array.from(expected));
    tf.dispose([x, b]);
  });

  it('a slice aliasing a pooled buffer keeps it alive', async () => {
    await tf.setBackend('onednn');
    const x = tf.tensor1d(rand(1000, 3));
    const a = tf.relu(x);
    const s = tf.slice(a, [10], [100]); // cpu Slice: a subarray view of a's buffer
    const expected = Float32Array.from(a.dataSync().subarray(10, 110));
    a.dispose();
    const b = tf.neg(tf.abs(x)); // same-size outputs must not land on s's storage
    const c = tf.neg(x);
    expect(Array.from(s.dataSync())).toEqual(Array.from(expected));
    tf.dispose([x, s, b, c]);
  });

  it('moving tensors between onednn and cpu keeps values', async () => {
    await tf.setBackend('onednn');
    const a = tf.relu(tf.tensor1d(rand(500, 4)));
    const expected = Float32Array.from(a.dataSync());
    await tf.setBackend('cpu');
    const b = tf.add(a, 0); // moves a to cpu
    expect(Array.from(b.dataSync())).toEqual(Array.from(expected));
    tf.dispose([a, b]);
  });

  it('a lazily computed input gradient is computed when read, also after its inputs are disposed', async () => {
    await tf.setBackend('onednn');
    const x = tf.tensor4d(rand(2 * 15 * 15 * 1, 7), [2, 15, 15, 1]);
    const w = tf.variable(tf.tensor4d(rand(7 * 7 * 8, 8), [7, 7, 1, 8]));
    const f = (a: tf.Tensor) =>
      tf.sum(tf.square(tf.fused.conv2d({ x: a as tf.Tensor4D, filter: w, strides: 2, pad: 'valid' })));
    const dx = tf.grad(f)(x);
    w.assign(tf.zerosLike(w)); // the old filter buffer is released by the variable, still held by the lazy dx
    tf.relu(tf.neg(tf.abs(tf.tensor1d(rand(7 * 7 * 8, 9))))).dispose();
    const got = dx.dataSync();
    await tf.setBackend('cpu');
    const w2 = tf.tensor4d(rand(7 * 7 * 8, 8), [7, 7, 1, 8]);
    const want = tf
      .grad((a: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, w2, 2, 'valid'))))(x)
      .dataSync();
    let maxDiff = 0,
      maxRef = 0;
    want.forEach((v, i) => {
      maxDiff = Math.max(maxDiff, Math.abs(v - got[i]));
      maxRef = Math.max(maxRef, Math.abs(v));
    });
    expect(maxDiff / maxRef).toBeLessThan(1e-4);
    tf.dispose([x, w, dx, w2]);
  });

  it('relu gradient (fused ResnetReluGrad) matches tfjs', () => {
    const values = Float32Array.from(rand(3 * 5 * 7 * 9, 5), (v, i) => (i % 11 === 0 ? 0 : v));
    expect(
      compare(
        [
          { shape: [3, 5, 7, 9], seed: 0, values },
          { shape: [3, 5, 7, 9], seed: 6 },
        ],
        (x, dy) => tf.grads((a: tf.Tensor) => tf.relu(a))([x], dy),
        ['Relu', 'ResnetReluGrad'],
      ),
    ).toBe(0);
  });
});
