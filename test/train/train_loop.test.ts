/**
 * The training loop, checkpoints, metrics and progress lines on a tiny net and synthetic data:
 * fast enough to run once per mutant (`npm run mutation`), exact where the code is exact.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/tfjs_setup';
import { BatchNorm, Conv2d, Dense, GlobalAvgPool2d, ReLU } from '../../src/nn/layers';
import { Module, Sequential } from '../../src/nn/module';
import { seedInitializers } from '../../src/nn/init';
import type { Batch, BatchSource } from '../../src/train/batches';
import {
  CHECKPOINT_FORMAT,
  CheckpointError,
  hasCheckpoint,
  readCheckpoint,
  restoreCheckpoint,
  saveCheckpoint,
} from '../../src/train/checkpoint';
import { evaluateAccuracy } from '../../src/train/evaluate';
import { countCorrect, softmaxCrossEntropy } from '../../src/train/metrics';
import { epochProgress } from '../../src/train/progress';
import { InterruptWatch, requestInterrupt } from '../../src/train/interrupt';
import { setDisplayWriter } from '../../src/display/display';
import { formatEpoch, setTrainingCurvesDisplay, train } from '../../src/train/train';
import { JUPYTER_DISPLAY } from '../../src/display/jupyter_display';
import type { TrainSteering } from '../../src/train/steering';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'loop-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const INPUT: [number, number, number] = [6, 6, 2];
const quiet = () => {};

function net(seed = 1): Sequential {
  seedInitializers(seed);
  const n = new Sequential(
    new Conv2d(4, { kernelSize: 3, padding: 1 }),
    new BatchNorm(),
    new ReLU(),
    new GlobalAvgPool2d(),
    new Dense(3),
  );
  n.build(INPUT);
  seedInitializers(undefined);
  return n;
}

/** Deterministic batches that differ per epoch (a training source reshuffles per epoch). */
function source(numBatches = 4, batchSize = 5): BatchSource {
  return {
    numExamples: numBatches * batchSize,
    numBatches,
    *epoch(e: number): Iterable<Batch> {
      for (let i = 0; i < numBatches; i++) {
        const seed = 1 + 100 * e + i; // not 0: tfjs treats seed 0 as "no seed"
        yield {
          x: tf.randomNormal([batchSize, ...INPUT], 0, 1, 'float32', seed) as tf.Tensor4D,
          y: tf.tensor1d(
            Array.from({ length: batchSize }, (_, j) => (j + i + e) % 3),
            'int32',
          ),
        };
      }
    },
  };
}

const values = (n: Module) => n.namedVariables().map(([, v]) => Array.from(v.dataSync()));

describe('metrics', () => {
  it('softmaxCrossEntropy is the mean of -log softmax at the label', () => {
    const logits = tf.tensor2d([
      [1, 2, 3],
      [0, 0, 0],
      [5, -1, 2],
    ]);
    const labels = tf.tensor1d([2, 1, 0], 'int32');
    const expected =
      [
        -Math.log(Math.exp(3) / (Math.exp(1) + Math.exp(2) + Math.exp(3))),
        Math.log(3),
        -Math.log(Math.exp(5) / (Math.exp(5) + Math.exp(-1) + Math.exp(2))),
      ].reduce((a, b) => a + b) / 3;
    expect(softmaxCrossEntropy(logits, labels).dataSync()[0]).toBeCloseTo(expected, 5);
  });

  it('countCorrect counts rows whose arg-max is the label', () => {
    const logits = tf.tensor2d([
      [1, 2, 3],
      [0, 9, 0],
      [5, -1, 2],
      [0, 1, 0],
    ]);
    expect(countCorrect(logits, tf.tensor1d([2, 1, 1, 0], 'int32')).dataSync()[0]).toBe(2);
    expect(countCorrect(logits, tf.tensor1d([2, 1, 0, 1], 'float32')).dataSync()[0]).toBe(4);
  });
});

/** A "net" that predicts class 0 for every example. */
class AlwaysZero extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.oneHot(tf.zeros([x.shape[0]], 'int32'), 3).toFloat());
  }
}

describe('evaluateAccuracy', () => {
  it('is the fraction of correct predictions over all batches and leaks nothing', () => {
    const data = source(3, 4); // labels (j + i) % 3 for i = 0..2, j = 0..3: class 0 appears 4 times in 12
    const before = tf.memory().numTensors;
    expect(evaluateAccuracy(data, new AlwaysZero())).toBeCloseTo(4 / 12, 10);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses an empty source', () => {
    const empty: BatchSource = { numExamples: 0, numBatches: 0, *epoch() {} };
    expect(() => evaluateAccuracy(empty, new AlwaysZero())).toThrow(/yielded no examples/);
  });
});

