/**
 * A live training plot for notebooks: hooks into `train` through its options (`onBatch`,
 * `onEpoch`), records loss / train accuracy (running means over the epoch so far)
 * after every batch and test accuracy on a few test batches every `testEvery` batches, and
 * redraws one in-place figure every `every` batches and at the end of each epoch.
 *
 *   const monitor = new TrainingMonitor({ every: 25, epochs: 1, net, testData, testEvery: 100 });
 *   const { history } = await train({ trainData, testData, net, epochs: 1, ...monitor.trainOptions() });
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Module } from '../nn/module';
import type { BatchSource } from '../train/batches';
import type { EpochRecord } from '../train/history';
import { evaluateAccuracy } from '../train/evaluate';
import type { BatchEvent, TrainOptions } from '../train/train';
import { LiveDisplay } from '../display/display';
import { showVegaLiteLive } from './vega_bundle';
import { CurvePoint, trainingCurvesSpec, VegaLiteSpec } from './specs';

export interface TrainingMonitorOptions {
  /** Redraw every this many batches (default 10). */
  every?: number;
  /** Epochs planned (fixes the x axis). */
  epochs?: number;
  title?: string;
  /** For live test accuracy: the net and the test data, evaluated on `testBatches` batches. */
  net?: Module;
  testData?: BatchSource;
  /** Evaluate every this many batches (default: never during the epoch; always at its end). */
  testEvery?: number;
  testBatches?: number;
  /** Where to draw (default: a new LiveDisplay; nothing is shown outside a notebook). */
  display?: LiveDisplay;
}

/** The first `n` batches of a source, e.g. a quick sample of the test set. */
export function firstBatches(src: BatchSource, n: number): BatchSource {
  const numBatches = Math.min(n, src.numBatches);
  const perBatch = Math.ceil(src.numExamples / Math.max(1, src.numBatches));
  return {
    numBatches,
    numExamples: Math.min(src.numExamples, numBatches * perBatch),
    *epoch(e: number) {
      let i = 0;
      for (const b of src.epoch(e)) {
        if (i++ >= numBatches) {
          tf.dispose([b.x, b.y]);
          return;
        }
        yield b;
      }
    },
  };
}

function lastIndex<T>(a: T[], pred: (v: T) => boolean): number {
  for (let i = a.length - 1; i >= 0; i--) if (pred(a[i])) return i;
  return -1;
}

export class TrainingMonitor {
  readonly points: CurvePoint[] = [];
  readonly display: LiveDisplay;
  private readonly every: number;
  private readonly opts: TrainingMonitorOptions;
  private lossSum = 0;
  private correct = 0;
  private seen = 0;
  private currentEpoch = -1;

  constructor(opts: TrainingMonitorOptions = {}) {
    this.opts = opts;
    this.every = Math.max(1, opts.every ?? 10);
    this.display = opts.display ?? new LiveDisplay();
    if (opts.testEvery && !(opts.net && opts.testData))
      throw new Error('TrainingMonitor: testEvery needs net and testData');
  }

  /** Spread into train(): `train({ ..., ...monitor.trainOptions() })`. */
  trainOptions(): Pick<TrainOptions, 'onBatch' | 'onEpoch' | 'progress'> {
    return {
      onBatch: (e) => this.onBatch(e),
      onEpoch: (r) => this.onEpoch(r),
      progress: 'none',
    };
  }

  onBatch(e: BatchEvent): void {
    if (e.epoch !== this.currentEpoch) {
      this.currentEpoch = e.epoch;
      this.lossSum = this.correct = this.seen = 0;
    }
    this.lossSum += e.loss * e.batchSize;
    this.correct += e.correct;
    this.seen += e.batchSize;
    const x = e.epoch + e.batch / e.numBatches;
    this.points.push({ epoch: x, metric: 'loss', value: this.lossSum / this.seen });
    this.points.push({ epoch: x, metric: 'train acc', value: this.correct / this.seen });
    const { testEvery, net, testData } = this.opts;
    if (testEvery && net && testData && e.batch % testEvery === 0 && e.batch < e.numBatches) {
      const acc = evaluateAccuracy(firstBatches(testData, this.opts.testBatches ?? 8), net);
      this.points.push({ epoch: x, metric: 'test acc', value: acc });
    }
    if (e.batch % this.every === 0 || e.batch === e.numBatches) this.draw();
  }

  onEpoch(r: EpochRecord): void {
    // The epoch's own numbers (whole test set) replace the running values at the epoch's end.
    const x = r.epoch + 1;
    for (const [metric, value] of [
      ['loss', r.loss],
      ['train acc', r.trainAcc],
      ['test acc', r.testAcc],
    ] as const) {
      const i = lastIndex(this.points, (p) => p.metric === metric && p.epoch === x);
      if (i >= 0) this.points.splice(i, 1);
      this.points.push({ epoch: x, metric, value });
    }
    this.draw();
  }

  spec(): VegaLiteSpec {
    return trainingCurvesSpec(this.points, { title: this.opts.title, epochs: this.opts.epochs });
  }

  draw(): void {
    const last = (m: string) => this.points[lastIndex(this.points, (p) => p.metric === m)];
    const summary = ['loss', 'train acc', 'test acc']
      .map((m) => {
        const p = last(m);
        return p ? `${m} ${p.value.toFixed(3)}` : null;
      })
      .filter(Boolean)
      .join(', ');
    showVegaLiteLive(this.display, this.spec(), `training curves: ${summary}`);
  }
}
