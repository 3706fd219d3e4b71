/**
 * The training loop of the chapter (the seed's utils.train): minibatch SGD on softmax
 * cross-entropy, a loss/accuracy line per epoch, a history for plots, checkpoints to resume.
 */
import * as tf from '@tensorflow/tfjs-core';
import '../tfjs_setup';
import type { Module } from '../nn/module';
import type { Batch, BatchSource } from './batches';
import { countCorrect, softmaxCrossEntropy } from './metrics';
import { evaluateAccuracy } from './evaluate';
import { recalibrateBatchNorm } from './recalibrate';
import { applyOptimizerStep } from './optimizer_step';
import type { LearningRateSchedule } from './schedule';
import { EpochProgress, ProgressMode, epochProgress } from './progress';
import { TrainPosition, restoreCheckpoint, saveCheckpoint } from './checkpoint';
import type { EpochRecord } from './history';
import { InterruptWatch } from './interrupt';
import type { TrainSteering } from './steering';
import type { BatchEvent } from './history';
export type { BatchEvent } from './history';
import { JUPYTER_DISPLAY, type MimeBundle } from '../display/jupyter_display';

export interface TrainOptions {
  trainData: BatchSource;
  testData: BatchSource;
  /** Held-out training images, evaluated after every epoch beside the test set (`validAcc`). */
  validData?: BatchSource;
  net: Module;
  /** Defaults to SGD with learning rate 0.05, the seed's trainer. */
  optimizer?: tf.Optimizer;
  /** Defaults to mean softmax cross-entropy on integer labels. */
  loss?: (logits: tf.Tensor, labels: tf.Tensor1D) => tf.Scalar;
  /** Learning rate per optimizer step (0-based, counted across epochs); default: the optimizer's own. */
  schedule?: LearningRateSchedule;
  /**
   * L2 weight decay added to the gradients of convolution and dense weights (the variables named
   * `*.weight`; batch-norm scales and shifts and biases are not decayed), as PyTorch's SGD
   * `weight_decay` on such a parameter group.
   */
  weightDecay?: number;
  /** Before each evaluation, recalibrate batch norm on this many training batches (see recalibrateBatchNorm). */
  recalibrateBatches?: number;
  epochs: number;
  /** For the "Start training on ..." line, e.g. tryGpu()'s description. */
  deviceDescription?: string;
  log?: (line: string) => void;
  progress?: ProgressMode;
  onBatch?: (e: BatchEvent) => void;
  onEpoch?: (r: EpochRecord, history: EpochRecord[]) => void;
  /** Stop an epoch after this many batches (fast runs); the epoch's metrics cover what ran. */
  maxBatchesPerEpoch?: number;
  /** Save a checkpoint here after each epoch (and every `checkpointEvery` steps if set). */
  checkpointDir?: string;
  checkpointEvery?: number;
  /** Extra data stored in the checkpoint (model config, CLI options) for resuming. */
  checkpointMeta?: Record<string, unknown>;
  /**
   * Controls that can stop training after any batch and change the learning rate from the next
   * step (a notebook's Stop button and rate slider: `widgets.TrainingControls` from resnet-ts).
   * With steering, train() lets the event loop run after every batch, so a click is seen at once.
   */
  steering?: TrainSteering;
  /**
   * Continue from the checkpoint in `checkpointDir`. An unbuilt net is built first from
   * `inputShape` (no batch dimension) if given, else from the shape of the first training batch.
   */
  resume?: { inputShape?: number[] };
}

export interface TrainResult {
  /** One record per finished epoch. */
  history: EpochRecord[];
  steps: number;
  /**
   * True when a notebook interrupt (or the steering's stop) ended training between batches: the net keeps the weights
   * of the last step, and `history` holds the epochs that finished (a checkpoint, when
   * `checkpointDir` is set, is saved at the stopping point, so `resume` continues from there).
   */
  interrupted?: boolean;
}

const freshPosition = (epoch: number, step: number): TrainPosition => ({
  epoch,
  batch: 0,
  step,
  lossSum: 0,
  correct: 0,
  seen: 0,
  seconds: 0,
});

