import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DataIter,
  TEXT_LABELS,
  getTextLabels,
  loadDataFashionMnist,
  loadFashionMnistArrays,
  permutation,
} from '../../src/data/fashion_mnist';
import { realDataDir } from './helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const sorted = (p: Uint32Array) => [...p].sort((a, b) => a - b);
const minMax = (a: ArrayLike<number>) => {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    lo = Math.min(lo, a[i]);
    hi = Math.max(hi, a[i]);
  }
  return [lo, hi];
};
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('text labels', () => {
  it("maps ids to d2l's names", () => {
    expect(TEXT_LABELS.length).toBe(10);
    expect(getTextLabels([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])).toEqual([
      't-shirt',
      'trouser',
      'pullover',
      'dress',
      'coat',
      'sandal',
      'shirt',
      'sneaker',
      'bag',
      'ankle boot',
    ]);
    expect(getTextLabels(new Int32Array([9, 0]))).toEqual(['ankle boot', 't-shirt']);
    expect(() => getTextLabels([10])).toThrow(/label 10/);
  });
});

describe('resize', () => {
  // 2x2 uint8 image [[0, 51], [102, 255]] -> [[0, .2], [.4, 1]] after /255, upsampled to 4x4 with
  // half-pixel centers: output index i samples source coordinate (i + .5) * 2/4 - .5 =
  // -.25, .25, .75, 1.25, clamped to [0, 1] -> weights of the second pixel w = 0, .25, .75, 1.
  // out[i][j] = (1-w_i)(1-w_j)*0 + (1-w_i)w_j*.2 + w_i(1-w_j)*.4 + w_i w_j*1
  const expected = [
    [0.0, 0.05, 0.15, 0.2],
    [0.1, 0.175, 0.325, 0.4],
    [0.3, 0.425, 0.675, 0.8],
    [0.4, 0.55, 0.85, 1.0],
  ];

  it('DataIter resizes bilinearly with half-pixel centers (hand-computed 2x2 -> 4x4)', () => {
    const it2 = new DataIter({
      images: Uint8Array.from([0, 51, 102, 255]),
      labels: Uint8Array.from([4]),
      height: 2,
      width: 2,
      batchSize: 1,
      resize: 4,
    });
    expect([it2.outHeight, it2.outWidth]).toEqual([4, 4]);
    const [b] = [...it2.epoch(0)];
    expect(b.x.shape).toEqual([1, 4, 4, 1]);
    expect(b.x.dtype).toBe('float32');
    const got = tf.reshape(b.x, [4, 4]).arraySync() as number[][];
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) expect(got[i][j]).toBeCloseTo(expected[i][j], 6);
    expect([...b.y.dataSync()]).toEqual([4]);
    tf.dispose([b.x, b.y]);
  });

  it('non-square resize [h, w] and no-op resize to the same size', () => {
    const img = Uint8Array.from([0, 51, 102, 255]);
    const a = new DataIter({
      images: img,
      labels: Uint8Array.from([1]),
      height: 2,
      width: 2,
      batchSize: 1,
      resize: [4, 2],
    });
    const [b] = [...a.epoch()];
    expect(b.x.shape).toEqual([1, 4, 2, 1]);
    // columns unchanged, rows interpolated with w = 0, .25, .75, 1
    const col0 = [0, 0.1, 0.3, 0.4];
    const col1 = [0.2, 0.4, 0.8, 1.0];
    const got = tf.reshape(b.x, [4, 2]).arraySync() as number[][];
    for (let i = 0; i < 4; i++) {
      expect(got[i][0]).toBeCloseTo(col0[i], 6);
      expect(got[i][1]).toBeCloseTo(col1[i], 6);
    }
    tf.dispose([b.x, b.y]);
    const same = new DataIter({
      images: img,
      labels: Uint8Array.from([1]),
      height: 2,
      width: 2,
      batchSize: 1,
      resize: 2,
    });
    const [c] = [...same.epoch()];
    expect([...c.x.dataSync()].map((v) => v * 255)).toEqual([0, 51, 102, 255].map((v) => expect.closeTo(v, 4)));
    tf.dispose([c.x, c.y]);
  });
});

describe('shuffling', () => {
  it('is a permutation, deterministic per (seed, epoch), different across epochs and seeds', () => {
    const n = 1000;
    const p0 = permutation(n, 7, 0);
    expect(sorted(p0)).toEqual(range(n));
    expect([...permutation(n, 7, 0)]).toEqual([...p0]);
    const p1 = permutation(n, 7, 1);
    expect(sorted(p1)).toEqual(range(n));
    expect([...p1]).not.toEqual([...p0]);
    expect([...permutation(n, 8, 0)]).not.toEqual([...p0]);
    expect([...p0]).not.toEqual(range(n));
  });

  it('is pinned (a resumed run must see the same order across versions)', () => {
    expect([...permutation(10, 0, 0)]).toEqual([7, 0, 2, 5, 8, 6, 1, 3, 9, 4]);
    expect([...permutation(10, 0, 1)]).toEqual([0, 1, 9, 5, 8, 6, 4, 3, 7, 2]);
    expect([...permutation(10, 42, 0)]).toEqual([8, 3, 2, 4, 5, 0, 9, 7, 1, 6]);
  });

  it('a fresh DataIter (resumed run) visits epoch e in the same order; no shuffle = identity', () => {
    const images = new Uint8Array(50 * 4).map((_, i) => i % 256);
    const labels = new Uint8Array(50).map((_, i) => i % 10);
    const mk = (shuffle: boolean) =>
      new DataIter({ images, labels, height: 2, width: 2, batchSize: 8, shuffle, seed: 3 });
    const a = mk(true);
    const b = mk(true);
    expect([...b.order(5)]).toEqual([...a.order(5)]);
    expect([...a.order(5)]).toEqual([...permutation(50, 3, 5)]);
    expect([...mk(false).order(5)]).toEqual(range(50));
    // labels of a whole epoch follow the order
    const ys: number[] = [];
    for (const { x, y } of a.epoch(5)) {
      ys.push(...y.dataSync());
      tf.dispose([x, y]);
    }
    expect(ys).toEqual([...a.order(5)].map((i) => labels[i]));
  });
});

