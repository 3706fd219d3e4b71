import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/tfjs_setup';
import { drawTransform, transformInto } from '../../src/data/augment';
import {
  DataIter,
  loadFashionMnistArrays,
  mulberry32,
  splitValidation,
  VALIDATION_SPLIT_SEED,
} from '../../src/data/fashion_mnist';
import { DEBIAN_DIR, FASHION_MNIST_FILES } from '../../src/data/checksums';

// A 4x5 image whose pixel (r, c) is 10*r + c + 1 (so 0 only ever comes from the padding).
const H = 4,
  W = 5;
const img = Uint8Array.from({ length: H * W }, (_, i) => 10 * Math.floor(i / W) + (i % W) + 1);
const at = (a: Float32Array, r: number, c: number) => Math.round(a[r * W + c] * 255);

describe('augmentation', () => {
  it('shifts by (dy, dx) with zero fill and mirrors left-right', () => {
    const out = new Float32Array(H * W);
    transformInto(out, 0, img, H, W, { dy: 1, dx: -2, flip: false });
    expect(at(out, 0, 2)).toBe(11); // reads (1, 0)
    expect(at(out, 0, 0)).toBe(0); // column -2: padding
    expect(at(out, 3, 3)).toBe(0); // row 4: padding
    transformInto(out, 0, img, H, W, { dy: 0, dx: 0, flip: true });
    expect(at(out, 0, 0)).toBe(5);
    expect(at(out, 2, 4)).toBe(21);
    transformInto(out, 0, img, H, W, { dy: 0, dx: 0, flip: false });
    expect(Array.from(out, (v) => Math.round(v * 255))).toEqual(Array.from(img));
  });

  it('draws shifts in [-p, p] and flips about half the time, deterministically for a seed', () => {
    const draw = (seed: number) => {
      const r = mulberry32(seed);
      return Array.from({ length: 2000 }, () => drawTransform(r, { padding: 2, flip: true }));
    };
    const a = draw(3);
    expect(draw(3)).toEqual(a);
    expect(draw(4)).not.toEqual(a);
    expect(new Set(a.map((t) => t.dx))).toEqual(new Set([-2, -1, 0, 1, 2]));
    expect(new Set(a.map((t) => t.dy))).toEqual(new Set([-2, -1, 0, 1, 2]));
    const flips = a.filter((t) => t.flip).length / a.length;
    expect(flips).toBeGreaterThan(0.45);
    expect(flips).toBeLessThan(0.55);
    expect(drawTransform(mulberry32(1), { padding: 0, flip: false })).toEqual({ dy: 0, dx: 0, flip: false });
  });

  it('DataIter: augmented epochs are reproducible, differ per epoch, keep order, labels and range', () => {
    const n = 12;
    const images = new Uint8Array(n * H * W);
    for (let i = 0; i < n; i++) images.set(img, i * H * W);
    const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
    const mk = (augment?: { padding: number; flip: boolean }) =>
      new DataIter({ images, labels, height: H, width: W, batchSize: 4, shuffle: true, seed: 9, augment });
    const plain = mk();
    const aug = mk({ padding: 1, flip: true });
    const values = (it: DataIter, e: number) =>
      [...it.epoch(e)].map(({ x, y }) => {
        const r = [Array.from(x.dataSync()), Array.from(y.dataSync())];
        tf.dispose([x, y]);
        return r;
      });
    const e0 = values(aug, 0);
    expect(values(aug, 0)).toEqual(e0);
    expect(values(aug, 1)).not.toEqual(e0);
    // Same visiting order as without augmentation: the labels agree batch for batch.
    expect(e0.map((b) => b[1])).toEqual(values(plain, 0).map((b) => b[1]));
    const px = e0.flatMap((b) => b[0]);
    expect(Math.min(...px)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...px)).toBeLessThanOrEqual(1);
    expect(px).not.toEqual(values(plain, 0).flatMap((b) => b[0]));
    expect(() => mk({ padding: -1, flip: false })).toThrow(/augment.padding/);
  });
});

const haveData = FASHION_MNIST_FILES.every((f) => fs.existsSync(path.join(DEBIAN_DIR, f)));

describe('validation split', () => {
  it('is fixed, disjoint from training, and covers every image once (synthetic)', () => {
    const n = 100;
    const split = {
      images: Uint8Array.from({ length: n * 4 }, (_, i) => Math.floor(i / 4)),
      labels: Uint8Array.from({ length: n }, (_, i) => i % 10),
      n,
    };
    const a = splitValidation(split, 20);
    expect(splitValidation(split, 20).validationIndices).toEqual(a.validationIndices);
    expect(a.train.n + a.validation.n).toBe(n);
    const ids = (s: typeof split) => Array.from({ length: s.n }, (_, i) => s.images[i * 4]);
    const trainIds = ids(a.train),
      validIds = ids(a.validation);
    expect(validIds).toEqual(Array.from(a.validationIndices));
    expect(trainIds.filter((i) => validIds.includes(i))).toEqual([]);
    expect([...trainIds, ...validIds].sort((p, q) => p - q)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(a.validation.labels[0]).toBe(validIds[0] % 10);
    expect(() => splitValidation(split, 0)).toThrow(/count/);
    expect(() => splitValidation(split, n)).toThrow(/count/);
    expect(VALIDATION_SPLIT_SEED).toBe(20171025);
  });

  it.skipIf(!haveData)('on Fashion-MNIST: 55000 + 5000, every class held out in fair measure', () => {
    const { train } = loadFashionMnistArrays(DEBIAN_DIR);
    const { train: t, validation: v } = splitValidation(train, 5000);
    expect([t.n, v.n]).toEqual([55000, 5000]);
    const perClass = new Array(10).fill(0);
    for (const l of v.labels) perClass[l]++;
    for (const c of perClass) {
      expect(c).toBeGreaterThan(420);
      expect(c).toBeLessThan(580);
    }
  });
});
