/**
 * The named training recipes: the one definition that the CLI (`npm start -- --recipe NAME`), the
 * notebooks (`trainingRecipe('fast')`), the sweep and the benches start from. The CLI's flags
 * override a recipe's fields under the same names (`--learning-rate` sets `learningRate`).
 *
 * - `seed`: the chapter's recipe, unchanged: batch 64, images resized to 96x96, plain SGD at
 *   learning rate 0.05, Xavier initialisation, the full ResNet-18, one epoch over all 60000
 *   training images, accuracy on the 10000 test images. The default everywhere.
 * - `fast`: the same family of network (the chapter's `Residual` blocks) with what is known to
 *   work for small-image ResNets: a 3x3 stem at the images' own 28x28, Nesterov momentum with
 *   weight decay, a one-cycle learning rate, label smoothing, and batch norm recalibrated before
 *   each evaluation. No augmentation: random shifts and flips, the usual choice for long runs,
 *   cost 0.010 validation accuracy in a three-epoch budget (the ablation in docs/measurements.md);
 *   `--augment 2,flip` turns them on. 5000 training images are held out as a fixed
 *   validation set: every choice in this recipe is made on it, never on the test images, which
 *   are only reported. Three epochs: the most that fit in ten minutes on two AVX2 cores (about
 *   150 s per epoch with its evaluations); median test accuracy 0.929 after 8 minutes over seeds
 *   0-2 (docs/measurements.md).
 * - `tiny`: what fast mode (RESNET_TS_FAST=1, used by CI to execute the notebooks in seconds)
 *   runs: the seed's code path at toy sizes (a narrow one-block-per-stage ResNet, 48x48 images,
 *   a few hundred examples, a few dozen batches).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AugmentOptions } from './data/augment';
import type { ResNetConfig } from './models/resnet';
import { softmaxCrossEntropy } from './train/metrics';
import type { StepOptions } from './train/train';
import { LearningRateSchedule, constantLr, oneCycle } from './train/schedule';

export const RECIPE_NAMES = ['seed', 'fast', 'tiny'] as const;
export type RecipeName = (typeof RECIPE_NAMES)[number];

export interface TrainingRecipe {
  name: RecipeName;
  /** How the model is called in logs and plot titles. */
  modelName: string;
  /** ResNet options (empty for the seed's net). */
  model: Partial<ResNetConfig>;
  batchSize: number;
  /** Images are resized (bilinear) to resize x resize; 28 keeps Fashion-MNIST's own size. */
  resize: number;
  epochs: number;
  /** The constant learning rate, or the peak of the one-cycle schedule. */
  learningRate: number;
  /** SGD momentum (0: plain SGD, as in the seed). */
  momentum: number;
  nesterov: boolean;
  schedule: 'constant' | 'one-cycle';
  /** One-cycle: fraction of the steps spent warming up to the peak. */
  warmupFraction: number;
  /** L2 decay of convolution and dense weights (0: none). */
  weightDecay: number;
  labelSmoothing: number;
  /** Random shift (by up to `padding` pixels) and flip of training images; null: none. */
  augment: AugmentOptions | null;
  /** Recalibrate batch norm on this many training batches before each evaluation (0: never). */
  recalibrateBatches: number;
  /** Training images held out as the fixed validation set (0: none). */
  validation: number;
  /** Use only the first n training / test images (undefined: all). */
  trainLimit?: number;
  testLimit?: number;
  /** Stop each epoch after this many batches (undefined: the whole epoch). */
  maxBatchesPerEpoch?: number;
  /** Seed for the initial weights, the shuffling and the augmentation. */
  seed: number;
  /** Notebooks: redraw live plots every this many batches. */
  plotEvery: number;
  /** Notebooks: live test accuracy on the first `liveTestBatches` test batches every `liveTestEvery` batches. */
  liveTestEvery: number;
  liveTestBatches: number;
}

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

const RECIPES: Record<RecipeName, TrainingRecipe> = {
  seed: SEED,
  fast: {
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
    augment: null, // measured on the validation set: shifts and flips lose 0.010 in three epochs
    recalibrateBatches: 20,
    validation: 5000,
    plotEvery: 20,
    liveTestEvery: 100,
    liveTestBatches: 8,
  },
  tiny: { ...shrink(SEED), name: 'tiny', modelName: 'tiny ResNet (fast mode)' },
};

/** The toy sizes of fast mode: a narrow one-block-per-stage net, at most 48x48 images, a small subset. */
function shrink(r: TrainingRecipe): TrainingRecipe {
  return {
    ...r,
    modelName: `${r.modelName} at fast-mode sizes`,
    model: { ...r.model, widths: [8, 16, 32, 64], depths: [1, 1, 1, 1], headPool: 'global' },
    resize: Math.min(r.resize, 48),
    epochs: Math.min(r.epochs, 2),
    trainLimit: 1920,
    testLimit: 512,
    validation: r.validation ? 256 : 0,
    recalibrateBatches: Math.min(r.recalibrateBatches, 2),
    maxBatchesPerEpoch: 30,
    plotEvery: 5,
    liveTestEvery: 10,
    liveTestBatches: 2,
  };
}