/** Refuses option values train() cannot honour, naming the option (before anything runs). */
function checkTrainOptions(opts: TrainOptions): void {
  const positiveInteger = (name: string, v: number | undefined, optional: boolean) => {
    if (v === undefined && optional) return;
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= 1))
      throw new RangeError(`train: ${name} must be an integer >= 1, got ${v}`);
  };
  positiveInteger('epochs', opts.epochs, false);
  positiveInteger('maxBatchesPerEpoch', opts.maxBatchesPerEpoch, true);
  positiveInteger('checkpointEvery', opts.checkpointEvery, true);
  positiveInteger('recalibrateBatches', opts.recalibrateBatches, true);
  if (opts.weightDecay !== undefined && !(opts.weightDecay >= 0 && Number.isFinite(opts.weightDecay)))
    throw new RangeError(`train: weightDecay must be a finite number >= 0, got ${opts.weightDecay}`);
  for (const [name, data] of [
    ['trainData', opts.trainData],
    ['testData', opts.testData],
  ] as const) {
    if (!data || typeof data.epoch !== 'function')
      throw new TypeError(`train: ${name} must be a BatchSource (numBatches, epoch(e))`);
    if (!(data.numBatches >= 1)) throw new RangeError(`train: ${name} has no batches (numBatches ${data.numBatches})`);
  }
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  checkTrainOptions(opts);
  const log = opts.log ?? ((l: string) => console.log(l));
  const optimizer = opts.optimizer ?? tf.train.sgd(0.05);
  // Fails now, not at the first step, for an optimizer without a settable rate.
  if (opts.schedule || opts.steering?.learningRate) learningRateSetter(optimizer);
  const start = opts.resume
    ? await resumeFrom(opts, optimizer, log)
    : { history: [] as EpochRecord[], pos: freshPosition(0, 0) };
  const history = start.history;
  let pos = start.pos;
  log(`Start training on ${opts.deviceDescription ?? tf.getBackend()}`);
  const started = performance.now();
  const save = async (at: TrainPosition) => {
    if (opts.checkpointDir)
      await saveCheckpoint(opts.checkpointDir, opts.net, optimizer, at, history, opts.checkpointMeta ?? {});
  };
  const run: EpochRun = {
    opts,
    optimizer,
    lossFn: opts.loss ?? softmaxCrossEntropy,
    interrupt: new InterruptWatch(),
    save: () => save(pos),
  };

  for (; pos.epoch < opts.epochs; pos = freshPosition(pos.epoch + 1, pos.step)) {
    const ended = await trainEpoch(run, pos);
    if (ended !== 'done') {
      await save(pos);
      const how = ended === 'interrupted' ? 'Interrupted' : 'Stopped';
      log(`${how} at epoch ${pos.epoch}, batch ${pos.batch} (step ${pos.step}); ${history.length} epochs finished`);
      opts.steering?.onEnd?.({ steps: pos.step, stopped: true });
      return trainResult(history, pos.step, true);
    }
    const record = evaluateEpoch(opts, pos, (performance.now() - started) / 1000);
    history.push(record);
    log(formatEpoch(record));
    opts.onEpoch?.(record, history);
    await save(freshPosition(pos.epoch + 1, pos.step)); // the position at the start of the next epoch
  }
  opts.steering?.onEnd?.({ steps: pos.step, stopped: false });
  return trainResult(history, pos.step, false);
}

/** What every epoch of one train() call shares. */
interface EpochRun {
  opts: TrainOptions;
  optimizer: tf.Optimizer;
  lossFn: (logits: tf.Tensor, labels: tf.Tensor1D) => tf.Scalar;
  interrupt: InterruptWatch;
  /** Saves a checkpoint at the current position (when checkpointDir is set). */
  save: () => Promise<void>;
}

/**
 * The batches of one epoch from `pos` on (a resumed epoch skips what was done), updating `pos`.
 * Ends 'done' at the epoch's end, or after a batch when an interrupt or the steering's stop came.
 */
