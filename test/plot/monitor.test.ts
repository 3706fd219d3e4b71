/**
 * The live training plot (src/plot/monitor.ts) without a notebook: firstBatches' sizes and its
 * tensors, the live test accuracy on the first test batches, when the monitor redraws, what its
 * text line says, and how the epoch's own numbers replace the running ones.
 * (plot.test.ts checks the redraw count and running means through the display writer.)
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/tfjs_setup';
import { LiveDisplay, type MimeBundle } from '../../src/display/display';
import { Module } from '../../src/nn/module';
import { TrainingMonitor, firstBatches } from '../../src/plot/monitor';
import type { CurvePoint } from '../../src/plot/specs';
import type { BatchSource } from '../../src/train/batches';
import type { BatchEvent } from '../../src/train/train';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Predicts the class written in the image's first pixel (pixel value = class id / 10). */
class ReadsFirstPixel extends Module {
  protected readonly createsVariables = false;
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const id = tf.cast(tf.round(tf.mul(tf.reshape(tf.slice(x, [0, 0, 0, 0], [-1, 1, 1, 1]), [-1]), 10)), 'int32');
      return tf.oneHot(id, 10);
    });
  }
}

/**
 * Batches of `sizes[b]` 1x1 images of class 1; batch b's labels are 1 (predicted right) when
 * `right[b]`, else 2. Records the epochs asked for.
 */
function source(sizes: number[], right: boolean[] = sizes.map(() => true)) {
  const epochs: number[] = [];
  const src: BatchSource & { epochs: number[] } = {
    epochs,
    numExamples: sizes.reduce((a, b) => a + b, 0),
    numBatches: sizes.length,
    *epoch(e: number) {
      epochs.push(e);
      for (let b = 0; b < sizes.length; b++) {
        yield {
          x: tf.fill([sizes[b], 1, 1, 1], 0.1),
          y: tf.fill([sizes[b]], right[b] ? 1 : 2, 'int32') as tf.Tensor1D,
        };
      }
    },
  };
  return src;
}

/** A LiveDisplay that keeps every bundle it was asked to show. */
class Recorder extends LiveDisplay {
  bundles: MimeBundle[] = [];
  show(bundle: MimeBundle): void {
    this.bundles.push(bundle);
    super.show(bundle);
  }
}

/** The points without the symbol vega tags the rows it rendered with. */
const plain = (points: CurvePoint[]) => points.map(({ epoch, metric, value }) => ({ epoch, metric, value }));

const batch = (b: number, numBatches: number, rest: Partial<BatchEvent> = {}): BatchEvent => ({
  epoch: 0,
  batch: b,
  numBatches,
  loss: 1,
  batchSize: 2,
  correct: 1,
  imagesPerSecond: 1,
  ...rest,
});

describe('firstBatches', () => {
  it('the first n batches and their examples; all of them when n is larger', () => {
    const src = source([4, 4, 4]);
    const two = firstBatches(src, 2);
    expect([two.numBatches, two.numExamples]).toEqual([2, 8]);
    const all = firstBatches(src, 5);
    expect([all.numBatches, all.numExamples]).toEqual([3, 12]);
    // A short last batch: at most the source's examples.
    const ragged = source([4, 4, 2]);
    expect(firstBatches(ragged, 2).numExamples).toBe(8);
    expect(firstBatches(ragged, 3).numExamples).toBe(10);
    expect(firstBatches(source([]), 2)).toMatchObject({ numBatches: 0, numExamples: 0 });
  });

  it('yields exactly those batches of the epoch asked for, and frees the one it read past', () => {
    const src = source([3, 2, 1]);
    const before = tf.memory().numTensors;
    const got = [...firstBatches(src, 2).epoch(4)];
    expect(got.map((b) => b.y.shape[0])).toEqual([3, 2]);
    expect(src.epochs).toEqual([4]);
    tf.dispose(got.flatMap((b) => [b.x, b.y]));
    expect(tf.memory().numTensors).toBe(before);
    expect([...firstBatches(src, 3).epoch(0)].map((b) => b.y.shape[0])).toEqual([3, 2, 1]);
  });
});

