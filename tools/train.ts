/**
 * `npm start -- [flags]`: trains the chapter's ResNet on Fashion-MNIST.
 * Defaults are the seed's recipe: 1 epoch, batch 64, images resized to 96x96, SGD lr 0.05,
 * Xavier init, the full-width ResNet-18 of the chapter. Writes metrics JSON and a checkpoint
 * that `--resume` continues from.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { tryGpu, BackendName } from '../src/backend/select';
import { loadDataFashionMnist } from '../src/data/fashion_mnist';
import { ResNet, ResNetConfig, resnetPreset } from '../src/models/resnet';
import { seedInitializers } from '../src/nn/init';
import { train } from '../src/train/train';
import { hasCheckpoint, readCheckpoint } from '../src/train/checkpoint';
import type { ProgressMode } from '../src/train/progress';

const HELP = `Usage: npm start -- [options]

Trains the chapter's ResNet on Fashion-MNIST (defaults: the seed's recipe).

  --epochs N            epochs (1)
  --batch-size N        minibatch size (64)
  --resize N            resize images to NxN, bilinear (96)
  --lr X                SGD learning rate (0.05)
  --momentum X          SGD momentum (0: plain SGD as in the seed)
  --model NAME          seed | small | tiny | resnet34 | resnet50 (seed)
  --widths a,b,c,d      channels of stages b2..b5 (overrides the preset)
  --depths a,b,c,d      residual blocks per stage (overrides the preset)
  --block KIND          basic | bottleneck | preact (overrides the preset)
  --head-pool P         avg3 (seed, needs 96x96) | global
  --train-limit N       use only the first N training images (all)
  --test-limit N        use only the first N test images (all)
  --max-batches N       stop each epoch after N batches
  --seed N              seed for weights and shuffling (0)
  --backend NAME        tensorflow-gpu | tensorflow | onednn | cpu (best available)
  --data-dir DIR        Fashion-MNIST directory (else FASHION_MNIST_DIR, cache, Debian package, download)
  --out DIR             run directory for metrics.json and the checkpoint (runs/<model>)
  --checkpoint-every N  also checkpoint every N steps within an epoch (0: per epoch only)
  --resume              continue from the checkpoint in --out (same model and data options)
  --progress MODE       auto | bar | lines | none (auto)
  -h, --help            this text
`;

function int(name: string, v: string | undefined, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

function num(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got '${v}'`);
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

export interface RunOptions {
  epochs: number;
  batchSize: number;
  resize: number;
  lr: number;
  momentum: number;
  model: Partial<ResNetConfig>;
  modelName: string;
  trainLimit?: number;
  testLimit?: number;
  maxBatches?: number;
  seed: number;
  backend?: BackendName;
  dataDir?: string;
  out: string;
  checkpointEvery: number;
  resume: boolean;
  progress: ProgressMode;
}

export function parseRunOptions(argv: string[]): RunOptions | 'help' {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      epochs: { type: 'string' }, 'batch-size': { type: 'string' }, resize: { type: 'string' },
      lr: { type: 'string' }, momentum: { type: 'string' }, model: { type: 'string' },
      widths: { type: 'string' }, depths: { type: 'string' }, block: { type: 'string' },
      'head-pool': { type: 'string' }, 'train-limit': { type: 'string' }, 'test-limit': { type: 'string' },
      'max-batches': { type: 'string' }, seed: { type: 'string' }, backend: { type: 'string' },
      'data-dir': { type: 'string' }, out: { type: 'string' }, 'checkpoint-every': { type: 'string' },
      resume: { type: 'boolean' }, progress: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (v.help) return 'help';
  const modelName = v.model ?? 'seed';
  const model: Partial<ResNetConfig> = { ...resnetPreset(modelName) };
  const widths = four('widths', v.widths);
  if (widths) { model.widths = widths; model.stemWidth = widths[0]; }
  const depths = four('depths', v.depths);
  if (depths) model.depths = depths;
  if (v.block) model.block = v.block as ResNetConfig['block'];
  if (v['head-pool']) model.headPool = v['head-pool'] as ResNetConfig['headPool'];
  const progress = (v.progress ?? 'auto') as ProgressMode;
  if (!['auto', 'bar', 'lines', 'none'].includes(progress)) throw new Error(`--progress must be auto, bar, lines or none; got '${progress}'`);
  return {
    epochs: int('epochs', v.epochs, 1),
    batchSize: int('batch-size', v['batch-size'], 64),
    resize: int('resize', v.resize, 96),
    lr: num('lr', v.lr, 0.05),
    momentum: num('momentum', v.momentum, 0),
    model,
    modelName,
    trainLimit: v['train-limit'] ? int('train-limit', v['train-limit'], 0) : undefined,
    testLimit: v['test-limit'] ? int('test-limit', v['test-limit'], 0) : undefined,
    maxBatches: v['max-batches'] ? int('max-batches', v['max-batches'], 0) : undefined,
    seed: int('seed', v.seed, 0, 0),
    backend: v.backend as BackendName | undefined,
    dataDir: v['data-dir'],
    out: v.out ?? path.join('runs', modelName),
    checkpointEvery: int('checkpoint-every', v['checkpoint-every'], 0, 0),
    resume: v.resume ?? false,
    progress,
  };
}

/** Options that must not change between a run and its resumption. */
const PINNED: (keyof RunOptions)[] = ['batchSize', 'resize', 'lr', 'momentum', 'model', 'trainLimit', 'testLimit', 'seed', 'maxBatches'];

