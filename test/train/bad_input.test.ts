/**
 * Bad input to the public functions a learner calls gets an error that names the argument and the
 * value, in one table. Each row: what is called, and what the message must say.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/tfjs_setup';
import {
  DataIter,
  PlainOrResidualNet,
  ResNet,
  loadDataFashionMnist,
  movingAverage,
  resnetOfDepth,
  resnetPreset,
  table,
  train,
  trainingRecipe,
} from '../../src';
import type { BatchSource } from '../../src';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const tinyNet = () => new ResNet({ widths: [4, 4, 4, 4], depths: [1, 1, 1, 1], headPool: 'global', stem: 'small' });
const oneBatch: BatchSource = {
  numExamples: 2,
  numBatches: 1,
  *epoch() {
    yield { x: tf.zeros([2, 8, 8, 1]) as tf.Tensor4D, y: tf.tensor1d([0, 1], 'int32') };
  },
};
const claimsBatchesYieldsNone: BatchSource = { numExamples: 2, numBatches: 1, *epoch() {} };
const noBatches: BatchSource = { numExamples: 0, numBatches: 0, *epoch() {} };
const trainWith = (o: Record<string, unknown>) =>
  train({ trainData: oneBatch, testData: oneBatch, net: tinyNet(), epochs: 1, log: () => {}, progress: 'none', ...o });
const images = new Uint8Array(4 * 28 * 28);
const labels = new Uint8Array(4);

const CASES: [string, () => unknown, RegExp][] = [
  ['train epochs 0', () => trainWith({ epochs: 0 }), /train: epochs must be an integer >= 1, got 0/],
  ['train epochs -1', () => trainWith({ epochs: -1 }), /train: epochs must be an integer >= 1, got -1/],
  ['train epochs NaN', () => trainWith({ epochs: NaN }), /train: epochs must be an integer >= 1, got NaN/],
  [
    'train maxBatchesPerEpoch 0',
    () => trainWith({ maxBatchesPerEpoch: 0 }),
    /maxBatchesPerEpoch must be an integer >= 1, got 0/,
  ],
  ['train epochs 1.5', () => trainWith({ epochs: 1.5 }), /train: epochs must be an integer >= 1, got 1.5/],
  ['train epochs missing', () => trainWith({ epochs: undefined }), /epochs must be an integer >= 1, got undefined/],
  ['train epochs "2"', () => trainWith({ epochs: '2' }), /epochs must be an integer >= 1, got 2/],
  [
    'train checkpointEvery 0',
    () => trainWith({ checkpointEvery: 0 }),
    /checkpointEvery must be an integer >= 1, got 0/,
  ],
  [
    'train recalibrateBatches 2.5',
    () => trainWith({ recalibrateBatches: 2.5 }),
    /recalibrateBatches must be an integer >= 1, got 2.5/,
  ],
  ['train weightDecay -1', () => trainWith({ weightDecay: -1 }), /weightDecay must be a finite number >= 0, got -1/],
  ['train weightDecay Infinity', () => trainWith({ weightDecay: Infinity }), /weightDecay must be a finite .*Infinity/],
  ['train weightDecay NaN', () => trainWith({ weightDecay: NaN }), /weightDecay must be a finite number >= 0, got NaN/],
  ['train trainData missing', () => trainWith({ trainData: undefined }), /trainData must be a BatchSource/],
  [
    'train data without batches',
    () => trainWith({ trainData: noBatches }),
    /trainData has no batches \(numBatches 0\)/,
  ],
  [
    'train data that yields no batch',
    () => trainWith({ trainData: claimsBatchesYieldsNone }),
    /training data yielded no batch in epoch 0/,
  ],
  ['train testData not a source', () => trainWith({ testData: {} }), /testData must be a BatchSource/],
  [
    'DataIter limit -1',
    () => new DataIter({ images, labels, batchSize: 2, limit: -1 }),
    /limit must be a non-negative integer, got -1/,
  ],
  [
    'DataIter resize 0',
    () => new DataIter({ images, labels, batchSize: 2, resize: 0 }),
    /resize must be a positive integer .*got 0/,
  ],
  [
    'DataIter resize [96, 0]',
    () => new DataIter({ images, labels, batchSize: 2, resize: [96, 0] }),
    /resize .*got \[96,0\]/,
  ],
  [
    'DataIter batchSize 0',
    () => new DataIter({ images, labels, batchSize: 0 }),
    /batchSize must be a positive integer, got 0/,
  ],
  [
    'load trainLimit -1',
    () => loadDataFashionMnist({ batchSize: 8, trainLimit: -1 }),
    /trainLimit must be an integer >= 1 .*got -1/,
  ],
  [
    'load testLimit 1.5',
    () => loadDataFashionMnist({ batchSize: 8, testLimit: 1.5 }),
    /testLimit must be an integer >= 1 .*got 1\.5/,
  ],
  ['load batchSize 0', () => loadDataFashionMnist({ batchSize: 0 }), /batchSize must be an integer >= 1, got 0/],
  [
    'load validation 70000',
    () => loadDataFashionMnist({ batchSize: 8, validation: 70000 }),
    /validation split: count must be an integer in 1\.\.59999, got 70000/,
  ],
  ["trainingRecipe('nope')", () => trainingRecipe('nope' as never), /unknown recipe 'nope' \(seed, fast, tiny\)/],
  ['resnetOfDepth(19)', () => resnetOfDepth(19 as never), /ResNet depth 19 is not in Table 1 \(18, 34, 50, 101, 152\)/],
  [
    "resnetPreset('resnet19')",
    () => resnetPreset('resnet19'),
    /unknown model preset 'resnet19' \(seed, small, tiny, resnet18/,
  ],
  [
    'build with a batch dimension',
    () => tinyNet().build([1, 96, 96, 1]),
    /build\(\[1,96,96,1\]\) failed: .*looks like a batch's shape: build takes the shape of one example, without the batch dimension \(e\.g\. \[96,96,1\]\)/,
  ],
  [
    'build with a bad shape',
    () => tinyNet().build([96, -1, 1]),
    /inputShape must be positive integers, got \[96,-1,1\]/,
  ],
  [
    'PlainOrResidualNet depth 19',
    () => new PlainOrResidualNet({ depth: 19, shortcuts: true }),
    /depth must be 6n \+ 2 .*got 19/,
  ],
  ['movingAverage window 0', () => movingAverage([1, 2], 0), /window must be an integer >= 1, got 0/],
  ['table of non-records', () => table([1] as never), /row 0 must be a record/],
];

describe('bad input is refused with the argument named', () => {
  it.each(CASES)('%s', async (_name, call, message) => {
    await expect(Promise.resolve().then(call)).rejects.toThrow(message);
  });
});
