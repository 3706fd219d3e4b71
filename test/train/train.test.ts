import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/tfjs_setup';
import { loadDataFashionMnist } from '../../src/data/fashion_mnist';
import { ResNet } from '../../src/models/resnet';
import { seedInitializers } from '../../src/nn/init';
import { train } from '../../src/train/train';
import { CheckpointError, readCheckpoint, restoreCheckpoint, saveCheckpoint } from '../../src/train/checkpoint';
import { evaluateAccuracy } from '../../src/train/evaluate';

// Small net on 28x28 inputs so the JS back end can run these quickly.
const TINY = {
  widths: [8, 16, 16, 32] as [number, number, number, number],
  depths: [1, 1, 1, 1] as [number, number, number, number],
  headPool: 'global' as const,
};

function tinyNet(seed = 1): ResNet {
  seedInitializers(seed);
  const net = new ResNet(TINY);
  net.build([28, 28, 1]);
  seedInitializers(undefined);
  return net;
}

const quiet = () => {};

async function data(trainLimit: number, testLimit: number, batchSize = 32) {
  return loadDataFashionMnist({ batchSize, seed: 3, trainLimit, testLimit, log: quiet });
}

function weights(net: ResNet): Float32Array[] {
  return net.namedVariables().map(([, v]) => v.dataSync() as Float32Array);
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('train', () => {
  it('leaks no tensors: the count is the same after every step', async () => {
    const { trainIter, testIter } = await data(32 * 5, 32);
    const net = tinyNet();
    const counts: number[] = [];
    await train({
      trainData: trainIter,
      testData: testIter,
      net,
      epochs: 1,
      log: quiet,
      progress: 'none',
      onBatch: () => counts.push(tf.memory().numTensors),
    });
    expect(counts.length).toBe(5);
    // Step 1 creates the optimizer's iteration counter; from then on nothing accumulates.
    expect(new Set(counts.slice(1)).size).toBe(1);
    const before = tf.memory().numTensors;
    evaluateAccuracy(testIter, net);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('prints the seed-style epoch line and returns the history', async () => {
    const { trainIter, testIter } = await data(64, 64);
    const lines: string[] = [];
    const net = tinyNet();
    const { history } = await train({
      trainData: trainIter,
      testData: testIter,
      net,
      epochs: 2,
      log: (l) => lines.push(l),
      progress: 'none',
      deviceDescription: 'cpu (test)',
    });
    expect(lines[0]).toBe('Start training on cpu (test)');
    expect(lines[1]).toMatch(
      /^Epoch 0\. Loss: \d+\.\d{3}, Train acc \d\.\d\d, Test acc \d\.\d\d, Time \d+\.\d sec, \d+\.\d img\/s$/,
    );
    expect(history.map((h) => h.epoch)).toEqual([0, 1]);
    // The last epoch's test accuracy is the trained net's, over all 64 test images (so a multiple of 1/64).
    expect(history[1].testAcc).toBe(evaluateAccuracy(testIter, net));
    expect(Number.isInteger(history[1].testAcc * 64)).toBe(true);
    // Each line shows its record's numbers, and 64 training images per epoch at the recorded rate.
    history.forEach((h, i) => {
      expect(lines[i + 1]).toContain(
        `Loss: ${h.loss.toFixed(3)}, Train acc ${h.trainAcc.toFixed(2)}, Test acc ${h.testAcc.toFixed(2)}`,
      );
      expect(h.imagesPerSecond * h.seconds).toBeCloseTo(64, 6);
      expect(Number.isInteger(h.trainAcc * 64)).toBe(true);
    });
    // Ten classes, untrained: the first epoch's mean loss is near ln 10, and training lowers it.
    expect(history[0].loss).toBeGreaterThan(1.5);
    expect(history[0].loss).toBeLessThan(3.5);
    expect(history[1].loss).toBeLessThan(history[0].loss);
  });

  it("each batch event carries the batch's size and correct count, which add up to the epoch's numbers", async () => {
    const { trainIter, testIter } = await data(32 * 2 + 10, 32);
    const events: { loss: number; batchSize: number; correct: number }[] = [];
    const { history } = await train({
      trainData: trainIter,
      testData: testIter,
      net: tinyNet(),
      epochs: 1,
      log: quiet,
      progress: 'none',
      onBatch: (e) => events.push(e),
    });
    expect(events.map((e) => e.batchSize)).toEqual([32, 32, 10]);
    expect(events.every((e) => Number.isInteger(e.correct) && e.correct >= 0 && e.correct <= e.batchSize)).toBe(true);
    expect(history[0].trainAcc).toBe(events.reduce((n, e) => n + e.correct, 0) / 74);
    expect(history[0].loss).toBeCloseTo(events.reduce((n, e) => n + e.loss * e.batchSize, 0) / 74, 10);
  });

  it('resuming from a checkpoint (after an epoch and mid-epoch) gives the same weights as one run', async () => {
    const { trainIter, testIter } = await data(32 * 4, 32);
    const common = { trainData: trainIter, testData: testIter, log: quiet, progress: 'none' as const };
    const straight = tinyNet();
    await train({ ...common, net: straight, epochs: 2 });

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-'));
    // Run 1 stops after epoch 0 + 2 steps of epoch 1 (checkpoint every 2 steps), as if killed.
    const first = tinyNet();
    await train({
      ...common,
      net: first,
      epochs: 2,
      checkpointDir: dir,
      checkpointEvery: 2,
      maxBatchesPerEpoch: undefined,
      onBatch: (e) => {
        if (e.epoch === 1 && e.batch === 2) throw new Error('killed');
      },
    }).catch((e) => {
      if ((e as Error).message !== 'killed') throw e;
    });
    expect(readCheckpoint(dir).manifest.position).toMatchObject({ epoch: 1, batch: 2, step: 6 });
    const resumed = tinyNet(99); // different init: everything must come from the checkpoint
    const { history } = await train({
      ...common,
      net: resumed,
      epochs: 2,
      checkpointDir: dir,
      resume: { inputShape: [28, 28, 1] },
    });
    expect(history.map((h) => h.epoch)).toEqual([0, 1]);
    const a = weights(straight),
      b = weights(resumed);
    a.forEach((w, i) => expect(Array.from(b[i])).toEqual(Array.from(w)));
    // Only the newest weights file is kept.
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.bin'))).toHaveLength(1);
  }, 120_000);

  // Momentum keeps a per-variable velocity: unless it is saved and restored, the resumed run's
  // first steps use zero velocity and the weights drift from the uninterrupted run.
  for (const nesterov of [false, true]) {
    it(`resuming restores the optimizer state: momentum 0.9${nesterov ? ' (Nesterov)' : ''} equals one run exactly`, async () => {
      const { trainIter, testIter } = await data(16 * 4, 16, 16);
      const common = { trainData: trainIter, testData: testIter, log: quiet, progress: 'none' as const };
      const opt = () => tf.train.momentum(0.05, 0.9, nesterov);
      const straight = tinyNet();
      await train({ ...common, net: straight, epochs: 2, optimizer: opt() });

      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-'));
      const first = tinyNet();
      await train({
        ...common,
        net: first,
        epochs: 2,
        optimizer: opt(),
        checkpointDir: dir,
        checkpointEvery: 2,
        onBatch: (e) => {
          if (e.epoch === 1 && e.batch === 2) throw new Error('killed');
        },
      }).catch((e) => {
        if ((e as Error).message !== 'killed') throw e;
      });
      const { manifest } = readCheckpoint(dir);
      expect(manifest.position).toMatchObject({ epoch: 1, batch: 2, step: 6 });
      // Iteration counter + one velocity per trainable variable.
      expect(manifest.optimizer.className).toBe('Momentum');
      expect(manifest.optimizer.weights).toHaveLength(1 + first.trainableVariables().length);

      const resumed = tinyNet(99);
      await train({
        ...common,
        net: resumed,
        epochs: 2,
        optimizer: opt(),
        checkpointDir: dir,
        resume: { inputShape: [28, 28, 1] },
      });
      const a = weights(straight),
        b = weights(resumed);
      a.forEach((w, i) => expect(Array.from(b[i])).toEqual(Array.from(w)));

      // Control: the same resume with a fresh (zero) velocity does not match, so the check above has teeth.
      const lost = tinyNet(99);
      await restoreCheckpoint(dir, lost, undefined, [28, 28, 1]);
      const lostDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-'));
      await saveCheckpoint(lostDir, lost, opt(), manifest.position, manifest.history, {});
      await train({
        ...common,
        net: lost,
        epochs: 2,
        optimizer: opt(),
        checkpointDir: lostDir,
        resume: { inputShape: [28, 28, 1] },
      });
      const c = weights(lost);
      expect(a.some((w, i) => w.some((x, j) => x !== c[i][j]))).toBe(true);
    }, 180_000);
  }

  it('restoring into a model of another shape names the variable and both shapes', async () => {
    const { trainIter, testIter } = await data(32, 32);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-'));
    await train({
      trainData: trainIter,
      testData: testIter,
      net: tinyNet(),
      epochs: 1,
      log: quiet,
      progress: 'none',
      checkpointDir: dir,
      optimizer: tf.train.momentum(0.05, 0.9),
    });
    seedInitializers(5);
    const wider = new ResNet({ ...TINY, widths: [8, 16, 16, 64] });
    seedInitializers(undefined);
    const err = await restoreCheckpoint(dir, wider, tf.train.momentum(0.05, 0.9), [28, 28, 1]).catch((e) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    // The first mismatch in the last stage: its first conv has 32 output channels saved, 64 here.
    expect((err as Error).message).toMatch(
      /b5\.0\.conv1\.weight has shape \[3,3,16,32\] in the checkpoint, \[3,3,16,64\] in the model/,
    );

    // Same architecture, other optimizer kind: refused before anything is applied.
    const err2 = await restoreCheckpoint(dir, tinyNet(), tf.train.sgd(0.05), [28, 28, 1]).catch((e) => e);
    expect((err2 as Error).message).toMatch(/optimizer is SGD, checkpoint has Momentum/);
  });

  it('refuses a corrupt checkpoint, naming the file', async () => {
    const { trainIter, testIter } = await data(32, 32);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-'));
    await train({
      trainData: trainIter,
      testData: testIter,
      net: tinyNet(),
      epochs: 1,
      log: quiet,
      progress: 'none',
      checkpointDir: dir,
    });
    const bin = fs.readdirSync(dir).find((f) => f.endsWith('.bin'))!;
    const file = path.join(dir, bin);
    const bytes = fs.readFileSync(file);
    bytes[100] ^= 0xff;
    fs.writeFileSync(file, bytes);
    expect(() => readCheckpoint(dir)).toThrow(CheckpointError);
    expect(() => readCheckpoint(dir)).toThrow(new RegExp(`${bin} is corrupt`));
  });
});
