/**
 * The `fast` recipe end to end on a small subset: a run interrupted mid-epoch and resumed from its
 * checkpoint ends with exactly the metrics of an uninterrupted run (the one-cycle schedule, the
 * momentum buffers, the augmentation stream and batch-norm recalibration all pick up where they
 * stopped).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/tfjs_setup';
import { loadDataFashionMnist } from '../../src/data/fashion_mnist';
import { ResNet } from '../../src/models/resnet';
import { seedInitializers } from '../../src/nn/init';
import { evaluateAccuracy } from '../../src/train/evaluate';
import { train } from '../../src/train/train';
import { recipeDataOptions, recipeTrainOptions, trainingRecipe } from '../../src/recipe';

const quiet = () => {};

function smallFast() {
  const r = trainingRecipe('fast');
  // Toy sizes so the JS back end runs it in seconds: 16x16 images, 4-8 channels.
  r.model = { ...r.model, widths: [4, 4, 8, 8], depths: [1, 1, 1, 1] };
  r.resize = 16;
  r.trainLimit = 160;
  r.testLimit = 64;
  r.batchSize = 32;
  r.validation = 256;
  r.epochs = 2;
  r.recalibrateBatches = 2;
  r.augment = { padding: 2, flip: true }; // off in `fast` itself; on here so that its stream's resume is tested
  return r;
}

async function runFast(opts: { checkpointDir?: string; stopAtStep?: number; resume?: boolean }) {
  const r = smallFast();
  const data = await loadDataFashionMnist({ ...recipeDataOptions(r), log: quiet });
  let steps = 0;
  seedInitializers(r.seed);
  const net = new ResNet(r.model).build([r.resize, r.resize, 1]);
  seedInitializers(undefined);
  const result = await train({
    ...recipeTrainOptions(r, data.trainIter.numBatches),
    trainData: data.trainIter,
    testData: data.testIter,
    validData: data.validIter,
    net,
    log: quiet,
    progress: 'none',
    checkpointDir: opts.checkpointDir,
    checkpointEvery: opts.stopAtStep,
    resume: opts.resume ? { inputShape: [r.resize, r.resize, 1] } : undefined,
    onBatch: () => {
      if (opts.stopAtStep !== undefined && !opts.resume && ++steps === opts.stopAtStep) throw new Error('interrupted');
    },
  });
  return { ...result, net, data };
}

const strip = (h: { epoch: number; loss: number; trainAcc: number; testAcc: number; validAcc?: number }[]) =>
  h.map(({ epoch, loss, trainAcc, testAcc, validAcc }) => ({ epoch, loss, trainAcc, testAcc, validAcc }));

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('fast recipe', () => {
  it('uses the validation split and reports validation accuracy each epoch', async () => {
    const { history, steps, net, data } = await runFast({});
    expect(steps).toBe(2 * 5);
    expect(history).toHaveLength(2);
    // The held-out 256 images, never trained on: validAcc is the final net's accuracy on exactly them.
    expect(data.validIter!.numExamples).toBe(256);
    expect(data.trainIter.numExamples).toBe(160);
    expect(history[1].validAcc).toBe(evaluateAccuracy(data.validIter!, net));
    for (const h of history) expect(Number.isInteger(h.validAcc! * 256)).toBe(true);
  });

  it('resumed mid-epoch from a checkpoint: the same metrics as an uninterrupted run', async () => {
    const whole = await runFast({});
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fast-resume-'));
    await expect(runFast({ checkpointDir: dir, stopAtStep: 7 })).rejects.toThrow('interrupted');
    const resumed = await runFast({ checkpointDir: dir, stopAtStep: 7, resume: true });
    expect(resumed.steps).toBe(whole.steps);
    expect(strip(resumed.history)).toEqual(strip(whole.history));
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
