/**
 * Fashion-MNIST for TensorFlow.js: arrays, text labels and a batch iterator -- the TypeScript
 * counterpart of d2l's `load_data_fashion_mnist(batch_size, resize)`.
 *
 * The uint8 images stay in memory as they are (60000*784 bytes = 47 MB); each batch's float
 * tensor is built from them on demand (and resized on the active tfjs back end), so there is
 * never a pre-resized float copy of the data set (60000*96*96*4 bytes would be 2.2 GB).
 *
 * Note on resizing: d2l resizes the uint8 PIL image (bilinear, results rounded to uint8) and
 * then divides by 255; here the image is divided by 255 first and resized in float32 with
 * half-pixel centers (`tf.image.resizeBilinear(x, size, false, true)`, the same sampling as
 * OpenCV INTER_LINEAR / PyTorch `interpolate(..., align_corners=False)` and, for upsampling,
 * PIL). The difference is only the uint8 rounding (< 0.5/255 per pixel).
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { AugmentOptions, drawTransform, transformInto } from './augment';
import { IDX_MAGIC_IMAGES, IDX_MAGIC_LABELS, IdxError, readIdx } from './idx';
import { EnsureOptions, FashionMnistSource, ensureFashionMnist } from './ensure';
import { TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS } from './checksums';
import { doctestLimits } from './doctest_limits';
import type { Batch, BatchSource } from '../train/batches';

export { TEXT_LABELS, NUM_CLASSES, IMAGE_SIZE, getTextLabels } from './labels';
import { IMAGE_SIZE, NUM_CLASSES } from './labels';

export interface FashionMnistSplit {
  /** n*28*28 uint8, row-major, one image after the other. */
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
}

export interface FashionMnistArrays {
  train: FashionMnistSplit;
  test: FashionMnistSplit;
}

/** Reads an images + labels pair, checking magic, 28x28, exact sizes, matching counts, labels 0..9. */
export function loadSplit(imagesPath: string, labelsPath: string): FashionMnistSplit {
  const images = readIdx(imagesPath, { magic: IDX_MAGIC_IMAGES, dims: [null, IMAGE_SIZE, IMAGE_SIZE] });
  const labels = readIdx(labelsPath, { magic: IDX_MAGIC_LABELS });
  const n = images.shape[0];
  if (labels.shape[0] !== n) {
    throw new IdxError(
      `${imagesPath} / ${labelsPath}`,
      `count mismatch: ${path.basename(imagesPath)} has ${n} images but ${path.basename(labelsPath)} has ${labels.shape[0]} labels`,
    );
  }
  const l = labels.data;
  for (let i = 0; i < l.length; i++) {
    if (l[i] >= NUM_CLASSES) {
      throw new IdxError(labelsPath, `label ${l[i]} at index ${i} is out of range 0..${NUM_CLASSES - 1}`);
    }
  }
  return { images: images.data, labels: labels.data, n };
}

/** Loads the four standard files from `dir` (no checksum check: see ensureFashionMnist). */
export function loadFashionMnistArrays(dir: string): FashionMnistArrays {
  return {
    train: loadSplit(path.join(dir, TRAIN_IMAGES), path.join(dir, TRAIN_LABELS)),
    test: loadSplit(path.join(dir, TEST_IMAGES), path.join(dir, TEST_LABELS)),
  };
}

// ---------------------------------------------------------------------------------------------
// Seeded shuffling