async function trainEpoch(run: EpochRun, pos: TrainPosition): Promise<'done' | 'interrupted' | 'stopped'> {
  const { opts, optimizer } = run;
  const numBatches = Math.min(opts.trainData.numBatches, opts.maxBatchesPerEpoch ?? Infinity);
  const bar: EpochProgress = epochProgress(
    opts.progress ?? 'auto',
    pos.epoch,
    numBatches,
    pos.batch,
    Math.ceil(opts.trainData.numExamples / opts.trainData.numBatches),
  );
  let index = 0;
  // Wall time per step includes loading and resizing the batch, as the seed's epoch time did.
  let tLast = performance.now();
  let lastYield = tLast;
  try {
    for (const { x, y } of opts.trainData.epoch(pos.epoch)) {
      if (index >= numBatches) {
        tf.dispose([x, y]);
        break;
      }
      if (index++ < pos.batch) {
        tf.dispose([x, y]); // done before a resume
        tLast = performance.now();
        continue;
      }
      const { loss, correct } = trainStep(
        opts.net,
        optimizer,
        { x, y },
        { loss: run.lossFn, weightDecay: opts.weightDecay, learningRate: stepLearningRate(opts, pos.step) },
      );
      tf.dispose([x, y]);
      if (!Number.isFinite(loss))
        throw new Error(
          `training diverged: loss is ${loss} at epoch ${pos.epoch}, batch ${pos.batch} (try a smaller learning rate)`,
        );
      const n = y.shape[0];
      const now = performance.now();
      recordStep(pos, loss, n, correct, (now - tLast) / 1000);
      tLast = now;
      const ips = pos.seen / pos.seconds;
      bar.update(pos.batch, ips);
      if (opts.checkpointEvery && pos.step % opts.checkpointEvery === 0 && pos.batch < numBatches) {
        await run.save();
        tLast = performance.now(); // saving is not training time
      }
      const event: BatchEvent = {
        epoch: pos.epoch,
        batch: pos.batch,
        numBatches,
        loss,
        batchSize: n,
        correct,
        imagesPerSecond: ips,
      };
      opts.onBatch?.(event);
      opts.steering?.onBatch?.(event);
      // Training steps are synchronous on CPU back ends: let timers, I/O, displays (and, when
      // steered, the front end's clicks) run now and then.
      if (opts.steering || now - lastYield > 250) {
        const before = performance.now();
        await new Promise((resolve) => setImmediate(resolve));
        lastYield = performance.now();
        tLast += lastYield - before; // whatever ran meanwhile is not training time
      }
      if (run.interrupt.requested) return 'interrupted';
      if (opts.steering?.stopRequested) return 'stopped';
    }
  } finally {
    bar.stop();
  }
  if (pos.seen === 0) throw new Error(`train: the training data yielded no batch in epoch ${pos.epoch}`);
  return 'done';
}

/** One finished step in the epoch's running totals. */
function recordStep(pos: TrainPosition, loss: number, n: number, correct: number, seconds: number): void {
  pos.seconds += seconds;
  pos.lossSum += loss * n;
  pos.correct += correct;
  pos.seen += n;
  pos.batch++;
  pos.step++;
}

/** The learning rate of a step: the schedule's, as the steering (a rate control) adjusts it. */
function stepLearningRate(opts: TrainOptions, step: number): number | undefined {
  const scheduled = opts.schedule?.(step);
  return opts.steering?.learningRate ? opts.steering.learningRate(scheduled) : scheduled;
}

/** The history and position of the checkpoint in opts.checkpointDir, restored into the net and optimizer. */
async function resumeFrom(
  opts: TrainOptions,
  optimizer: tf.Optimizer,
  log: (line: string) => void,
): Promise<{ history: EpochRecord[]; pos: TrainPosition }> {
  if (!opts.checkpointDir) throw new Error('train: resume needs checkpointDir');
  opts.net.ensureBuilt(opts.resume?.inputShape ?? firstBatchShape(opts.trainData));
  const manifest = await restoreCheckpoint(opts.checkpointDir, opts.net, optimizer);
  const pos = manifest.position;
  log(`Resuming from ${opts.checkpointDir}: epoch ${pos.epoch}, batch ${pos.batch}, step ${pos.step}`);
  return { history: manifest.history, pos };
}

/** The end of an epoch: batch-norm recalibration if asked, test (and validation) accuracy, the record. */
function evaluateEpoch(opts: TrainOptions, pos: TrainPosition, wallSeconds: number): EpochRecord {
  const { net } = opts;
  if (opts.recalibrateBatches) recalibrateBatchNorm(net, opts.trainData, opts.recalibrateBatches, pos.epoch);
  return {
    epoch: pos.epoch,
    loss: pos.lossSum / pos.seen,
    trainAcc: pos.correct / pos.seen,
    testAcc: evaluateAccuracy(opts.testData, net),
    ...(opts.validData ? { validAcc: evaluateAccuracy(opts.validData, net) } : {}),
    seconds: pos.seconds,
    imagesPerSecond: pos.seen / pos.seconds,
    wallSeconds,
  };
}

/** The result; in a notebook, a cell ending in it shows the training curves (its text: one line per epoch). */
/**
 * How a result with finished epochs is drawn in a notebook (else its text). Figures are plot/'s
 * concern: plot/training_result.ts sets this when it is loaded (the library's entry loads it), so
 * the training loop returns data and imports no figure code.
 */
let curvesDisplay: ((history: EpochRecord[], text: string) => MimeBundle) | null = null;
export function setTrainingCurvesDisplay(fn: ((history: EpochRecord[], text: string) => MimeBundle) | null): void {
  curvesDisplay = fn;
}