describe('batches', () => {
  const images = new Uint8Array(10 * 9).map((_, i) => (i * 37) % 256);
  const labels = new Uint8Array(10).map((_, i) => (i * 3) % 10);

  it('shapes, batch count, drop-last, limit, values = images/255, labels match, no leaks', () => {
    const mk = (o: { dropLast?: boolean; limit?: number }) =>
      new DataIter({ images, labels, height: 3, width: 3, batchSize: 4, shuffle: true, seed: 1, ...o });
    const before = tf.memory().numTensors;
    const iter = mk({});
    expect(iter.numExamples).toBe(10);
    expect(iter.numBatches).toBe(3);
    const batches = [...iter.epoch(2)];
    expect(batches.map((b) => b.x.shape)).toEqual([
      [4, 3, 3, 1],
      [4, 3, 3, 1],
      [2, 3, 3, 1],
    ]);
    expect(batches.map((b) => b.y.shape)).toEqual([[4], [4], [2]]);
    const order = iter.order(2);
    batches.forEach((b, bi) => {
      expect(b.y.dtype).toBe('int32');
      const x = b.x.dataSync();
      const y = b.y.dataSync();
      for (let k = 0; k < y.length; k++) {
        const idx = order[bi * 4 + k];
        expect(y[k]).toBe(labels[idx]);
        for (let p = 0; p < 9; p++) expect(x[k * 9 + p]).toBeCloseTo(images[idx * 9 + p] / 255, 6);
      }
      tf.dispose([b.x, b.y]);
    });
    expect(tf.memory().numTensors).toBe(before);

    const dl = mk({ dropLast: true });
    expect(dl.numBatches).toBe(2);
    const dlb = [...dl.epoch(0)];
    expect(dlb.length).toBe(2);
    dlb.forEach((b) => tf.dispose([b.x, b.y]));

    const lim = mk({ limit: 5 });
    expect(lim.numExamples).toBe(5);
    expect(lim.numBatches).toBe(2);
    expect(sorted(lim.order(0))).toEqual(range(5));
  });

  it('rejects inconsistent arguments', () => {
    expect(
      () => new DataIter({ images: new Uint8Array(10), labels: new Uint8Array(2), height: 2, width: 2, batchSize: 1 }),
    ).toThrow(/10 image bytes for 2 labels of 2x2/);
    expect(() => new DataIter({ images, labels, height: 3, width: 3, batchSize: 0 })).toThrow(/batchSize/);
  });
});

const dataDir = realDataDir();

describe.skipIf(!dataDir)('real data batches', () => {
  it('loadDataFashionMnist: limits, shapes, [0,1] values, labels match the arrays', async () => {
    const { trainIter, testIter, source, dir } = await loadDataFashionMnist({
      dir: dataDir!,
      batchSize: 256,
      seed: 0,
      trainLimit: 1000,
      testLimit: 300,
      env: {},
    });
    expect(source).toBe('flag');
    expect(trainIter.numExamples).toBe(1000);
    expect(trainIter.numBatches).toBe(4);
    expect(testIter.numBatches).toBe(2);
    const arrays = loadFashionMnistArrays(dir);
    const before = tf.memory().numTensors;
    const ys: number[] = [];
    let n = 0;
    for (const { x, y } of testIter.epoch(0)) {
      expect(x.shape.slice(1)).toEqual([28, 28, 1]);
      const [lo, hi] = minMax(x.dataSync());
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(hi).toBeLessThanOrEqual(1);
      if (n === 0) {
        // first test image, pixel (14, 14)
        expect(x.dataSync()[14 * 28 + 14]).toBeCloseTo(arrays.test.images[14 * 28 + 14] / 255, 6);
      }
      n += x.shape[0];
      ys.push(...y.dataSync());
      tf.dispose([x, y]);
    }
    expect(n).toBe(300);
    // The iterator hands out batches it does not keep: disposing them leaves nothing behind.
    expect(tf.memory().numTensors).toBe(before);
    expect(ys).toEqual([...arrays.test.labels.subarray(0, 300)]);
    expect([...trainIter.order(0)].every((i) => i < 1000)).toBe(true);
  });

  it('resize 96 on real images keeps values in [0,1]', async () => {
    const { testIter } = await loadDataFashionMnist({
      dir: dataDir!,
      batchSize: 16,
      resize: 96,
      testLimit: 16,
      env: {},
    });
    const [b] = [...testIter.epoch()];
    expect(b.x.shape).toEqual([16, 96, 96, 1]);
    const [lo, hi] = minMax(b.x.dataSync());
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(1);
    expect(hi).toBeGreaterThan(0.5);
    tf.dispose([b.x, b.y]);
  });
});
