/**
 * The named recipes (src/recipe.ts) as plain data: each recipe's fields, the toy sizes of fast
 * mode, the options handed to train() and loadDataFashionMnist(), the optimizer, the schedule, the
 * loss, and the one-line description. Fast: no data, no training (fast_recipe.test.ts trains).
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/tfjs_setup';
import {
  RECIPE_NAMES,
  describeRecipe,
  isFastMode,
  recipeDataOptions,
  recipeOptimizer,
  recipeSchedule,
  recipeStepOptions,
  recipeTrainOptions,
  shrinkForFastMode,
  stepsPerEpoch,
  trainingRecipe,
} from '../../src/recipe';
import type { TrainingRecipe } from '../../src/recipe';
import { softmaxCrossEntropy } from '../../src/train/metrics';
import { oneCycle, scheduleValues } from '../../src/train/schedule';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

afterEach(() => {
  vi.unstubAllEnvs();
});

const SEED: TrainingRecipe = {
  name: 'seed',
  modelName: 'seed ResNet-18',
  model: {},
  batchSize: 64,
  resize: 96,
  epochs: 1,
  learningRate: 0.05,
  momentum: 0,
  nesterov: false,
  schedule: 'constant',
  warmupFraction: 0.25,
  weightDecay: 0,
  labelSmoothing: 0,
  augment: null,
  recalibrateBatches: 0,
  validation: 0,
  seed: 0,
  plotEvery: 20,
  liveTestEvery: 100,
  liveTestBatches: 8,
};

const FAST: TrainingRecipe = {
  ...SEED,
  name: 'fast',
  modelName: 'ResNet-18 (16-128 channels, 3x3 stem)',
  model: { stem: 'small', widths: [16, 32, 64, 128], depths: [2, 2, 2, 2], headPool: 'global' },
  batchSize: 128,
  resize: 28,
  epochs: 3,
  learningRate: 0.2,
  momentum: 0.9,
  nesterov: true,
  schedule: 'one-cycle',
  warmupFraction: 0.25,
  weightDecay: 5e-4,
  labelSmoothing: 0.1,
  augment: null,
  recalibrateBatches: 20,
  validation: 5000,
};

/** What fast mode makes of a recipe: a narrow one-block-per-stage net on a small subset. */
const TOY = {
  model: { widths: [8, 16, 32, 64], depths: [1, 1, 1, 1], headPool: 'global' },
  trainLimit: 1920,
  testLimit: 512,
  maxBatchesPerEpoch: 30,
  plotEvery: 5,
  liveTestEvery: 10,
  liveTestBatches: 2,
};