/**
 * The recipe at fast mode's toy sizes (what `tiny` is to `seed`): same optimizer, schedule, loss,
 * augmentation and recalibration, on a narrow net and a small subset, so a notebook that compares
 * recipes runs in seconds under RESNET_TS_FAST=1.
 */
export function shrinkForFastMode(r: TrainingRecipe): TrainingRecipe {
  return structuredClone(shrink(r));
}

/** RESNET_TS_FAST=1|true|yes turns fast mode (the `tiny` recipe) on. */
export function isFastMode(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(1|true|yes|on)$/i.test(env.RESNET_TS_FAST ?? '');
}

/**
 * A named recipe (a fresh copy, safe to modify). Without a name: `seed`, or `tiny` in fast mode.
 * `{ fast: true | false }` picks `tiny` or `seed` explicitly.
 */
export function trainingRecipe(which?: RecipeName | { fast?: boolean }): TrainingRecipe {
  const name: RecipeName = typeof which === 'string' ? which : (which?.fast ?? isFastMode()) ? 'tiny' : 'seed';
  const r = RECIPES[name];
  if (!r) throw new Error(`unknown recipe '${String(which)}' (${RECIPE_NAMES.join(', ')})`);
  return structuredClone(r);
}

/** The optimizer the recipe trains with (its learning rate is the schedule's, when there is one). */
export function recipeOptimizer(r: TrainingRecipe): tf.Optimizer {
  return r.momentum > 0 ? tf.train.momentum(r.learningRate, r.momentum, r.nesterov) : tf.train.sgd(r.learningRate);
}

/** Optimizer steps per epoch for a training set of `numBatches` batches. */
export function stepsPerEpoch(r: TrainingRecipe, numBatches: number): number {
  return Math.min(numBatches, r.maxBatchesPerEpoch ?? Infinity);
}

/** The learning rate per step over the whole run of `epochs` epochs of `steps` steps. */
export function recipeSchedule(r: TrainingRecipe, steps: number): LearningRateSchedule {
  if (r.schedule === 'constant') return constantLr(r.learningRate);
  return oneCycle({ maxLr: r.learningRate, totalSteps: r.epochs * steps, pctStart: r.warmupFraction });
}

/** What one training step of the recipe does besides forward and backward: its loss and weight decay. */
export function recipeStepOptions(r: TrainingRecipe): Pick<StepOptions, 'loss' | 'weightDecay'> {
  return {
    loss:
      r.labelSmoothing > 0
        ? (logits: tf.Tensor, labels: tf.Tensor1D) => softmaxCrossEntropy(logits, labels, r.labelSmoothing)
        : undefined,
    weightDecay: r.weightDecay || undefined,
  };
}

/** Everything `train()` needs from the recipe, for a training set of `numBatches` batches per epoch. */
export function recipeTrainOptions(r: TrainingRecipe, numBatches: number) {
  return {
    epochs: r.epochs,
    optimizer: recipeOptimizer(r),
    schedule: r.schedule === 'constant' ? undefined : recipeSchedule(r, stepsPerEpoch(r, numBatches)),
    ...recipeStepOptions(r),
    recalibrateBatches: r.recalibrateBatches || undefined,
    maxBatchesPerEpoch: r.maxBatchesPerEpoch,
  };
}

/** Everything `loadDataFashionMnist()` needs from the recipe. */
export function recipeDataOptions(r: TrainingRecipe) {
  return {
    batchSize: r.batchSize,
    resize: r.resize,
    seed: r.seed,
    trainLimit: r.trainLimit,
    testLimit: r.testLimit,
    validation: r.validation || undefined,
    augment: r.augment ?? undefined,
  };
}

/** One line saying what the recipe is. */
export function describeRecipe(r: TrainingRecipe): string {
  const data = r.trainLimit
    ? `${r.trainLimit} train / ${r.testLimit} test images`
    : 'all 60000 train / 10000 test images';
  const opt = r.momentum > 0 ? `SGD${r.nesterov ? ' Nesterov' : ''} momentum ${r.momentum}` : 'SGD';
  const lr = r.schedule === 'constant' ? `lr ${r.learningRate}` : `one-cycle lr to ${r.learningRate}`;
  const extras = [
    r.weightDecay ? `weight decay ${r.weightDecay}` : '',
    r.labelSmoothing ? `label smoothing ${r.labelSmoothing}` : '',
    r.augment ? `shift ${r.augment.padding}px${r.augment.flip ? ' + flip' : ''}` : '',
    r.recalibrateBatches ? `BN recalibrated on ${r.recalibrateBatches} batches` : '',
    r.validation ? `${r.validation} images held out for validation` : '',
  ].filter(Boolean);
  return (
    `${r.name === 'tiny' ? 'FAST MODE: ' : ''}${r.modelName}, ${data}, batch ${r.batchSize}, ${r.resize}x${r.resize}, ` +
    `${opt}, ${lr}, Xavier init, ${r.epochs} epoch${r.epochs === 1 ? '' : 's'}` +
    (extras.length ? `, ${extras.join(', ')}` : '') +
    (r.maxBatchesPerEpoch ? `, at most ${r.maxBatchesPerEpoch} batches` : '')
  );
}