export async function run(opts: RunOptions, log: (l: string) => void = console.log): Promise<void> {
  const checkpointDir = path.join(opts.out, 'checkpoint');
  if (opts.resume) {
    if (!hasCheckpoint(checkpointDir)) throw new Error(`--resume: no checkpoint in ${checkpointDir}`);
    const saved = readCheckpoint(checkpointDir).manifest.meta.options as Partial<RunOptions>;
    for (const k of PINNED) {
      if (JSON.stringify(saved[k]) !== JSON.stringify(opts[k])) {
        throw new Error(`--resume: option ${k} is ${JSON.stringify(opts[k])} but the checkpoint was made with ${JSON.stringify(saved[k])}`);
      }
    }
  }
  const device = await tryGpu({ prefer: opts.backend });
  log(`Back end: ${device.description}`);
  const data = await loadDataFashionMnist({
    batchSize: opts.batchSize, resize: opts.resize, seed: opts.seed,
    trainLimit: opts.trainLimit, testLimit: opts.testLimit, dir: opts.dataDir, log,
  });
  log(`Fashion-MNIST from ${data.dir} (${data.source}): ${data.trainIter.numExamples} train, ${data.testIter.numExamples} test images at ${opts.resize}x${opts.resize}`);

  seedInitializers(opts.seed);
  const net = new ResNet(opts.model);
  net.build([opts.resize, opts.resize, 1]);
  seedInitializers(undefined);
  log(`Model: ${opts.modelName} ${JSON.stringify(net.config)}, ${net.numParameters().toLocaleString('en-US')} parameters`);
  const optimizer = opts.momentum > 0 ? tf.train.momentum(opts.lr, opts.momentum) : tf.train.sgd(opts.lr);

  const started = Date.now();
  const { history, steps } = await train({
    trainData: data.trainIter, testData: data.testIter, net, optimizer, epochs: opts.epochs,
    deviceDescription: device.description, log, progress: opts.progress,
    maxBatchesPerEpoch: opts.maxBatches, checkpointDir, checkpointEvery: opts.checkpointEvery || undefined,
    checkpointMeta: { options: opts, model: net.config }, resume: opts.resume ? { inputShape: [opts.resize, opts.resize, 1] } : undefined,
  });
  const metrics = {
    options: opts,
    model: net.config,
    parameters: net.numParameters(),
    backend: device.backend,
    device: device.description,
    steps,
    wallSeconds: (Date.now() - started) / 1000,
    history,
    final: history[history.length - 1],
  };
  fs.mkdirSync(opts.out, { recursive: true });
  const file = path.join(opts.out, 'metrics.json');
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(metrics, null, 2));
  fs.renameSync(`${file}.tmp`, file);
  log(`Wrote ${file} and ${checkpointDir}/`);
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