describe('epochProgress', () => {
  it("'lines' logs about ten lines per epoch with rate and ETA", () => {
    const lines: string[] = [];
    const p = epochProgress('lines', 2, 20, 0, 10, (l) => lines.push(l));
    for (let b = 1; b <= 20; b++) p.update(b, 1);
    p.stop();
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe('epoch 2: batch 2/20, 1.0 img/s, ETA 3m00s');
    expect(lines[9]).toBe('epoch 2: batch 20/20, 1.0 img/s, ETA 0s');
  });

  it('formats hours, seconds and an unknown ETA; logs the last batch even off the grid', () => {
    const lines: string[] = [];
    const p = epochProgress('lines', 0, 7, 0, 100, (l) => lines.push(l));
    p.update(1, 0.01); // 6 * 100 / 0.01 = 60000 s
    p.update(3, 0);
    p.update(7, 200);
    expect(lines).toEqual([
      'epoch 0: batch 1/7, 0.0 img/s, ETA 16h40m',
      'epoch 0: batch 3/7, 0.0 img/s, ETA ?',
      'epoch 0: batch 7/7, 200.0 img/s, ETA 0s',
    ]);
    const few: string[] = [];
    const q = epochProgress('lines', 0, 100, 0, 1, (l) => few.push(l));
    q.update(10, 1);
    q.update(11, 1);
    q.update(20, 1);
    expect(few).toEqual(['epoch 0: batch 10/100, 1.0 img/s, ETA 1m30s', 'epoch 0: batch 20/100, 1.0 img/s, ETA 1m20s']);
  });

  it('pads the minutes of an ETA in hours; logs the last batch when it is off the grid; writes to stderr by default', () => {
    const lines: string[] = [];
    const hours = epochProgress('lines', 0, 2, 0, 3900, (l) => lines.push(l));
    hours.update(1, 1); // 3900 s
    const grid = epochProgress('lines', 0, 25, 0, 1, (l) => lines.push(l)); // every round(2.5) = 3 batches
    grid.update(23, 1);
    grid.update(24, 1);
    grid.update(25, 1);
    expect(lines).toEqual([
      'epoch 0: batch 1/2, 1.0 img/s, ETA 1h05m',
      'epoch 0: batch 24/25, 1.0 img/s, ETA 1s',
      'epoch 0: batch 25/25, 1.0 img/s, ETA 0s',
    ]);
    const written: string[] = [];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      written.push(String(s));
      return true;
    });
    try {
      epochProgress('lines', 4, 1, 0, 1).update(1, 2);
    } finally {
      stderr.mockRestore();
    }
    expect(written).toEqual(['epoch 4: batch 1/1, 2.0 img/s, ETA 0s\n']);
  });

  it("'none' logs nothing; 'auto' without a TTY logs lines", () => {
    const lines: string[] = [];
    const p = epochProgress('none', 0, 2, 0, 1, (l) => lines.push(l));
    p.update(1, 1);
    p.update(2, 1);
    p.stop();
    expect(lines).toEqual([]);
    const tty = process.stderr.isTTY;
    try {
      (process.stderr as { isTTY?: boolean }).isTTY = false;
      const a = epochProgress('auto', 0, 2, 0, 1, (l) => lines.push(l));
      a.update(2, 1);
    } finally {
      (process.stderr as { isTTY?: boolean }).isTTY = tty;
    }
    expect(lines).toEqual(['epoch 0: batch 2/2, 1.0 img/s, ETA 0s']);
  });
});

describe('epochProgress in a notebook', () => {
  it("'auto' in a notebook: one display updated in place (no stderr), throttled, ending on the epoch's final line", () => {
    const shown: { line: string; update: boolean; id: unknown }[] = [];
    setDisplayWriter((c, update) =>
      shown.push({
        line: String(c.data['text/plain']),
        update,
        id: (c.transient as { display_id?: string }).display_id,
      }),
    );
    const stderr = vi.spyOn(process.stderr, 'write');
    try {
      const p = epochProgress('auto', 1, 50, 0, 10, () => {
        throw new Error('no plain lines in a notebook');
      });
      for (let b = 1; b <= 50; b++) p.update(b, 100); // all within one throttle window, except the last batch
      p.stop();
    } finally {
      setDisplayWriter(undefined);
    }
    expect(stderr).not.toHaveBeenCalled();
    stderr.mockRestore();
    expect(shown.map((s) => s.line.replace(/in \d+s/, 'in Ts'))).toEqual([
      'epoch 1: batch 0/50, starting',
      'epoch 1: batch 1/50, 100.0 img/s, ETA 5s',
      'epoch 1: batch 50/50, 100.0 img/s, ETA 0s',
      'epoch 1: 50/50 batches in Ts, 100.0 img/s',
    ]);
    expect(shown.map((s) => s.update)).toEqual([false, true, true, true]);
    expect(new Set(shown.map((s) => s.id)).size).toBe(1);
  });

  it('stopped before any batch (a resumed epoch at batch 3): its start batch, and no rate', () => {
    const shown: string[] = [];
    setDisplayWriter((c) => shown.push(String(c.data['text/plain'])));
    try {
      epochProgress('display', 2, 50, 3, 10).stop();
    } finally {
      setDisplayWriter(undefined);
    }
    expect(shown.map((l) => l.replace(/in \d+s/, 'in Ts'))).toEqual([
      'epoch 2: batch 3/50, starting',
      'epoch 2: 3/50 batches in Ts',
    ]);
  });
});

/** Runs fn with stderr posing as a terminal; returns what was written to it. */
async function onTerminal(fn: () => Promise<void>): Promise<string[]> {
  const out: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    out.push(String(s));
    return true;
  });
  const tty = process.stderr.isTTY;
  (process.stderr as { isTTY?: boolean }).isTTY = true;
  try {
    await fn();
  } finally {
    (process.stderr as { isTTY?: boolean }).isTTY = tty;
    spy.mockRestore();
  }
  return out;
}
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('epochProgress on a terminal', () => {
  it("'bar' draws epoch, batches, rate and ETA, hides the cursor and clears the line at the end", async () => {
    const out = await onTerminal(async () => {
      const p = epochProgress('bar', 3, 10, 2, 5);
      await pause(150); // cli-progress redraws at most every 100 ms
      p.update(5, 10);
      await pause(150);
      p.stop();
    });
    const text = out.join('');
    expect(text).toContain('epoch 3 |████████░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░| 2/10 batches | - img/s | ETA ?');
    expect(text).toContain('| 5/10 batches | 10.0 img/s | ETA 3s'); // (10 - 5) * 5 / 10 = 2.5 s
    expect(out[1]).toBe('\u001b[?25l'); // cursor hidden ...
    expect(text).toContain('\u001b[?25h'); // ... and shown again
    expect(out.at(-1)).toBe('\u001b[2K'); // the bar is cleared on completion
  });

  it("'auto' on a terminal draws the bar", async () => {
    const out = await onTerminal(async () => {
      const p = epochProgress('auto', 0, 4, 0, 1, () => {
        throw new Error('no plain lines on a terminal');
      });
      p.update(4, 2);
      p.stop();
    });
    expect(out.join('')).toContain('epoch 0 |');
  });
});