/** mulberry32: a small, fast 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 32-bit seed for epoch `epoch` of a run seeded with `seed` (murmur3 finaliser of a mix). */
export function epochSeed(seed: number, epoch: number): number {
  let h = (seed >>> 0) ^ Math.imul((epoch >>> 0) + 1, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A permutation of 0..n-1 that depends only on (seed, epoch) -- Fisher-Yates with mulberry32. */
export function permutation(n: number, seed: number, epoch: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const rand = mulberry32(epochSeed(seed, epoch));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// Batches

export interface DataIterOptions {
  /** Images, one after the other, each height*width uint8. */
  images: Uint8Array;
  labels: Uint8Array;
  /** Image size; default 28x28. */
  height?: number;
  width?: number;
  batchSize: number;
  /** Output size: s (square) or [h, w]; bilinear with half-pixel centers. Default: none. */
  resize?: number | [number, number];
  /** Reshuffle every epoch (permutation from (seed, epoch)). Default false. */
  shuffle?: boolean;
  /** Default 0. */
  seed?: number;
  /** Use only the first `limit` examples (before shuffling). */
  limit?: number;
  /** Drop the last incomplete batch. Default false. */
  dropLast?: boolean;
  /** Random shift and flip of every image in `epoch()` (seeded by (seed, epoch)). Default none. */
  augment?: AugmentOptions;
}

/**
 * Iterates over an in-memory uint8 image set in batches:
 * `for (const {x, y} of iter.epoch(e)) { ...; tf.dispose([x, y]) }` (the caller disposes).
 */
export class DataIter implements BatchSource {
  readonly batchSize: number;
  readonly height: number;
  readonly width: number;
  readonly outHeight: number;
  readonly outWidth: number;
  /** Examples used (after `limit`). */
  readonly numExamples: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  private readonly images: Uint8Array;
  private readonly labels: Uint8Array;
  private readonly resize: [number, number] | null;
  readonly augment?: AugmentOptions;

  constructor(opts: DataIterOptions) {
    this.height = opts.height ?? IMAGE_SIZE;
    this.width = opts.width ?? IMAGE_SIZE;
    const pix = this.height * this.width;
    const total = opts.labels.length;
    if (opts.images.length !== total * pix) {
      throw new RangeError(
        `DataIter: ${opts.images.length} image bytes for ${total} labels of ${this.height}x${this.width}`,
      );
    }
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
      throw new RangeError(`DataIter: batchSize must be a positive integer, got ${opts.batchSize}`);
    }
    const limit = opts.limit ?? total;
    if (!Number.isInteger(limit) || limit < 0)
      throw new RangeError(`DataIter: limit must be a non-negative integer, got ${opts.limit}`);
    this.numExamples = Math.min(limit, total);
    this.images = opts.images;
    this.labels = opts.labels;
    this.batchSize = opts.batchSize;
    this.shuffle = opts.shuffle ?? false;
    this.seed = opts.seed ?? 0;
    this.dropLast = opts.dropLast ?? false;
    if (opts.augment && (!Number.isInteger(opts.augment.padding) || opts.augment.padding < 0)) {
      throw new RangeError(`DataIter: augment.padding must be a non-negative integer, got ${opts.augment.padding}`);
    }
    this.augment = opts.augment;
    if (opts.resize === undefined) {
      this.resize = null;
    } else {
      const r: [number, number] = typeof opts.resize === 'number' ? [opts.resize, opts.resize] : opts.resize;
      if (!r.every((v) => Number.isInteger(v) && v > 0))
        throw new RangeError(
          `DataIter: resize must be a positive integer or [height, width] of positive integers, got ${JSON.stringify(opts.resize)}`,
        );
      this.resize = r[0] === this.height && r[1] === this.width ? null : r;
    }
    this.outHeight = this.resize ? this.resize[0] : this.height;
    this.outWidth = this.resize ? this.resize[1] : this.width;
  }

  /** Batches per epoch. */
  get numBatches(): number {
    return this.dropLast ? Math.floor(this.numExamples / this.batchSize) : Math.ceil(this.numExamples / this.batchSize);
  }

  /** Example indices in the order epoch `epoch` visits them. */
  order(epoch = 0): Uint32Array {
    if (this.shuffle) return permutation(this.numExamples, this.seed, epoch);
    const p = new Uint32Array(this.numExamples);
    for (let i = 0; i < p.length; i++) p[i] = i;
    return p;
  }

  /** Builds the batch of the given example indices; `rand` draws augmentations (if configured). */
  batchOf(indices: ArrayLike<number>, rand?: () => number): Batch {
    const b = indices.length;
    const pix = this.height * this.width;
    const xs = new Float32Array(b * pix);
    const ys = new Int32Array(b);
    for (let k = 0; k < b; k++) {
      const i = indices[k];
      const src = this.images.subarray(i * pix, (i + 1) * pix);
      const off = k * pix;
      if (this.augment && rand) {
        transformInto(xs, off, src, this.height, this.width, drawTransform(rand, this.augment));
      } else {
        for (let j = 0; j < pix; j++) xs[off + j] = src[j] / 255;
      }
      ys[k] = this.labels[i];
    }
    const y = tf.tensor1d(ys, 'int32');
    const resize = this.resize;
    const x = tf.tidy(() => {
      const raw = tf.tensor4d(xs, [b, this.height, this.width, 1], 'float32');
      return resize ? tf.image.resizeBilinear(raw, resize, false, true) : raw;
    });
    return { x, y };
  }

  /** Batches of epoch `epoch` (shuffled from (seed, epoch) if `shuffle`). */
  *epoch(epoch = 0): Generator<Batch, void, undefined> {
    const order = this.order(epoch);
    const nb = this.numBatches;
    // Its own stream (not the shuffle's), so turning augmentation on keeps the visiting order.
    const rand = this.augment ? mulberry32(epochSeed(this.seed ^ AUGMENT_STREAM, epoch)) : undefined;
    for (let bi = 0; bi < nb; bi++) {
      yield this.batchOf(order.subarray(bi * this.batchSize, Math.min((bi + 1) * this.batchSize, order.length)), rand);
    }
  }

  [Symbol.iterator](): Generator<Batch, void, undefined> {
    return this.epoch(0);
  }
}

const AUGMENT_STREAM = 0x5a17a5e5;

/** Seed of the one fixed validation split (never the run's seed: every run holds out the same images). */
export const VALIDATION_SPLIT_SEED = 20171025;

/**
 * Splits `count` images off a training split for validation: the images at the last `count`
 * positions of a fixed permutation (seed {@link VALIDATION_SPLIT_SEED}). Both parts keep the
 * original order of their images, so `limit` still means "the first n".
 */
export function splitValidation(
  split: FashionMnistSplit,
  count: number,
): { train: FashionMnistSplit; validation: FashionMnistSplit; validationIndices: Uint32Array } {
  if (!Number.isInteger(count) || count < 1 || count >= split.n) {
    throw new RangeError(`validation split: count must be an integer in 1..${split.n - 1}, got ${count}`);
  }
  const pix = split.images.length / split.n;
  const held = new Uint8Array(split.n);
  const validationIndices = permutation(split.n, VALIDATION_SPLIT_SEED, 0)
    .slice(split.n - count)
    .sort();
  for (const i of validationIndices) held[i] = 1;
  const take = (keep: 0 | 1, n: number): FashionMnistSplit => {
    const images = new Uint8Array(n * pix);
    const labels = new Uint8Array(n);
    let k = 0;
    for (let i = 0; i < split.n; i++) {
      if (held[i] !== keep) continue;
      images.set(split.images.subarray(i * pix, (i + 1) * pix), k * pix);
      labels[k++] = split.labels[i];
    }
    return { images, labels, n };
  };
  return { train: take(0, split.n - count), validation: take(1, count), validationIndices };
}

/** Alias: the Fashion-MNIST data set iterator. */
export { DataIter as FashionMnistDataset };

export interface LoadDataOptions extends Omit<EnsureOptions, 'dir'> {
  batchSize: number;
  resize?: number | [number, number];
  /** Shuffle seed of the training iterator (reshuffled every epoch). Default 0. */
  seed?: number;
  /** Use only the first n training / test examples. */
  trainLimit?: number;
  testLimit?: number;
  /** Explicit data directory (else FASHION_MNIST_DIR, cache, Debian dir, download). */
  dir?: string;
  /** Hold out this many training images as a fixed validation set ({@link splitValidation}). Default 0. */
  validation?: number;
  /** Augment training batches (random shift and flip). Default none. */
  augment?: AugmentOptions;
}

export interface LoadDataResult {
  trainIter: DataIter;
  testIter: DataIter;
  /** Present when `validation` > 0: the held-out training images, in order, never augmented. */
  validIter?: DataIter;
  source: FashionMnistSource;
  dir: string;
}

/**
 * d2l's load_data_fashion_mnist: finds/downloads the data, returns train (shuffled) and test iterators.
 * Under RESNET_TS_DOCTEST=1 the limits default to a small subset (see doctestLimits).
 */
export async function loadDataFashionMnist(opts: LoadDataOptions): Promise<LoadDataResult> {
  const small = doctestLimits();
  const {
    batchSize,
    resize,
    seed,
    trainLimit = small?.trainLimit,
    testLimit = small?.testLimit,
    validation,
    augment,
    ...ensureOpts
  } = opts;
  // Checked before any file is read, each by its option name.
  for (const [name, v] of [
    ['trainLimit', trainLimit],
    ['testLimit', testLimit],
  ] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1))
      throw new RangeError(
        `loadDataFashionMnist: ${name} must be an integer >= 1 (or left out for all images), got ${v}`,
      );
  }
  if (!(Number.isInteger(batchSize) && batchSize >= 1))
    throw new RangeError(`loadDataFashionMnist: batchSize must be an integer >= 1, got ${batchSize}`);
  const { dir, source } = await ensureFashionMnist(ensureOpts);
  const arrays = loadFashionMnistArrays(dir);
  const { train, validation: held } = validation
    ? splitValidation(arrays.train, validation)
    : { train: arrays.train, validation: undefined };
  const trainIter = new DataIter({ ...train, batchSize, resize, shuffle: true, seed, limit: trainLimit, augment });
  const testIter = new DataIter({ ...arrays.test, batchSize, resize, shuffle: false, limit: testLimit });
  const validIter = held ? new DataIter({ ...held, batchSize, resize, shuffle: false }) : undefined;
  return { trainIter, testIter, validIter, source, dir };
}