function trainResult(history: EpochRecord[], steps: number, interrupted: boolean): TrainResult {
  const result: TrainResult = interrupted ? { history, steps, interrupted } : { history, steps };
  Object.defineProperty(result, JUPYTER_DISPLAY, {
    enumerable: false,
    value: (): MimeBundle => {
      const text = [
        `training: ${steps} steps, ${history.length} epochs${interrupted ? ' (interrupted)' : ''}`,
        ...history.map(formatEpoch),
      ].join('\n');
      return history.length && curvesDisplay ? curvesDisplay(history, text) : { 'text/plain': text };
    },
  });
  return result;
}

export interface StepResult {
  /** Mean loss over the batch. */
  loss: number;
  /** Correct predictions in the batch (from the forward pass before the update). */
  correct: number;
}

export interface StepOptions {
  /** Default: mean softmax cross-entropy on integer labels. */
  loss?: (logits: tf.Tensor, labels: tf.Tensor1D) => tf.Scalar;
  /** L2 weight decay added to the gradients of convolution and dense weights. */
  weightDecay?: number;
  /** Learning rate to set before the update (the optimizer needs setLearningRate). */
  learningRate?: number;
}

/**
 * One step of minibatch SGD, as train runs it: forward in training mode, loss, gradients of the
 * trainable variables (plus weight decay), optimizer update. An unbuilt net is built from the
 * batch's shape first. The batch stays the caller's to dispose.
 */
export function trainStep(
  net: Module,
  optimizer: tf.Optimizer,
  batch: Pick<Batch, 'y'> & { x: tf.Tensor },
  opts: StepOptions = {},
): StepResult {
  const { x, y } = batch;
  const lossFn = opts.loss ?? softmaxCrossEntropy;
  net.ensureBuilt(x.shape.slice(1)); // deferred initialisation: the variables exist before the gradient asks for them
  let correctT: tf.Scalar | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const logits = net.apply(x, { training: true });
    correctT = tf.keep(countCorrect(logits, y));
    return lossFn(logits, y);
  }, net.trainableVariables());
  if (opts.learningRate !== undefined) learningRateSetter(optimizer)(opts.learningRate);
  applyOptimizerStep(optimizer, grads, {
    weightDecay: opts.weightDecay,
    decayed: opts.weightDecay ? decayedVariables(net) : undefined,
  });
  const loss = value.dataSync()[0];
  const correct = correctT!.dataSync()[0];
  tf.dispose([value, correctT!]);
  tf.dispose(grads);
  return { loss, correct };
}

/** Per-example shape of a source's first batch (the batch itself is disposed). */
function firstBatchShape(data: BatchSource): number[] {
  for (const { x, y } of data.epoch(0)) {
    tf.dispose([x, y]);
    return x.shape.slice(1);
  }
  throw new Error('train: the training data yielded no batch');
}

/** The optimizer's learning-rate setter (tfjs's SGD and momentum optimizers have one). */
function learningRateSetter(optimizer: tf.Optimizer): (lr: number) => void {
  const o = optimizer as tf.Optimizer & { setLearningRate?: (lr: number) => void };
  if (typeof o.setLearningRate !== 'function') {
    throw new Error(
      `train: a learning-rate schedule needs an optimizer with setLearningRate (SGD, momentum); got ${optimizer.getClassName()}`,
    );
  }
  return (lr) => o.setLearningRate!(lr);
}

/** Per built net: its variables are all created by then and never change, so the set is made once. */
const decayedCache = new WeakMap<Module, Set<string>>();

/** The tf.Variable names of the weights of convolutions and dense layers (batch-norm parameters and biases are not decayed). */
function decayedVariables(net: Module): Set<string> {
  let names = decayedCache.get(net);
  if (!names) {
    names = new Set<string>();
    for (const [name, v] of net.namedVariables()) {
      if (v.trainable && (name.endsWith('.weight') || name === 'weight')) names.add(v.name);
    }
    decayedCache.set(net, names);
  }
  return names;
}

/** The seed's per-epoch line, plus throughput. */
export function formatEpoch(r: EpochRecord): string {
  return (
    `Epoch ${r.epoch}. Loss: ${r.loss.toFixed(3)}, Train acc ${r.trainAcc.toFixed(2)}, ` +
    (r.validAcc === undefined ? '' : `Valid acc ${r.validAcc.toFixed(3)}, `) +
    `Test acc ${r.testAcc.toFixed(2)}, Time ${r.seconds.toFixed(1)} sec, ${r.imagesPerSecond.toFixed(1)} img/s`
  );
}