describe('train (tiny net)', () => {
  it('prints the seed line, records exact epoch metrics, counts steps, leaks nothing', async () => {
    const data = source();
    const n = net();
    const lines: string[] = [];
    const batches: { epoch: number; batch: number; numBatches: number; loss: number }[] = [];
    const epochs: number[] = [];
    const counts: number[] = [];
    const { history, steps } = await train({
      trainData: data,
      testData: source(2, 3),
      net: n,
      epochs: 2,
      log: (l) => lines.push(l),
      progress: 'none',
      deviceDescription: 'test device',
      onBatch: (e) => {
        batches.push(e);
        counts.push(tf.memory().numTensors);
      },
      onEpoch: (r, h) => {
        epochs.push(r.epoch);
        expect(h[h.length - 1]).toBe(r);
      },
    });
    expect(steps).toBe(8);
    expect(lines[0]).toBe('Start training on test device');
    expect(lines.slice(1)).toEqual(history.map(formatEpoch));
    expect(epochs).toEqual([0, 1]);
    expect(batches.map((b) => `${b.epoch}:${b.batch}/${b.numBatches}`)).toEqual([
      '0:1/4',
      '0:2/4',
      '0:3/4',
      '0:4/4',
      '1:1/4',
      '1:2/4',
      '1:3/4',
      '1:4/4',
    ]);
    expect(new Set(counts.slice(1)).size).toBe(1);
    for (const [e, r] of history.entries()) {
      expect(r.epoch).toBe(e);
      const mine = batches.filter((b) => b.epoch === e).map((b) => b.loss);
      // Equal batch sizes: the epoch loss is the plain mean of the batch losses.
      expect(r.loss).toBeCloseTo(mine.reduce((a, b) => a + b) / 4, 6);
      expect(r.seconds).toBeGreaterThan(0);
      expect(r.imagesPerSecond).toBeCloseTo(20 / r.seconds, 6);
      expect(Number.isInteger(r.trainAcc * 20)).toBe(true);
      expect(r.trainAcc).toBeGreaterThanOrEqual(0);
      expect(r.trainAcc).toBeLessThanOrEqual(1);
    }
    expect(history[1].testAcc).toBe(evaluateAccuracy(source(2, 3), n));
    // Seconds, not milliseconds: a few steps of a tiny net take well under a minute, and the wall
    // time since the first step covers the training time of both epochs (plus evaluations).
    const [h0, h1] = history;
    expect(h0.seconds + h1.seconds).toBeLessThan(60);
    expect(h1.wallSeconds!).toBeLessThan(60);
    expect(h1.wallSeconds!).toBeGreaterThanOrEqual(h0.seconds + h1.seconds);
    expect(h1.wallSeconds!).toBeGreaterThan(h0.wallSeconds!);
    // the rate the bar and onBatch report: images so far over seconds so far
    const last = batches[batches.length - 1] as unknown as { imagesPerSecond: number };
    expect(last.imagesPerSecond).toBeCloseTo(h1.imagesPerSecond, 6);
  });

  it('validData: each record has validAcc, the accuracy on it after that epoch, and the line shows it', async () => {
    const n = net();
    const lines: string[] = [];
    const valid = () => source(2, 4);
    const common = {
      trainData: source(2),
      testData: source(2, 3),
      epochs: 1,
      progress: 'none',
      weightDecay: 0,
    } as const;
    const r = await train({ ...common, validData: valid(), net: n, log: (l) => lines.push(l) });
    const acc = evaluateAccuracy(valid(), n);
    expect(r.history[0].validAcc).toBe(acc);
    expect(lines[1]).toBe(formatEpoch(r.history[0]));
    expect(lines[1]).toContain(`, Valid acc ${acc.toFixed(3)}, Test acc `);
    const without = await train({ ...common, net: net(), log: quiet });
    expect(Object.keys(without.history[0])).not.toContain('validAcc');
  });

  it("the result's notebook display: steps, epochs and each epoch's line, '(interrupted)' when stopped; curves once an epoch finished", async () => {
    type Shown = { [JUPYTER_DISPLAY]: () => Record<string, unknown> };
    const common = { trainData: source(2), testData: source(1, 3), log: quiet, progress: 'none' } as const;
    const done = await train({ ...common, net: net(), epochs: 2 });
    expect(Object.keys(done)).toEqual(['history', 'steps']); // the display is not a field
    expect(JUPYTER_DISPLAY in { ...done }).toBe(false); // nor copied with the data
    const text = ['training: 4 steps, 2 epochs', ...done.history.map(formatEpoch)].join('\n');
    expect((done as unknown as Shown)[JUPYTER_DISPLAY]()).toEqual({ 'text/plain': text });
    const stopped = await train({ ...common, net: net(), epochs: 2, onBatch: () => requestInterrupt() });
    expect(Object.keys(stopped)).toEqual(['history', 'steps', 'interrupted']);
    expect((stopped as unknown as Shown)[JUPYTER_DISPLAY]()).toEqual({
      'text/plain': 'training: 1 steps, 0 epochs (interrupted)',
    });
    const calls: [number, string][] = [];
    setTrainingCurvesDisplay((h, t) => (calls.push([h.length, t]), { 'text/plain': 'curves' }));
    try {
      expect((done as unknown as Shown)[JUPYTER_DISPLAY]()).toEqual({ 'text/plain': 'curves' });
      expect(calls).toEqual([[2, text]]);
      // no finished epoch: nothing to draw, the text
      expect((stopped as unknown as Shown)[JUPYTER_DISPLAY]()['text/plain']).toMatch(/\(interrupted\)$/);
      expect(calls).toHaveLength(1);
    } finally {
      setTrainingCurvesDisplay(null);
    }
  });

  it("formatEpoch writes the seed's line (plus validation accuracy when there is one)", () => {
    const r = { epoch: 0, loss: 0.48712, trainAcc: 0.8234, testAcc: 0.8561, seconds: 441.26, imagesPerSecond: 135.98 };
    expect(formatEpoch(r)).toBe('Epoch 0. Loss: 0.487, Train acc 0.82, Test acc 0.86, Time 441.3 sec, 136.0 img/s');
    expect(formatEpoch({ ...r, epoch: 2, validAcc: 0.90149 })).toBe(
      'Epoch 2. Loss: 0.487, Train acc 0.82, Valid acc 0.901, Test acc 0.86, Time 441.3 sec, 136.0 img/s',
    );
  });

  it('rejects a schedule for an optimizer without a learning-rate setter before the first step', async () => {
    let steps = 0;
    await expect(
      train({
        trainData: source(1),
        testData: source(1),
        net: net(),
        epochs: 1,
        log: quiet,
        progress: 'none',
        optimizer: tf.train.adam(0.01),
        schedule: () => 0.1,
        onBatch: () => steps++,
      }),
    ).rejects.toThrow(/schedule needs an optimizer with setLearningRate.*Adam/);
    expect(steps).toBe(0);
    // without a schedule the same optimizer trains
    const { steps: ran } = await train({
      trainData: source(1),
      testData: source(1),
      net: net(),
      epochs: 1,
      log: quiet,
      progress: 'none',
      optimizer: tf.train.adam(0.01),
    });
    expect(ran).toBe(1);
  });

  it('trainAcc counts correct training predictions, loss is the chosen loss function', async () => {
    const data = source(2, 6);
    // Labels (j + i + e) % 3: a net that always says 0 is right on 2 of 6 per batch; its loss is fixed.
    const zero = new (class extends Module {
      forward(x: tf.Tensor): tf.Tensor {
        const w = this.variable('w', () => tf.zeros([1]));
        return tf.tidy(() => tf.add(tf.oneHot(tf.zeros([x.shape[0]], 'int32'), 3).toFloat(), tf.mul(w, 0)));
      }
    })();
    zero.build(INPUT);
    const { history } = await train({
      trainData: data,
      testData: data,
      net: zero,
      epochs: 1,
      log: quiet,
      progress: 'none',
      loss: (logits) => tf.mul(tf.sum(logits), 0.5) as tf.Scalar,
    });
    expect(history[0].trainAcc).toBeCloseTo(4 / 12, 10);
    expect(history[0].testAcc).toBeCloseTo(4 / 12, 10);
    expect(history[0].loss).toBe(3); // sum of one-hot rows (6) / 2
  });

  it('the default optimizer is SGD with learning rate 0.05 and the default loss is softmax cross-entropy', async () => {
    const common = { trainData: source(), testData: source(1, 2), epochs: 1, log: quiet, progress: 'none' as const };
    const a = net(),
      b = net(),
      c = net();
    await train({ ...common, net: a });
    await train({ ...common, net: b, optimizer: tf.train.sgd(0.05), loss: softmaxCrossEntropy });
    await train({ ...common, net: c, optimizer: tf.train.sgd(0.1) });
    expect(values(a)).toEqual(values(b));
    expect(values(a)).not.toEqual(values(c));
    expect(values(a)).not.toEqual(values(net()));
  });

  it('maxBatchesPerEpoch stops each epoch early and disposes the rest', async () => {
    const seen: string[] = [];
    const n = net();
    const before = tf.memory().numTensors;
    const { history, steps } = await train({
      trainData: source(5, 2),
      testData: source(1, 2),
      net: n,
      epochs: 2,
      log: quiet,
      progress: 'none',
      maxBatchesPerEpoch: 2,
      onBatch: (e) => seen.push(`${e.epoch}:${e.batch}/${e.numBatches}`),
    });
    expect(steps).toBe(4);
    expect(seen).toEqual(['0:1/2', '0:2/2', '1:1/2', '1:2/2']);
    expect(history[0].imagesPerSecond * history[0].seconds).toBeCloseTo(4, 6);
    // Only the optimizer's iteration counter remains.
    expect(tf.memory().numTensors - before).toBeLessThanOrEqual(1);
  });

  it('a non-finite loss stops training with the epoch and batch', async () => {
    await expect(
      train({
        trainData: source(),
        testData: source(1, 2),
        net: net(),
        epochs: 1,
        log: quiet,
        progress: 'none',
        loss: (logits) => tf.div(tf.sum(logits), 0) as tf.Scalar,
        onBatch: () => {
          throw new Error('onBatch must not run for a diverged step');
        },
      }),
    ).rejects.toThrow(/training diverged: loss is (NaN|-?Infinity) at epoch 0, batch 0/);
  });

  it("progress 'bar': one bar per epoch over the epoch's batch count; a resumed epoch starts at its batch", async () => {
    const dir = tmp();
    const out = await onTerminal(async () => {
      await train({
        trainData: source(),
        testData: source(1, 2),
        net: net(),
        epochs: 2,
        log: quiet,
        progress: 'bar',
        maxBatchesPerEpoch: 3,
        checkpointDir: dir,
        checkpointEvery: 1,
        onBatch: (e) => {
          if (e.epoch === 1 && e.batch === 2) throw new Error('killed');
        },
      }).catch((e) => {
        if ((e as Error).message !== 'killed') throw e;
      });
      await train({
        trainData: source(),
        testData: source(1, 2),
        net: net(),
        epochs: 2,
        log: quiet,
        progress: 'bar',
        maxBatchesPerEpoch: 3,
        checkpointDir: dir,
        resume: { inputShape: INPUT },
      });
    });
    const frames = out.filter((f) => f.startsWith('epoch '));
    expect(frames[0]).toMatch(/^epoch 0 \|.*\| 0\/3 batches \| - img\/s \| ETA \?$/);
    expect(frames.some((f) => /^epoch 1 \|.*\| 0\/3 batches/.test(f))).toBe(true);
    // The resumed run (checkpoint at epoch 1, batch 2) starts its bar at 2 of 3.
    expect(frames.some((f) => /^epoch 1 \|.*\| 2\/3 batches \| - img\/s/.test(f))).toBe(true);
    // ETA uses the batch size (20 examples / 4 batches = 5): never more than 3 batches * 5 / rate.
    expect(frames.every((f) => !/ETA \d+m/.test(f))).toBe(true);
  });

  it('resume without a checkpoint directory is refused', async () => {
    await expect(
      train({
        trainData: source(),
        testData: source(),
        net: net(),
        epochs: 1,
        log: quiet,
        progress: 'none',
        resume: { inputShape: INPUT },
      }),
    ).rejects.toThrow('train: resume needs checkpointDir');
  });
});