describe('the named recipes', () => {
  it('seed is the chapter recipe, fast the tuned one, tiny the seed at toy sizes', () => {
    expect(RECIPE_NAMES).toEqual(['seed', 'fast', 'tiny']);
    expect(trainingRecipe('seed')).toStrictEqual(SEED);
    expect(trainingRecipe('fast')).toStrictEqual(FAST);
    expect(trainingRecipe('tiny')).toStrictEqual({
      ...SEED,
      ...TOY,
      name: 'tiny',
      modelName: 'tiny ResNet (fast mode)',
      resize: 48,
      epochs: 1,
      validation: 0,
      recalibrateBatches: 0,
    });
  });

  it('shrinkForFastMode keeps the optimizer, schedule and loss, and caps sizes (fast -> toy fast)', () => {
    expect(shrinkForFastMode(trainingRecipe('fast'))).toStrictEqual({
      ...FAST,
      ...TOY,
      model: { stem: 'small', ...TOY.model },
      modelName: 'ResNet-18 (16-128 channels, 3x3 stem) at fast-mode sizes',
      resize: 28, // already under 48
      epochs: 2, // capped from 3
      validation: 256,
      recalibrateBatches: 2,
    });
    // Small values stay as they are.
    const small = shrinkForFastMode({ ...SEED, resize: 20, epochs: 1, recalibrateBatches: 1 });
    expect([small.resize, small.epochs, small.recalibrateBatches, small.validation]).toEqual([20, 1, 1, 0]);
  });

  it('gives a fresh copy each time (changing one does not change the next)', () => {
    const a = trainingRecipe('fast');
    a.learningRate = 9;
    (a.model.widths as number[])[0] = 1;
    expect(trainingRecipe('fast')).toStrictEqual(FAST);
    const s = shrinkForFastMode(FAST);
    (s.model.widths as number[])[0] = 1;
    expect(shrinkForFastMode(FAST).model.widths).toEqual([8, 16, 32, 64]);
  });

  it('picks seed or tiny from { fast } or from RESNET_TS_FAST; an unknown name is listed against the known ones', () => {
    expect(trainingRecipe({ fast: true }).name).toBe('tiny');
    expect(trainingRecipe({ fast: false }).name).toBe('seed');
    vi.stubEnv('RESNET_TS_FAST', '');
    expect(trainingRecipe().name).toBe('seed');
    expect(trainingRecipe({}).name).toBe('seed');
    vi.stubEnv('RESNET_TS_FAST', 'yes');
    expect(trainingRecipe().name).toBe('tiny');
    expect(trainingRecipe({}).name).toBe('tiny');
    expect(trainingRecipe({ fast: false }).name).toBe('seed');
    expect(() => trainingRecipe('huge' as never)).toThrow(new Error("unknown recipe 'huge' (seed, fast, tiny)"));
  });

  it('isFastMode: 1, true, yes, on in any case; nothing else', () => {
    for (const v of ['1', 'true', 'TRUE', 'yes', 'Yes', 'on', 'ON'])
      expect(isFastMode({ RESNET_TS_FAST: v }), v).toBe(true);
    for (const v of ['0', 'false', 'no', 'off', '', ' 1', '1 ', 'yes please', 'x1', '11'])
      expect(isFastMode({ RESNET_TS_FAST: v }), JSON.stringify(v)).toBe(false);
    expect(isFastMode({})).toBe(false);
    vi.stubEnv('RESNET_TS_FAST', 'on');
    expect(isFastMode()).toBe(true);
  });
});

