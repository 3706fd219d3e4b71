/**
 * `npm start -- [flags]`: trains the chapter's ResNet on Fashion-MNIST with a named recipe from
 * src/recipe.ts (default `seed`, the chapter's own), whose fields the flags override under the
 * same names. Writes metrics JSON and a checkpoint that `--resume` continues from.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { tryGpu, BackendName } from '../src/backend/select';
import { parsePrecisionRequest, PrecisionRequest } from '../src/backend/precision';
import { loadDataFashionMnist } from '../src/data/fashion_mnist';
import { HEAD_POOLS, ResNet, ResNetConfig, STEMS, resnetPreset } from '../src/models/resnet';
import { BLOCK_KINDS } from '../src/models/residual';
import { seedInitializers } from '../src/nn/init';
import { train } from '../src/train/train';
import { hasCheckpoint, readCheckpoint } from '../src/train/checkpoint';
import '../src/io/file_handler'; // file:// for net.save()
import type { ProgressMode } from '../src/train/progress';
import {
  RECIPE_NAMES,
  RecipeName,
  TrainingRecipe,
  describeRecipe,
  recipeDataOptions,
  recipeTrainOptions,
  trainingRecipe,
} from '../src/recipe';

const HELP = `Usage: npm start -- [options]

Trains the chapter's ResNet on Fashion-MNIST with a named recipe (src/recipe.ts).

  --recipe NAME               seed (the chapter's, default) | fast | tiny
The recipe's fields, each overriding the recipe's value:
  --epochs N                  epochs
  --batch-size N              minibatch size
  --resize N                  resize images to NxN, bilinear (28: as they are)
  --learning-rate X           constant learning rate, or the one-cycle peak (alias --lr)
  --momentum X                SGD momentum (0: plain SGD as in the seed)
  --nesterov | --no-nesterov  Nesterov momentum
  --schedule S                constant | one-cycle
  --warmup-fraction X         one-cycle: fraction of steps rising to the peak
  --weight-decay X            L2 decay of conv and dense weights
  --label-smoothing X         label smoothing of the loss
  --augment A                 none | P[,flip]: random shift by up to P pixels, and flips
  --recalibrate-batches N     recalibrate batch norm on N batches before each evaluation (0: never)
  --validation N              hold out N training images as the fixed validation set (0: none)
  --train-limit N             use only the first N training images
  --test-limit N              use only the first N test images
  --max-batches-per-epoch N   stop each epoch after N batches (alias --max-batches)
  --seed N                    seed for weights, shuffling and augmentation
The model (the recipe's, else):
  --model NAME                preset: seed | small | tiny | resnet18 | resnet34 | resnet50 | resnet101 | resnet152 |
                              resnext50_32x4d
  --widths a,b,c,d            channels of stages b2..b5
  --depths a,b,c,d            residual blocks per stage
  --block KIND                basic | bottleneck | preact
  --head-pool P               avg3 (seed, needs 96x96) | global
  --stem S                    seed (7x7/2 + max pool) | small (3x3, full resolution) |
                              imagenet (7x7/2 padded + BN + ReLU + max pool)
The run:
  --backend NAME              tensorflow-gpu | tensorflow | onednn | cpu (best available)
  --precision P               fp32 (default) | bf16 | auto | bf16-emulated: bf16 convolutions with fp32
                              accumulation on CPUs with avx512_bf16/amx_bf16 (auto: bf16 where the CPU has it;
                              bf16-emulated: bf16's numerics on fp32 kernels, any CPU); else RESNET_TS_PRECISION
  --data-dir DIR              Fashion-MNIST directory (else FASHION_MNIST_DIR, cache, Debian package, download)
  --out DIR                   run directory for metrics.json, the checkpoint and model/ (runs/<recipe or model>)
  --checkpoint-every N        also checkpoint every N steps within an epoch (0: per epoch only)
  --resume                    continue from the checkpoint in --out (same recipe)
  --progress MODE             auto | bar | lines | none (auto)
  -h, --help                  this text
`;

function int(name: string, v: string | undefined, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

function num(name: string, v: string | undefined, dflt: number, max = Infinity): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n >= max)
    throw new Error(`--${name} must be a number >= 0${max < Infinity ? ` and < ${max}` : ''}, got '${v}'`);
  return n;
}

function four(name: string, v: string | undefined): [number, number, number, number] | undefined {
  if (v === undefined) return undefined;
  const parts = v.split(',').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 1)) {
    throw new Error(`--${name} needs four positive integers like 64,128,256,512; got '${v}'`);
  }
  return parts as [number, number, number, number];
}

function oneOf<T extends string>(name: string, v: string | undefined, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (!allowed.includes(v as T)) throw new Error(`--${name} must be one of ${allowed.join(', ')}; got '${v}'`);
  return v as T;
}

function augment(v: string | undefined, dflt: TrainingRecipe['augment']): TrainingRecipe['augment'] {
  if (v === undefined) return dflt;
  if (v === 'none') return null;
  const m = /^(\d+)(,flip)?$/.exec(v);
  if (!m) throw new Error(`--augment must be 'none' or P[,flip] (e.g. 2,flip); got '${v}'`);
  return { padding: Number(m[1]), flip: m[2] !== undefined };
}

export interface RunOptions {
  /** The named recipe with the flags' overrides applied. */
  recipe: TrainingRecipe;
  backend?: BackendName;
  precision?: PrecisionRequest;
  dataDir?: string;
  out: string;
  checkpointEvery: number;
  resume: boolean;
  progress: ProgressMode;
}