describe('TrainingMonitor', () => {
  it('testEvery needs both the net and the test data', () => {
    const net = new ReadsFirstPixel();
    const testData = source([2]);
    const msg = 'TrainingMonitor: testEvery needs net and testData';
    expect(() => new TrainingMonitor({ testEvery: 5 })).toThrow(new Error(msg));
    expect(() => new TrainingMonitor({ testEvery: 5, net })).toThrow(new Error(msg));
    expect(() => new TrainingMonitor({ testEvery: 5, testData })).toThrow(new Error(msg));
    expect(() => new TrainingMonitor({ testEvery: 5, net, testData })).not.toThrow();
    expect(() => new TrainingMonitor({ net })).not.toThrow();
  });

  it('live test accuracy every testEvery batches on the first testBatches test batches, not at the last batch', () => {
    // First test batch all right, second all wrong: 1 batch gives 1.0, both give 0.5.
    const testData = source([2, 2], [true, false]);
    const net = new ReadsFirstPixel();
    const one = new TrainingMonitor({ net, testData, testEvery: 2, testBatches: 1, display: new Recorder() });
    for (let b = 1; b <= 4; b++) one.onBatch(batch(b, 4));
    expect(plain(one.points.filter((p) => p.metric === 'test acc'))).toEqual([
      { epoch: 0.5, metric: 'test acc', value: 1 },
    ]);
    const eight = new TrainingMonitor({ net, testData, testEvery: 3, display: new Recorder() });
    for (let b = 1; b <= 7; b++) eight.onBatch(batch(b, 7, { epoch: 1 }));
    expect(plain(eight.points.filter((p) => p.metric === 'test acc'))).toEqual([
      { epoch: 1 + 3 / 7, metric: 'test acc', value: 0.5 },
      { epoch: 1 + 6 / 7, metric: 'test acc', value: 0.5 },
    ]);
    // Without testEvery: no live test accuracy.
    const none = new TrainingMonitor({ net, testData, display: new Recorder() });
    for (let b = 1; b <= 4; b++) none.onBatch(batch(b, 4));
    expect(none.points.some((p) => p.metric === 'test acc')).toBe(false);
  });

  it('redraws every 10 batches by default, every batch for every <= 1, and at the last batch', () => {
    const d = new Recorder();
    const m = new TrainingMonitor({ display: d });
    for (let b = 1; b <= 25; b++) m.onBatch(batch(b, 25));
    expect(d.bundles).toHaveLength(3); // 10, 20, 25
    const each = new Recorder();
    const m0 = new TrainingMonitor({ every: 0, display: each });
    for (let b = 1; b <= 3; b++) m0.onBatch(batch(b, 30));
    expect(each.bundles).toHaveLength(3);
    expect(new TrainingMonitor().display).toBeInstanceOf(LiveDisplay);
  });

  it('running means restart with each epoch; x is the fractional epoch', () => {
    const m = new TrainingMonitor({ display: new Recorder() });
    m.onBatch(batch(1, 2, { loss: 4, correct: 2 }));
    m.onBatch(batch(2, 2, { loss: 2, correct: 0 }));
    m.onBatch(batch(1, 2, { epoch: 1, loss: 1, correct: 1 }));
    expect(plain(m.points)).toEqual([
      { epoch: 0.5, metric: 'loss', value: 4 },
      { epoch: 0.5, metric: 'train acc', value: 1 },
      { epoch: 1, metric: 'loss', value: 3 },
      { epoch: 1, metric: 'train acc', value: 0.5 },
      { epoch: 1.5, metric: 'loss', value: 1 },
      { epoch: 1.5, metric: 'train acc', value: 0.5 },
    ]);
  });

  it("the epoch's record replaces the running values at its end, wherever they are", () => {
    const d = new Recorder();
    const m = new TrainingMonitor({ display: d, title: 'live', epochs: 3 });
    m.onBatch(batch(1, 1, { loss: 3, correct: 0 })); // the first points are at x = 1
    m.onEpoch({ epoch: 0, loss: 2.5, trainAcc: 0.25, testAcc: 0.75, seconds: 1, imagesPerSecond: 1 });
    expect(plain(m.points)).toEqual([
      { epoch: 1, metric: 'loss', value: 2.5 },
      { epoch: 1, metric: 'train acc', value: 0.25 },
      { epoch: 1, metric: 'test acc', value: 0.75 },
    ]);
    expect(d.bundles).toHaveLength(2);
    expect(d.bundles[1]['text/plain']).toBe('training curves: loss 2.500, train acc 0.250, test acc 0.750');
    // Before any test accuracy the line names only what there is.
    expect(d.bundles[0]['text/plain']).toBe('training curves: loss 3.000, train acc 0.000');
    const spec = m.spec() as { title: string; encoding: { x: { scale: unknown } } };
    expect(spec.title).toBe('live');
    expect(spec.encoding.x.scale).toEqual({ domain: [0, 3], nice: false });
  });

  it('an epoch cut short (maxBatchesPerEpoch) keeps its last running values beside the epoch record', () => {
    const m = new TrainingMonitor({ display: new Recorder() });
    m.onBatch(batch(3, 10, { loss: 2, correct: 2 })); // at x = 0.3, the epoch stops here
    m.onEpoch({ epoch: 0, loss: 1.5, trainAcc: 0.75, testAcc: 0.5, seconds: 1, imagesPerSecond: 1 });
    expect(plain(m.points)).toEqual([
      { epoch: 0.3, metric: 'loss', value: 2 },
      { epoch: 0.3, metric: 'train acc', value: 1 },
      { epoch: 1, metric: 'loss', value: 1.5 },
      { epoch: 1, metric: 'train acc', value: 0.75 },
      { epoch: 1, metric: 'test acc', value: 0.5 },
    ]);
  });

  it('trainOptions hands its callbacks to train() and silences the progress line', () => {
    const d = new Recorder();
    const m = new TrainingMonitor({ display: d });
    const o = m.trainOptions();
    expect(o.progress).toBe('none');
    o.onBatch!(batch(1, 1));
    o.onEpoch!({ epoch: 0, loss: 1, trainAcc: 0.5, testAcc: 0.5, seconds: 1, imagesPerSecond: 1 }, []);
    expect(m.points.map((p) => p.metric)).toEqual(['loss', 'train acc', 'test acc']);
    expect(d.bundles).toHaveLength(2);
  });
});