describe('interrupt (tiny net)', () => {
  it('an interrupt requested from onBatch stops after that batch: interrupted, steps, finished epochs, checkpoint there', async () => {
    const dir = tmp();
    const lines: string[] = [];
    const n = net();
    const r = await train({
      trainData: source(4),
      testData: source(1, 3),
      net: n,
      epochs: 3,
      log: (l) => lines.push(l),
      progress: 'none',
      checkpointDir: dir,
      onBatch: (e) => {
        if (e.epoch === 1 && e.batch === 2) requestInterrupt();
      },
    });
    expect(r.interrupted).toBe(true);
    expect(r.steps).toBe(6); // 4 of epoch 0, 2 of epoch 1
    expect(r.history.map((h) => h.epoch)).toEqual([0]);
    expect(lines.at(-1)).toBe('Interrupted at epoch 1, batch 2 (step 6); 1 epochs finished');
    // The checkpoint is at the stopping point, so resume continues from there.
    expect(readCheckpoint(dir).manifest.position).toMatchObject({ epoch: 1, batch: 2, step: 6 });
    // The net keeps the weights of the last step: a straight run of 6 steps ends at the same weights.
    const straight = net();
    await train({
      trainData: source(4),
      testData: source(1, 3),
      net: straight,
      epochs: 2,
      log: quiet,
      progress: 'none',
      onBatch: (e) => {
        if (e.epoch === 1 && e.batch === 2) throw new Error('stop');
      },
    }).catch((e) => {
      if ((e as Error).message !== 'stop') throw e;
    });
    expect(values(n)).toEqual(values(straight));
  });

  it('an interrupt requested before train() started does not stop it; one during the first batch stops after it', async () => {
    requestInterrupt();
    const r = await train({
      trainData: source(2),
      testData: source(1, 3),
      net: net(),
      epochs: 1,
      log: quiet,
      progress: 'none',
    });
    expect(r.interrupted).toBeUndefined();
    expect(r.steps).toBe(2);
    const stopped = await train({
      trainData: source(3),
      testData: source(1, 3),
      net: net(),
      epochs: 2,
      log: quiet,
      progress: 'none',
      onBatch: () => requestInterrupt(),
    });
    expect(stopped).toMatchObject({ interrupted: true, steps: 1, history: [] });
  });

  it('from a fresh state (no request ever): a watch sees only the requests made after it was created', () => {
    // The state lives on a global symbol; put it aside so this runs as in a fresh process.
    const key = Symbol.for('resnet-ts.interrupt');
    const g = globalThis as unknown as Record<symbol, unknown>;
    const saved = g[key];
    delete g[key];
    try {
      const first = new InterruptWatch();
      expect(first.requested).toBe(false);
      requestInterrupt();
      expect(first.requested).toBe(true);
      const second = new InterruptWatch();
      expect(second.requested).toBe(false);
      expect(first.requested).toBe(true);
      requestInterrupt();
      expect(second.requested).toBe(true);
    } finally {
      g[key] = saved;
    }
  });
});