describe('what a recipe hands to train() and to the data loader', () => {
  it('optimizer: plain SGD for the seed, Nesterov momentum for fast', () => {
    const seed = recipeOptimizer(SEED);
    // (tfjs's optimizer classes answer instanceof by their fields; the config tells them apart.)
    expect(seed.getConfig()).toStrictEqual({ learningRate: 0.05 });
    const fast = recipeOptimizer(FAST);
    expect(fast.getConfig()).toEqual({ learningRate: 0.2, momentum: 0.9, useNesterov: true });
    expect(recipeOptimizer({ ...FAST, nesterov: false }).getConfig()).toEqual({
      learningRate: 0.2,
      momentum: 0.9,
      useNesterov: false,
    });
  });

  it('steps per epoch: all batches, or maxBatchesPerEpoch when fewer', () => {
    expect(stepsPerEpoch(SEED, 938)).toBe(938);
    expect(stepsPerEpoch({ ...SEED, maxBatchesPerEpoch: 30 }, 938)).toBe(30);
    expect(stepsPerEpoch({ ...SEED, maxBatchesPerEpoch: 30 }, 12)).toBe(12);
  });

  it('schedule: constant at the learning rate, or one-cycle over epochs * steps with the warm-up fraction', () => {
    const constant = recipeSchedule(SEED, 100);
    expect([constant(0), constant(50), constant(10_000)]).toEqual([0.05, 0.05, 0.05]);
    const r = { ...FAST, warmupFraction: 0.3 };
    const got = scheduleValues(recipeSchedule(r, 10), 30);
    expect(got).toEqual(scheduleValues(oneCycle({ maxLr: 0.2, totalSteps: 30, pctStart: 0.3 }), 30));
    // The peak is the recipe's learning rate, reached at 30% of the 3 * 10 steps.
    expect(Math.max(...got)).toBeCloseTo(0.2, 12);
    expect(got.indexOf(Math.max(...got))).toBe(8);
  });

  it('step options: label-smoothed cross-entropy and weight decay when set, undefined otherwise', () => {
    expect(recipeStepOptions(SEED)).toEqual({ loss: undefined, weightDecay: undefined });
    const fast = recipeStepOptions(FAST);
    expect(fast.weightDecay).toBe(5e-4);
    const logits = tf.tensor2d([
      [2, 0, -1],
      [0.5, 1, 0],
    ]);
    const labels = tf.tensor1d([0, 2], 'int32');
    const smoothed = softmaxCrossEntropy(logits, labels, 0.1).arraySync() as number;
    const plain = softmaxCrossEntropy(logits, labels).arraySync() as number;
    expect(smoothed).not.toBeCloseTo(plain, 3);
    expect(fast.loss!(logits, labels).arraySync()).toBeCloseTo(smoothed, 6);
    tf.dispose([logits, labels]);
  });

  it('train options of the seed: one constant-rate epoch, nothing else', () => {
    const o = recipeTrainOptions(SEED, 938);
    expect(o.optimizer.getConfig()).toStrictEqual({ learningRate: 0.05 });
    expect({ ...o, optimizer: undefined }).toEqual({
      epochs: 1,
      optimizer: undefined,
      schedule: undefined,
      loss: undefined,
      weightDecay: undefined,
      recalibrateBatches: undefined,
      maxBatchesPerEpoch: undefined,
    });
  });

  it('train options of tiny fast: the one-cycle over the capped steps, recalibration, the batch cap', () => {
    const r = shrinkForFastMode(FAST);
    const o = recipeTrainOptions(r, 100);
    expect([o.epochs, o.recalibrateBatches, o.maxBatchesPerEpoch, o.weightDecay]).toEqual([2, 2, 30, 5e-4]);
    expect(o.loss).toBeTypeOf('function');
    expect(o.optimizer.getConfig()).toEqual({ learningRate: 0.2, momentum: 0.9, useNesterov: true });
    // 2 epochs of 30 steps (not of 100).
    expect(scheduleValues(o.schedule!, 60)).toEqual(
      scheduleValues(oneCycle({ maxLr: 0.2, totalSteps: 60, pctStart: 0.25 }), 60),
    );
  });

  it('data options: sizes, seed, limits; 0 validation and no augmentation as undefined', () => {
    expect(recipeDataOptions(SEED)).toStrictEqual({
      batchSize: 64,
      resize: 96,
      seed: 0,
      trainLimit: undefined,
      testLimit: undefined,
      validation: undefined,
      augment: undefined,
    });
    const augment = { padding: 2, flip: true };
    expect(recipeDataOptions({ ...shrinkForFastMode(FAST), seed: 3, augment })).toStrictEqual({
      batchSize: 128,
      resize: 28,
      seed: 3,
      trainLimit: 1920,
      testLimit: 512,
      validation: 256,
      augment,
    });
  });
});

describe('describeRecipe', () => {
  it('says what each named recipe is in one line', () => {
    expect(describeRecipe(trainingRecipe('seed'))).toBe(
      'seed ResNet-18, all 60000 train / 10000 test images, batch 64, 96x96, SGD, lr 0.05, Xavier init, 1 epoch',
    );
    expect(describeRecipe(trainingRecipe('fast'))).toBe(
      'ResNet-18 (16-128 channels, 3x3 stem), all 60000 train / 10000 test images, batch 128, 28x28, ' +
        'SGD Nesterov momentum 0.9, one-cycle lr to 0.2, Xavier init, 3 epochs, weight decay 0.0005, ' +
        'label smoothing 0.1, BN recalibrated on 20 batches, 5000 images held out for validation',
    );
    expect(describeRecipe(trainingRecipe('tiny'))).toBe(
      'FAST MODE: tiny ResNet (fast mode), 1920 train / 512 test images, batch 64, 48x48, SGD, lr 0.05, ' +
        'Xavier init, 1 epoch, at most 30 batches',
    );
  });

  it('names plain momentum and the augmentation, with or without flips', () => {
    const r = { ...SEED, momentum: 0.5, epochs: 2, augment: { padding: 3, flip: false } };
    expect(describeRecipe(r)).toBe(
      'seed ResNet-18, all 60000 train / 10000 test images, batch 64, 96x96, SGD momentum 0.5, lr 0.05, ' +
        'Xavier init, 2 epochs, shift 3px',
    );
    expect(describeRecipe({ ...r, augment: { padding: 2, flip: true } })).toMatch(/, 2 epochs, shift 2px \+ flip$/);
  });
});
