/**
 * The chapter's training recipe, in one place for notebooks and scripts.
 *
 * Normally it is the seed's recipe: batch 64, images resized to 96x96, SGD with learning rate
 * 0.05, Xavier initialisation, the full ResNet-18, one epoch over all 60000 training images,
 * accuracy on all 10000 test images.
 *
 * Fast mode (RESNET_TS_FAST=1, used by CI to execute the notebooks in seconds) keeps the code
 * path and changes only sizes: a small subset of the data, a narrow one-block-per-stage ResNet,
 * 48x48 images with a global average pool in the head, a few dozen batches.
 */
import type { ResNetConfig } from './models/resnet';

export interface TrainingRecipe {
  /** True when RESNET_TS_FAST asked for the small recipe. */
  fast: boolean;
  batchSize: number;
  resize: number;
  learningRate: number;
  epochs: number;
  /** ResNet options (empty for the seed's net). */
  model: Partial<ResNetConfig>;
  modelName: string;
  /** Use only the first n training / test images (undefined: all). */
  trainLimit?: number;
  testLimit?: number;
  /** Stop each epoch after this many batches (undefined: the whole epoch). */
  maxBatchesPerEpoch?: number;
  /** Redraw live plots every this many batches. */
  plotEvery: number;
  /** Live test accuracy: evaluate on the first `liveTestBatches` test batches every `liveTestEvery` batches. */
  liveTestEvery: number;
  liveTestBatches: number;
  /** Seed for the initial weights and the shuffling. */
  seed: number;
}

/** RESNET_TS_FAST=1|true|yes turns fast mode on. */
export function isFastMode(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(1|true|yes|on)$/i.test(env.RESNET_TS_FAST ?? '');
}

export function trainingRecipe(opts: { fast?: boolean } = {}): TrainingRecipe {
  const fast = opts.fast ?? isFastMode();
  if (!fast) {
    return {
      fast, batchSize: 64, resize: 96, learningRate: 0.05, epochs: 1,
      model: {}, modelName: 'seed ResNet-18', plotEvery: 20, liveTestEvery: 100, liveTestBatches: 8, seed: 0,
    };
  }
  return {
    fast, batchSize: 64, resize: 48, learningRate: 0.05, epochs: 1,
    model: { widths: [8, 16, 32, 64], depths: [1, 1, 1, 1], headPool: 'global' },
    modelName: 'tiny ResNet (fast mode)',
    trainLimit: 1920, testLimit: 512, maxBatchesPerEpoch: 30, plotEvery: 5, liveTestEvery: 10, liveTestBatches: 2, seed: 0,
  };
}

/**
 * Data-set sizes for documentation examples: with RESNET_TS_DOCTEST=1|true|yes (set by the doc
 * tests) loadDataFashionMnist uses only the first 64 training and 32 test images unless the
 * caller gives trainLimit / testLimit, so the README's examples run as written in seconds.
 */
export function doctestLimits(env: NodeJS.ProcessEnv = process.env): { trainLimit: number; testLimit: number } | undefined {
  return /^(1|true|yes|on)$/i.test(env.RESNET_TS_DOCTEST ?? '') ? { trainLimit: 64, testLimit: 32 } : undefined;
}

/** One line saying what the recipe is. */
export function describeRecipe(r: TrainingRecipe): string {
  const data = r.trainLimit ? `${r.trainLimit} train / ${r.testLimit} test images` : 'all 60000 train / 10000 test images';
  return `${r.fast ? 'FAST MODE: ' : ''}${r.modelName}, ${data}, batch ${r.batchSize}, ${r.resize}x${r.resize}, ` +
    `SGD lr ${r.learningRate}, Xavier init, ${r.epochs} epoch${r.epochs === 1 ? '' : 's'}` +
    (r.maxBatchesPerEpoch ? `, at most ${r.maxBatchesPerEpoch} batches` : '');
}