describe('checkpoints (tiny net)', () => {
  const optimizers = {
    sgd: () => tf.train.sgd(0.05),
    momentum: () => tf.train.momentum(0.05, 0.9),
    nesterov: () => tf.train.momentum(0.05, 0.9, true),
  };
  for (const [name, opt] of Object.entries(optimizers)) {
    it(`${name}: a run killed mid-epoch and resumed equals one uninterrupted run exactly`, async () => {
      const common = { trainData: source(), testData: source(1, 3), log: quiet, progress: 'none' as const };
      const straight = net();
      const full = await train({ ...common, net: straight, epochs: 3, optimizer: opt() });

      const dir = tmp();
      await train({
        ...common,
        net: net(),
        epochs: 3,
        optimizer: opt(),
        checkpointDir: dir,
        checkpointEvery: 3,
        checkpointMeta: { run: 'a' },
        onBatch: (e) => {
          if (e.epoch === 1 && e.batch === 3) throw new Error('killed');
        },
      }).catch((e) => {
        if ((e as Error).message !== 'killed') throw e;
      });
      const { manifest } = readCheckpoint(dir);
      // Saved every 3 steps inside an epoch: step 3 (epoch 0), epoch end (step 4), step 6 (epoch 1, batch 2).
      expect(manifest.position).toMatchObject({ epoch: 1, batch: 2, step: 6, seen: 10 });
      expect(manifest.meta).toEqual({ run: 'a' });
      expect(manifest.history).toHaveLength(1);

      const lines: string[] = [];
      const resumed = net(99); // different init: everything must come from the checkpoint
      // Every batch the source yields is disposed, also the ones skipped to reach batch 2.
      const yielded: tf.Tensor[] = [];
      const plain = source();
      const tracked: BatchSource = {
        ...plain,
        *epoch(e: number) {
          for (const b of plain.epoch(e)) {
            yielded.push(b.x, b.y);
            yield b;
          }
        },
      };
      const res = await train({
        ...common,
        net: resumed,
        epochs: 3,
        optimizer: opt(),
        checkpointDir: dir,
        trainData: tracked,
        resume: { inputShape: INPUT },
        log: (l) => lines.push(l),
      });
      expect(lines[0]).toBe(`Resuming from ${dir}: epoch 1, batch 2, step 6`);
      expect(yielded.length).toBeGreaterThan(0);
      expect(yielded.filter((t) => !t.isDisposed)).toHaveLength(0);
      expect(res.steps).toBe(12);
      expect(values(resumed)).toEqual(values(straight));
      expect(res.history.map((h) => [h.epoch, h.loss, h.trainAcc, h.testAcc])).toEqual(
        full.history.map((h) => [h.epoch, h.loss, h.trainAcc, h.testAcc]),
      );
      expect(readCheckpoint(dir).manifest.position).toMatchObject({
        epoch: 3,
        batch: 0,
        step: 12,
        seen: 0,
        lossSum: 0,
        correct: 0,
      });
    });
  }

  it('losing the momentum state changes the result (so the resume check has teeth)', async () => {
    const common = { trainData: source(), testData: source(1, 3), log: quiet, progress: 'none' as const };
    const straight = net();
    await train({ ...common, net: straight, epochs: 2, optimizer: tf.train.momentum(0.05, 0.9) });
    const dir = tmp();
    await train({ ...common, net: net(), epochs: 1, optimizer: tf.train.momentum(0.05, 0.9), checkpointDir: dir });
    const lost = net(99);
    await restoreCheckpoint(dir, lost, undefined, INPUT);
    const lostDir = tmp();
    const m = readCheckpoint(dir).manifest;
    await saveCheckpoint(lostDir, lost, tf.train.momentum(0.05, 0.9), m.position, m.history, {});
    await train({
      ...common,
      net: lost,
      epochs: 2,
      optimizer: tf.train.momentum(0.05, 0.9),
      checkpointDir: lostDir,
      resume: { inputShape: INPUT },
    });
    expect(values(lost)).not.toEqual(values(straight));
  });

  it('the manifest indexes every tensor contiguously; only the newest weights file is kept', async () => {
    const dir = tmp();
    const n = net();
    const opt = tf.train.momentum(0.05, 0.9);
    await train({
      trainData: source(),
      testData: source(1, 2),
      net: n,
      epochs: 2,
      optimizer: opt,
      log: quiet,
      progress: 'none',
      checkpointDir: dir,
      checkpointEvery: 1,
      checkpointMeta: { model: 'tiny' },
    });
    expect(hasCheckpoint(dir)).toBe(true);
    expect(hasCheckpoint(tmp())).toBe(false);
    expect(fs.readdirSync(dir).sort()).toEqual(['checkpoint.json', 'weights-8.bin']);
    const { manifest, values: flat } = readCheckpoint(dir);
    expect(manifest.format).toBe(CHECKPOINT_FORMAT);
    expect(manifest.weightsFile).toBe('weights-8.bin');
    expect(manifest.meta).toEqual({ model: 'tiny' }); // also in the end-of-epoch save
    expect(Date.now() - Date.parse(manifest.savedAt)).toBeLessThan(600_000);
    expect(manifest.position).toEqual({ epoch: 2, batch: 0, step: 8, lossSum: 0, correct: 0, seen: 0, seconds: 0 });
    expect(manifest.history.map((h) => h.epoch)).toEqual([0, 1]);
    const named = n.namedVariables();
    expect(manifest.variables.map((e) => [e.name, e.shape])).toEqual(named.map(([k, v]) => [k, v.shape]));
    const entries = [...manifest.variables, ...manifest.optimizer.weights];
    let offset = 0;
    for (const e of entries) {
      expect(e.offset).toBe(offset);
      offset += e.shape.reduce((a, b) => a * b, 1);
    }
    expect(flat.length).toBe(offset);
    // Values are the tensors' values, running averages included.
    for (const [i, [, v]] of named.entries()) {
      const e = manifest.variables[i];
      expect(Array.from(flat.subarray(e.offset, e.offset + v.size))).toEqual(Array.from(v.dataSync()));
    }
    expect(manifest.optimizer.className).toBe('Momentum');
    expect(manifest.optimizer.config).toMatchObject({ learningRate: 0.05, momentum: 0.9, useNesterov: false });
    const ow = await opt.getWeights();
    expect(manifest.optimizer.weights.map((e) => e.shape)).toEqual(ow.map((w) => w.tensor.shape));
    expect(flat[manifest.optimizer.weights[0].offset]).toBe(8); // iterations
  });

  it('restores into an unbuilt net and without an optimizer', async () => {
    const dir = tmp();
    const n = net();
    await saveCheckpoint(
      dir,
      n,
      tf.train.sgd(0.1),
      { epoch: 0, batch: 1, step: 1, lossSum: 2, correct: 1, seen: 5, seconds: 0.5 },
      [],
      { k: 1 },
    );
    const fresh = new Sequential(
      new Conv2d(4, { kernelSize: 3, padding: 1 }),
      new BatchNorm(),
      new ReLU(),
      new GlobalAvgPool2d(),
      new Dense(3),
    );
    const m = await restoreCheckpoint(dir, fresh, undefined, INPUT);
    expect(values(fresh)).toEqual(values(n));
    expect(m.position).toEqual({ epoch: 0, batch: 1, step: 1, lossSum: 2, correct: 1, seen: 5, seconds: 0.5 });
    expect(m.meta).toEqual({ k: 1 });
  });

  describe('refusals name the problem', () => {
    async function saved(): Promise<string> {
      const dir = tmp();
      await saveCheckpoint(
        dir,
        net(),
        tf.train.sgd(0.05),
        { epoch: 0, batch: 0, step: 3, lossSum: 0, correct: 0, seen: 0, seconds: 0 },
        [],
        {},
      );
      return dir;
    }
    const manifestOf = (dir: string) => path.join(dir, 'checkpoint.json');
    const rewrite = (dir: string, f: (m: Record<string, unknown>) => void) => {
      const m = JSON.parse(fs.readFileSync(manifestOf(dir), 'utf8'));
      f(m);
      fs.writeFileSync(manifestOf(dir), JSON.stringify(m));
    };
    const fails = (dir: string, re: RegExp) => {
      expect(() => readCheckpoint(dir)).toThrow(CheckpointError);
      expect(() => readCheckpoint(dir)).toThrow(re);
    };

    it('no manifest', () => {
      const dir = tmp();
      expect(() => readCheckpoint(dir)).toThrow(expect.objectContaining({ name: 'CheckpointError' }));
      fails(
        dir,
        new RegExp(
          `^checkpoint ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no checkpoint.json \\(nothing to resume from\\)$`,
        ),
      );
    });
    it('invalid JSON', async () => {
      const dir = await saved();
      fs.writeFileSync(manifestOf(dir), '{');
      fails(dir, /checkpoint.json is not valid JSON: /);
    });
    it('another format', async () => {
      const dir = await saved();
      rewrite(dir, (m) => {
        m.format = 'other/9';
      });
      fails(dir, new RegExp(`format 'other/9', expected '${CHECKPOINT_FORMAT}'`));
    });
    it('missing weights file', async () => {
      const dir = await saved();
      fs.rmSync(path.join(dir, 'weights-3.bin'));
      fails(dir, /weights file weights-3.bin is missing/);
    });
    it('corrupt weights', async () => {
      const dir = await saved();
      const f = path.join(dir, 'weights-3.bin');
      const b = fs.readFileSync(f);
      b[b.length - 1] ^= 1;
      fs.writeFileSync(f, b);
      fails(dir, /weights-3.bin is corrupt: sha256 [0-9a-f]{64}, manifest says [0-9a-f]{64}/);
    });
    it('a model with other layers', async () => {
      const dir = await saved();
      const other = new Sequential(
        new Conv2d(4, { kernelSize: 3, padding: 1 }),
        new ReLU(),
        new GlobalAvgPool2d(),
        new Dense(3),
        new Dense(3),
      );
      other.build(INPUT);
      await expect(restoreCheckpoint(dir, other, undefined, INPUT)).rejects.toThrow(
        /model does not match: missing in model \[1\.gamma,1\.beta,1\.running_mean,1\.running_var\], not in checkpoint \[3\.weight,3\.bias\]/,
      );
      await expect(restoreCheckpoint(dir, other, undefined, INPUT)).rejects.toBeInstanceOf(CheckpointError);
    });
    it('a new save removes the previous weights file, whatever its step number', async () => {
      const dir = tmp();
      const n = net();
      const opt = tf.train.sgd(0.05);
      const at = (step: number) => ({ epoch: 0, batch: step, step, lossSum: 0, correct: 0, seen: 0, seconds: 0 });
      await saveCheckpoint(dir, n, opt, at(7), [], {});
      await saveCheckpoint(dir, n, opt, at(12), [], {});
      expect(fs.readdirSync(dir).sort()).toEqual(['checkpoint.json', 'weights-12.bin']);
      fs.writeFileSync(path.join(dir, 'notes-weights-1.bin'), 'not ours');
      fs.writeFileSync(path.join(dir, 'weights-5.bin.orig'), 'not ours either');
      await saveCheckpoint(dir, n, opt, at(130), [], {});
      expect(fs.readdirSync(dir).sort()).toEqual([
        'checkpoint.json',
        'notes-weights-1.bin',
        'weights-130.bin',
        'weights-5.bin.orig',
      ]);
    });

    it('a model with nothing in common: five names of each side, not more', async () => {
      const dir = await saved();
      rewrite(dir, (m) => {
        (m.variables as { name: string }[]).forEach((v, i) => (v.name = `old${i}`));
      });
      const mine = net()
        .namedVariables()
        .map(([name]) => name);
      expect(mine.length).toBeGreaterThan(5);
      await expect(restoreCheckpoint(dir, net(), undefined, INPUT)).rejects.toThrow(
        `model does not match: missing in model [old0,old1,old2,old3,old4], not in checkpoint [${mine.slice(0, 5)}]`,
      );
    });
    it("a model that lacks some of the checkpoint's variables (nothing missing, some extra)", async () => {
      const dir = await saved();
      const part = new Sequential(new Conv2d(4, { kernelSize: 3, padding: 1 }), new BatchNorm(), new ReLU());
      part.build(INPUT);
      await expect(restoreCheckpoint(dir, part, undefined, INPUT)).rejects.toThrow(
        /model does not match: missing in model \[4\.weight,4\.bias\], not in checkpoint \[\]/,
      );
    });
    it('a model of another shape: the variable and both shapes, nothing overwritten', async () => {
      const dir = await saved();
      const wide = new Sequential(
        new Conv2d(4, { kernelSize: 3, padding: 1 }),
        new BatchNorm(),
        new ReLU(),
        new GlobalAvgPool2d(),
        new Dense(5),
      );
      wide.build(INPUT);
      const before = values(wide);
      await expect(restoreCheckpoint(dir, wide, undefined, INPUT)).rejects.toThrow(
        /4\.weight has shape \[4,3\] in the checkpoint, \[4,5\] in the model/,
      );
      // Checked before any assignment: the conv and BN in front of the mismatch keep their values.
      expect(values(wide)).toEqual(before);
    });
    it('another optimizer kind', async () => {
      const dir = await saved();
      await expect(restoreCheckpoint(dir, net(), tf.train.adam(), INPUT)).rejects.toThrow(
        /optimizer is Adam, checkpoint has SGD/,
      );
    });
  });
});