/** The network: a preset (--model) or the recipe's, with --widths, --depths, --block, --head-pool, --stem applied. */
function modelFromFlags(
  v: { model?: string; widths?: string; depths?: string; block?: string; 'head-pool'?: string; stem?: string },
  base: TrainingRecipe,
): { model: Partial<ResNetConfig>; modified: boolean } {
  const model: Partial<ResNetConfig> = v.model ? { ...resnetPreset(v.model) } : { ...base.model };
  const widths = four('widths', v.widths);
  if (widths) {
    model.widths = widths;
    model.stemWidth = widths[0];
  }
  const depths = four('depths', v.depths);
  if (depths) model.depths = depths;
  if (v.block) model.block = oneOf('block', v.block, BLOCK_KINDS, 'basic');
  if (v['head-pool']) model.headPool = oneOf('head-pool', v['head-pool'], HEAD_POOLS, 'avg3');
  if (v.stem) model.stem = oneOf('stem', v.stem, STEMS, 'seed');
  return { model, modified: Boolean(widths || depths || v.block || v['head-pool'] || v.stem) };
}

const str = { type: 'string' } as const;
const bool = { type: 'boolean' } as const;
/** The flags of `npm start`: a recipe's fields (same names), the model's, and the run's. */
const RUN_FLAGS = {
  recipe: str,
  epochs: str,
  'batch-size': str,
  resize: str,
  'learning-rate': str,
  lr: str,
  momentum: str,
  nesterov: bool,
  'no-nesterov': bool,
  schedule: str,
  'warmup-fraction': str,
  'weight-decay': str,
  'label-smoothing': str,
  augment: str,
  'recalibrate-batches': str,
  validation: str,
  'train-limit': str,
  'test-limit': str,
  'max-batches-per-epoch': str,
  'max-batches': str,
  seed: str,
  model: str,
  widths: str,
  depths: str,
  block: str,
  'head-pool': str,
  stem: str,
  backend: str,
  precision: str,
  'data-dir': str,
  out: str,
  'checkpoint-every': str,
  resume: bool,
  progress: str,
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseRunOptions(argv: string[]): RunOptions | 'help' {
  const { values: v } = parseArgs({ args: argv, options: RUN_FLAGS, strict: true });
  if (v.help) return 'help';
  const base = trainingRecipe(oneOf<RecipeName>('recipe', v.recipe, RECIPE_NAMES, 'seed'));
  const { model, modified } = modelFromFlags(v, base);
  const limit = (name: string, dflt: number | undefined) =>
    v[name as keyof typeof v] === undefined ? dflt : int(name, v[name as keyof typeof v] as string, 0);
  const recipe: TrainingRecipe = {
    ...base,
    modelName: v.model ?? (modified ? `${base.modelName}, modified` : base.modelName),
    model,
    epochs: int('epochs', v.epochs, base.epochs),
    batchSize: int('batch-size', v['batch-size'], base.batchSize),
    resize: int('resize', v.resize, base.resize),
    learningRate: num('learning-rate', v['learning-rate'] ?? v.lr, base.learningRate),
    momentum: num('momentum', v.momentum, base.momentum, 1),
    nesterov: v['no-nesterov'] ? false : v.nesterov ? true : base.nesterov,
    schedule: oneOf('schedule', v.schedule, ['constant', 'one-cycle'] as const, base.schedule),
    warmupFraction: num('warmup-fraction', v['warmup-fraction'], base.warmupFraction, 1),
    weightDecay: num('weight-decay', v['weight-decay'], base.weightDecay),
    labelSmoothing: num('label-smoothing', v['label-smoothing'], base.labelSmoothing, 1),
    augment: augment(v.augment, base.augment),
    recalibrateBatches: int('recalibrate-batches', v['recalibrate-batches'], base.recalibrateBatches, 0),
    validation: int('validation', v.validation, base.validation, 0),
    trainLimit: limit('train-limit', base.trainLimit),
    testLimit: limit('test-limit', base.testLimit),
    maxBatchesPerEpoch:
      v['max-batches-per-epoch'] !== undefined || v['max-batches'] !== undefined
        ? int('max-batches-per-epoch', v['max-batches-per-epoch'] ?? v['max-batches'], 0)
        : base.maxBatchesPerEpoch,
    seed: int('seed', v.seed, base.seed, 0),
  };
  if (recipe.learningRate <= 0) throw new Error(`--learning-rate must be > 0, got '${v['learning-rate'] ?? v.lr}'`);
  if (recipe.nesterov && recipe.momentum === 0) throw new Error('--nesterov needs --momentum > 0');
  return {
    recipe,
    backend: v.backend as BackendName | undefined,
    precision: v.precision === undefined ? undefined : parsePrecisionRequest(v.precision, '--precision'),
    dataDir: v['data-dir'],
    out: v.out ?? path.join('runs', v.model ?? recipe.name),
    checkpointEvery: int('checkpoint-every', v['checkpoint-every'], 0, 0),
    resume: v.resume ?? false,
    progress: oneOf('progress', v.progress, ['auto', 'bar', 'lines', 'none'] as const, 'auto'),
  };
}

/**
 * Recipe fields a resumed run may change: more epochs (only under a constant learning rate; a
 * schedule is laid out over the run's length) and the notebook display settings.
 */
function changeableOnResume(r: TrainingRecipe): (keyof TrainingRecipe)[] {
  return [
    'modelName',
    'plotEvery',
    'liveTestEvery',
    'liveTestBatches',
    ...(r.schedule === 'constant' ? ['epochs' as const] : []),
  ];
}

export async function run(opts: RunOptions, log: (l: string) => void = console.log): Promise<void> {
  const r = opts.recipe;
  const checkpointDir = path.join(opts.out, 'checkpoint');
  if (opts.resume) {
    if (!hasCheckpoint(checkpointDir)) throw new Error(`--resume: no checkpoint in ${checkpointDir}`);
    const saved = readCheckpoint(checkpointDir).manifest.meta.recipe as Partial<TrainingRecipe> | undefined;
    if (!saved)
      throw new Error(
        `--resume: the checkpoint in ${checkpointDir} records no recipe (made by an older version); start a new run`,
      );
    const free = changeableOnResume(r);
    for (const k of Object.keys(r) as (keyof TrainingRecipe)[]) {
      if (free.includes(k)) continue;
      if (JSON.stringify(saved[k]) !== JSON.stringify(r[k])) {
        throw new Error(
          `--resume: option ${k} is ${JSON.stringify(r[k])} but the checkpoint was made with ${JSON.stringify(saved[k])}`,
        );
      }
    }
  }
  const device = await tryGpu({ prefer: opts.backend, precision: opts.precision });
  log(`Back end: ${device.description}`);
  log(`Recipe: ${describeRecipe(r)}`);
  const dataStarted = Date.now();
  const data = await loadDataFashionMnist({ ...recipeDataOptions(r), dir: opts.dataDir, log });
  log(
    `Fashion-MNIST from ${data.dir} (${data.source}): ${data.trainIter.numExamples} train, ` +
      `${data.validIter ? `${data.validIter.numExamples} validation, ` : ''}${data.testIter.numExamples} test images at ${r.resize}x${r.resize}`,
  );

  seedInitializers(r.seed);
  const net = new ResNet(r.model);
  net.build([r.resize, r.resize, 1]);
  seedInitializers(undefined);
  log(`Model: ${r.modelName} ${JSON.stringify(net.config)}, ${net.numParameters().toLocaleString('en-US')} parameters`);

  const started = Date.now();
  const { history, steps } = await train({
    ...recipeTrainOptions(r, data.trainIter.numBatches),
    trainData: data.trainIter,
    testData: data.testIter,
    validData: data.validIter,
    net,
    deviceDescription: device.description,
    log,
    progress: opts.progress,
    checkpointDir,
    checkpointEvery: opts.checkpointEvery || undefined,
    checkpointMeta: { recipe: r, model: net.config },
    resume: opts.resume ? { inputShape: [r.resize, r.resize, 1] } : undefined,
  });
  const metrics = {
    recipe: r,
    model: net.config,
    parameters: net.numParameters(),
    backend: device.backend,
    precision: device.precision,
    device: device.description,
    steps,
    dataSeconds: (started - dataStarted) / 1000,
    wallSeconds: (Date.now() - started) / 1000,
    history,
    final: history[history.length - 1],
  };
  fs.mkdirSync(opts.out, { recursive: true });
  const file = path.join(opts.out, 'metrics.json');
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(metrics, null, 2));
  fs.renameSync(`${file}.tmp`, file);
  // The trained network in tfjs's format, for loadModel() and the course site's demo page.
  const modelDir = path.join(opts.out, 'model');
  await net.save(`file://${path.resolve(modelDir)}`);
  log(`Wrote ${file}, ${checkpointDir}/ and ${modelDir}/ (model.json + weights.bin)`);
}

if (require.main === module) {
  let opts: RunOptions | 'help';
  try {
    opts = parseRunOptions(process.argv.slice(2));
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  if (opts === 'help') {
    console.log(HELP);
  } else {
    run(opts).catch((e) => {
      console.error(`error: ${(e as Error).message}`);
      process.exit(1);
    });
  }
}
