/**
 * Training for a fixed wall-clock budget instead of a fixed number of steps: how part 5 races
 * networks of different cost against each other. The budget becomes a step count by timing a few
 * steps of the network first, so the recipe's one-cycle schedule still ends at its low point.
 */
import * as tf from '@tensorflow/tfjs-core';
import './tfjs_setup';
import { ResNet, type ResNetConfig } from './models/resnet';
import { seedInitializers } from './nn/init';
import { type TrainingRecipe, recipeOptimizer, recipeStepOptions, recipeTrainOptions } from './recipe';
import type { BatchSource } from './train/batches';
import { train, trainStep } from './train/train';

export interface StepTiming {
  /** Steps run first and not timed (the first calls create kernels and buffers). */
  warmup?: number;
  /** Timed steps; their median is the answer. */
  timed?: number;
}

/**
 * Seconds per training step of a fresh network of `model`, trained as `recipe` says: `warmup`
 * untimed steps, then the median of `timed` steps (at a small learning rate; the network is thrown away).
 */
export function secondsPerStep(
  recipe: TrainingRecipe,
  model: Partial<ResNetConfig>,
  data: BatchSource,
  { warmup = 4, timed = 5 }: StepTiming = {},
): number {
  if (!(Number.isInteger(warmup) && warmup >= 0 && Number.isInteger(timed) && timed >= 1))
    throw new RangeError(`secondsPerStep: warmup must be an integer >= 0 and timed >= 1; got ${warmup}, ${timed}`);
  const net = new ResNet(model).build([recipe.resize, recipe.resize, 1]);
  const optimizer = recipeOptimizer(recipe);
  const stepOptions = { ...recipeStepOptions(recipe), learningRate: recipe.learningRate / 25 };
  const times: number[] = [];
  let step = 0;
  for (const batch of data.epoch(0)) {
    const t0 = performance.now();
    trainStep(net, optimizer, batch, stepOptions);
    if (step++ >= warmup) times.push((performance.now() - t0) / 1000);
    tf.dispose([batch.x, batch.y]);
    if (times.length === timed) break;
  }
  net.dispose();
  optimizer.dispose();
  if (times.length < timed)
    throw new Error(`secondsPerStep: the data has ${step} batches, fewer than ${warmup} + ${timed} steps to time`);
  return times.sort((a, b) => a - b)[Math.floor(timed / 2)];
}

export interface BudgetRun {
  network: string;
  /** Optimizer steps the budget allowed. */
  steps: number;
  /** Training time actually spent (without the evaluation). */
  seconds: number;
  imagesPerSecond: number;
  parameters: number;
  testAcc: number;
}

export interface TrainForBudgetOptions {
  /** Shown in the result and its log line. */
  name: string;
  recipe: TrainingRecipe;
  /** The network (ResNet options); the recipe's model is ignored. */
  model: Partial<ResNetConfig>;
  trainData: BatchSource;
  testData: BatchSource;
  budgetSeconds: number;
  /** Never fewer steps than this, however slow the network (default 2). */
  minSteps?: number;
}

/**
 * Trains a fresh network (seeded by the recipe) for as many steps as fit in `budgetSeconds`,
 * one epoch at most, with everything else from the recipe; then tests it.
 */
export async function trainForBudget(opts: TrainForBudgetOptions): Promise<BudgetRun> {
  const { name, recipe, model, trainData, testData, budgetSeconds, minSteps = 2 } = opts;
  if (!(budgetSeconds > 0)) throw new RangeError(`trainForBudget: budgetSeconds must be > 0, got ${budgetSeconds}`);
  const perStep = secondsPerStep(recipe, model, trainData);
  const steps = Math.min(trainData.numBatches, Math.max(minSteps, Math.floor(budgetSeconds / perStep)));
  const r: TrainingRecipe = { ...recipe, model, epochs: 1, maxBatchesPerEpoch: steps };
  seedInitializers(r.seed);
  const net = new ResNet(model).build([r.resize, r.resize, 1]);
  seedInitializers(undefined);
  try {
    const { history } = await train({
      ...recipeTrainOptions(r, trainData.numBatches),
      trainData,
      testData,
      net,
      log: () => {},
    });
    const last = history[history.length - 1];
    return {
      network: name,
      steps,
      seconds: last.seconds,
      imagesPerSecond: last.imagesPerSecond,
      parameters: net.numParameters(),
      testAcc: last.testAcc,
    };
  } finally {
    net.dispose();
  }
}