describe('steering (tiny net): a Stop control and a learning-rate control', () => {
  /** A steering object as a notebook's TrainingControls is, driven by the test. */
  function steering(opts: { stopAfter?: number; rate?: (scheduled: number | undefined) => number | undefined } = {}) {
    const seen: number[] = [];
    const ends: { steps: number; stopped: boolean }[] = [];
    const s: TrainSteering & { seen: number[]; ends: typeof ends; batches: number } = {
      batches: 0,
      seen,
      ends,
      get stopRequested() {
        return opts.stopAfter !== undefined && this.batches >= opts.stopAfter;
      },
      ...(opts.rate ? { learningRate: (x: number | undefined) => (seen.push(x ?? NaN), opts.rate!(x)) } : {}),
      onBatch() {
        this.batches++;
      },
      onEnd(r) {
        ends.push(r);
      },
    };
    return s;
  }

  it('a steering with only stopRequested (its callbacks are optional) runs to the end or stops', async () => {
    const common = { trainData: source(2), testData: source(1, 3), epochs: 2, log: quiet, progress: 'none' } as const;
    const full = await train({ ...common, net: net(), steering: { stopRequested: false } });
    expect(full).toMatchObject({ steps: 4 });
    expect(full.interrupted).toBeUndefined();
    const stopped = await train({ ...common, net: net(), steering: { stopRequested: true } });
    expect(stopped).toMatchObject({ steps: 1, history: [], interrupted: true });
  });

  it('Stop ends train() after the batch it is on, keeps the history, writes the checkpoint there', async () => {
    const dir = tmp();
    const lines: string[] = [];
    const s = steering({ stopAfter: 6 });
    const r = await train({
      trainData: source(4),
      testData: source(1, 3),
      net: net(),
      epochs: 5,
      log: (l) => lines.push(l),
      progress: 'none',
      checkpointDir: dir,
      steering: s,
    });
    expect(r.interrupted).toBe(true);
    expect(r.steps).toBe(6);
    expect(r.history.map((h) => h.epoch)).toEqual([0]);
    expect(lines.at(-1)).toBe('Stopped at epoch 1, batch 2 (step 6); 1 epochs finished');
    expect(s.ends).toEqual([{ steps: 6, stopped: true }]);
    expect(readCheckpoint(dir).manifest.position).toMatchObject({ epoch: 1, batch: 2, step: 6 });
  });

  it('a run that is not stopped reports its end; the rate control sees each step and sets the rate used', async () => {
    // A rate control that halves the schedule's rate from step 2 on: the weights equal a run
    // whose schedule is halved from step 2, and differ from the plain schedule's run.
    let step = 0;
    const s = steering({ rate: (x) => (step++ >= 2 ? x! / 2 : x) });
    const schedule = (i: number) => 0.1 / (1 + i);
    const steered = net();
    const common = { trainData: source(4), testData: source(1, 3), epochs: 1, log: quiet, progress: 'none' as const };
    const r = await train({ ...common, net: steered, schedule, steering: s });
    expect(r.interrupted).toBeUndefined();
    expect(s.ends).toEqual([{ steps: 4, stopped: false }]);
    expect(s.seen).toEqual([0, 1, 2, 3].map(schedule));
    const halved = net();
    await train({ ...common, net: halved, schedule: (i) => (i >= 2 ? schedule(i) / 2 : schedule(i)) });
    expect(values(steered)).toEqual(values(halved));
    const plain = net();
    await train({ ...common, net: plain, schedule });
    expect(values(steered)).not.toEqual(values(plain));
  });

  it('a rate control needs an optimizer whose rate can be set: refused before the first step', async () => {
    await expect(
      train({
        trainData: source(2),
        testData: source(1, 3),
        net: net(),
        epochs: 1,
        log: quiet,
        progress: 'none',
        optimizer: tf.train.adam(0.01),
        steering: steering({ rate: (x) => x }),
      }),
    ).rejects.toThrow(/setLearningRate/);
  });
});
