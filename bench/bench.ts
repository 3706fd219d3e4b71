/**
 * `npm run bench`: training throughput of the seed ResNet (96x96x1, SGD lr 0.05) on the native 'onednn'
 * back end vs PyTorch (bench/torch_bench.py via /usr/bin/python3, 2 threads), side by side, plus the JS
 * 'cpu' back end for one small step as context.
 *
 *   npm run bench                          batches 64 and 128, 10 timed steps after 2 warm-up steps
 *   npm run bench -- --batch 64 --steps 5  one batch size
 *   npm run bench -- --rounds 3 --no-cpu   three rounds (ours, then torch) per batch size; median ratio
 *   npm run bench -- --profile             per-kernel time of one training step (tf.profile)
 *   npm run bench -- --profile --steps 10  the same averaged over 10 steps (one step's times are noisy)
 *   npm run bench -- --leak 1000           RSS / tensor count over many small steps (--leak-seed: seed model)
 *   npm run bench -- --recipe fast         a recipe's model, input size, batch and optimizer (default: seed, whose
 *                                          plain SGD at lr 0.05 is the chapter's); PyTorch runs the same recipe
 *   npm run bench -- --precision bf16      bf16 convolutions vs PyTorch's torch.autocast bf16 (channels-last); default:
 *                                          fp32, plus bf16 where the CPU has it natively (avx512_bf16, amx_bf16)
 *   --no-torch, --no-cpu, --backend cpu|onednn, --python /path/to/python3
 *   BENCH_CONV_DETAIL=1 (with --profile): time per convolution shape; BENCH_DETAIL=Mean,Multiply: per shape of those kernels
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs-core';

import '../src/tfjs_setup';
import { registerOneDnnBackend } from '../src/backend/onednn/register';
import { parsePrecisionRequest, Precision, PrecisionRequest } from '../src/backend/precision';
import { BackendName, detectBf16Support, tryGpu } from '../src/backend/select';
import { callStats } from '../src/backend/onednn/kernel_helpers/native_kernel';
import { pooledIdleBytes } from '../src/backend/onednn/buffer_pool';
import { median } from './run_logged';
import { ResNet } from '../src/models/resnet';
import {
  RECIPE_NAMES,
  RecipeName,
  TrainingRecipe,
  recipeOptimizer,
  recipeStepOptions,
  trainingRecipe,
} from '../src/recipe';
import { trainStep } from '../src/train/train';

/** The environment before the addon adds its OpenMP defaults: PyTorch runs with the user's settings. */
const originalEnv = { ...process.env };
/** The bench's own switches (README, "Environment variables"), read here once. */
const BENCH_ENV = {
  /** Kernel names whose per-shape times the profile lists (default: the convolutions). */
  detail: process.env.BENCH_DETAIL?.split(','),
  /** List the per-shape convolution times. */
  convDetail: Boolean(process.env.BENCH_CONV_DETAIL),
  /** Also write the result lines to this file. */
  out: process.env.BENCH_OUT,
};

interface Args {
  batches: number[];
  steps: number;
  warmup: number;
  rounds: number;
  profile: boolean;
  torch: boolean;
  cpu: boolean;
  backend: string;
  leak: number;
  leakSeed: boolean;
  python: string;
  recipe: TrainingRecipe;
  /** Precisions to run (null: fp32, plus bf16 where the CPU has it). */
  precisions: PrecisionRequest[] | null;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    batches: [64, 128],
    steps: 10,
    warmup: 2,
    rounds: 1,
    profile: false,
    torch: true,
    cpu: true,
    backend: 'onednn',
    leak: 0,
    leakSeed: false,
    python: '/usr/bin/python3',
    recipe: trainingRecipe('seed'),
    precisions: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i],
      next = () => argv[++i];
    if (v === '--batch') a.batches = next().split(',').map(Number);
    else if (v === '--steps') a.steps = Number(next());
    else if (v === '--warmup') a.warmup = Number(next());
    else if (v === '--rounds') a.rounds = Number(next());
    else if (v === '--profile') a.profile = true;
    else if (v === '--no-torch') a.torch = false;
    else if (v === '--no-cpu') a.cpu = false;
    else if (v === '--backend') a.backend = next();
    else if (v === '--leak') a.leak = Number(next());
    else if (v === '--leak-seed') a.leakSeed = true;
    else if (v === '--python') a.python = next();
    else if (v === '--precision') a.precisions = [parsePrecisionRequest(next(), '--precision')];
    else if (v === '--recipe') {
      const name = next() as RecipeName;
      if (!RECIPE_NAMES.includes(name)) throw new Error(`--recipe: unknown '${name}' (${RECIPE_NAMES.join(', ')})`);
      a.recipe = trainingRecipe(name);
    } else throw new Error(`unknown argument ${v}`);
  }
  if (!argv.includes('--batch') && a.recipe.name !== 'seed') a.batches = [a.recipe.batchSize];
  return a;
}

function makeData(batch: number, size: number) {
  const x = tf.randomUniform([batch, size, size, 1], 0, 1, 'float32', 1);
  const y = tf.tensor1d(
    Array.from({ length: batch }, (_, i) => i % 10),
    'float32',
  );
  return { x, y };
}

function buildNet(r: TrainingRecipe): ResNet {
  const net = new ResNet(r.model);
  net.build([r.resize, r.resize, 1]);
  return net;
}

/** Selects the back end and the precision (tryGpu: the library's one switch); its description. */
async function select(
  backend: string,
  precision: PrecisionRequest,
): Promise<{ precision: Precision; description: string }> {
  const d = await tryGpu({ prefer: backend as BackendName, precision, log: () => {} });
  return { precision: d.precision, description: d.description };
}

/** Training steps of a recipe's model on the back end `select` chose; times after `warmup` steps. */
function benchTfjs(r: TrainingRecipe, batch: number, steps: number, warmup: number) {
  const net = buildNet(r);
  const opt = recipeOptimizer(r);
  const { x, y } = makeData(batch, r.resize);
  const times: number[] = [];
  let loss = NaN;
  for (let i = 0; i < warmup + steps; i++) {
    const t = performance.now();
    loss = trainStep(net, opt, { x, y }, recipeStepOptions(r)).loss;
    const dt = (performance.now() - t) / 1000;
    if (i >= warmup) times.push(dt);
  }
  tf.dispose([x, y]);
  net.dispose();
  opt.dispose();
  return { times, imgPerSec: batch / median(times), bestImgPerSec: batch / Math.min(...times), loss };
}

function benchTorch(
  python: string,
  recipe: TrainingRecipe,
  batch: number,
  steps: number,
  warmup: number,
  precision: Precision,
) {
  const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (probe.status !== 0)
    return { skipped: `PyTorch not importable with ${python}: ${(probe.stderr || '').trim().split('\n').pop()}` };
  const script = [
    path.join(__dirname, 'torch_bench.py'),
    path.join(__dirname, '..', '..', 'bench', 'torch_bench.py'),
  ].find((p) => fs.existsSync(p));
  if (!script) return { skipped: 'bench/torch_bench.py not found' };
  const r = spawnSync(
    python,
    [
      script,
      ...['--batch', String(batch), '--steps', String(steps), '--warmup', String(warmup), '--threads', '2'],
      ...(recipe.name === 'seed' ? [] : ['--recipe-json', JSON.stringify(recipe)]),
      // PyTorch's bf16 is autocast, channels-last (its fast bf16 layout); bf16-emulated has no PyTorch twin
      ...(precision === 'bf16' ? ['--precision', 'bf16', '--channels-last', '1'] : []),
    ],
    { encoding: 'utf8', env: originalEnv },
  );
  if (r.status !== 0) return { skipped: `torch_bench.py failed: ${r.stderr}` };
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
  return {
    imgPerSec: j.median_img_s as number,
    bestImgPerSec: j.best_img_s as number,
    channelsLast: j.channels_last as boolean,
    version: j.torch as string,
  };
}

async function profile(backend: string, r: TrainingRecipe, batch: number, steps: number) {
  const net = buildNet(r);
  const opt = recipeOptimizer(r);
  const { x, y } = makeData(batch, r.resize);
  trainStep(net, opt, { x, y }, recipeStepOptions(r)); // warm-up (primitive creation, first allocation)
  callStats.clear();
  const t0 = performance.now();
  const kernels: { name: string; inputShapes: number[][]; kernelTimeMs: number }[] = [];
  for (let i = 0; i < steps; i++) {
    const info = await tf.profile(() => {
      trainStep(net, opt, { x, y }, recipeStepOptions(r));
    });
    for (const k of info.kernels)
      kernels.push({ name: k.name, inputShapes: k.inputShapes, kernelTimeMs: Number(await k.kernelTimeMs) / steps });
  }
  const wall = (performance.now() - t0) / steps;
  const byName = new Map<string, { ms: number; calls: number }>();
  for (const k of kernels) {
    const ms = Number(await k.kernelTimeMs);
    const e = byName.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += ms;
    e.calls += 1 / steps;
    byName.set(k.name, e);
  }
  // customGrad scopes (fusedConv2d__op, 'unnamed scope', ...) contain kernels: not counted in the total
  const isKernel = (name: string) => tf.getKernel(name, backend) != null;
  const rows = [...byName.entries()].sort((p, q) => q[1].ms - p[1].ms);
  const total = rows.filter(([n]) => isKernel(n)).reduce((s, [, e]) => s + e.ms, 0);
  const byShape = new Map<string, { ms: number; calls: number }>();
  for (const k of kernels) {
    const detail = BENCH_ENV.detail;
    if (detail ? !detail.includes(k.name) : !k.name.startsWith('Conv2D') && k.name !== 'FusedConv2D') continue;
    const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
    const e = byShape.get(key) ?? { ms: 0, calls: 0 };
    e.ms += k.kernelTimeMs;
    e.calls += 1 / steps;
    byShape.set(key, e);
  }
  console.log(
    `\nprofile: ${steps === 1 ? 'one training step' : `per training step (mean of ${steps})`} of recipe ` +
      `${r.name}, backend ${backend}, batch ${batch}: wall ${wall.toFixed(0)} ms (under tf.profile), ` +
      `kernels ${total.toFixed(0)} ms`,
  );
  console.log('kernel'.padEnd(28) + 'ms'.padStart(9) + '%'.padStart(7) + 'calls'.padStart(7) + '  native/fallback');
  for (const [name, e] of rows) {
    const s = callStats.get(name);
    console.log(
      name.padEnd(28) +
        e.ms.toFixed(1).padStart(9) +
        ((100 * e.ms) / total).toFixed(1).padStart(7) +
        String(Math.round(e.calls)).padStart(7) +
        (isKernel(name) ? (s ? `  ${s.native}/${s.fallback}` : '  js') : '  (scope)'),
    );
  }
  if (BENCH_ENV.convDetail || BENCH_ENV.detail) {
    for (const [k, e] of [...byShape.entries()].sort((p, q) => q[1].ms - p[1].ms)) {
      console.log(`${e.ms.toFixed(1).padStart(8)} ms ${String(Math.round(e.calls)).padStart(3)}x  ${k}`);
    }
  }
  tf.dispose([x, y]);
  net.dispose();
  opt.dispose();
}

function leakCheck(steps: number, seedModel: boolean) {
  const net = new ResNet(seedModel ? {} : { widths: [16, 32, 64, 128] });
  net.build([96, 96, 1]);
  const opt = tf.train.sgd(0.05);
  const { x, y } = makeData(seedModel ? 32 : 8, 96);
  console.log(`leak check: ${seedModel ? 'seed ResNet, batch 32' : 'ResNet widths 16..128, batch 8'}, ${steps} steps`);
  const rss: number[] = [];
  let tensors0 = 0;
  for (let i = 0; i < steps; i++) {
    trainStep(net, opt, { x, y });
    if (i === 9) tensors0 = tf.memory().numTensors;
    if (i % Math.max(1, Math.floor(steps / 10)) === 0 || i === steps - 1) {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc) gc(); // NODE_OPTIONS=--expose-gc: measure live memory, not GC timing
      const m = process.memoryUsage();
      rss.push(m.rss / 2 ** 20);
      console.log(
        `step ${i + 1}: rss ${rss[rss.length - 1].toFixed(0)} MiB, heap ${(m.heapUsed / 2 ** 20).toFixed(0)} MiB, ` +
          `array buffers ${(m.arrayBuffers / 2 ** 20).toFixed(0)} MiB, pool idle ${(pooledIdleBytes() / 2 ** 20).toFixed(0)} MiB, ` +
          `tensors ${tf.memory().numTensors}`,
      );
    }
  }
  console.log(`tensors after 10 steps ${tensors0}, after ${steps}: ${tf.memory().numTensors}`);
}

/** One round at one batch size: this back end, then PyTorch right after it; prints both lines. */
function sideBySide(args: Args, batch: number, precision: Precision): { lines: string[]; ratio?: number } {
  const r = benchTfjs(args.recipe, batch, args.steps, args.warmup);
  const line =
    `${args.backend} ${precision} recipe ${args.recipe.name} batch ${batch}: median ${r.imgPerSec.toFixed(1)} img/s, best ${r.bestImgPerSec.toFixed(1)} ` +
    `(step ${median(r.times).toFixed(3)} s; steps ${r.times.map((t) => t.toFixed(2)).join(' ')}; loss ${r.loss.toFixed(3)})`;
  console.log(line);
  let tline = 'torch: skipped (--no-torch)';
  let ratio: number | undefined;
  if (args.torch) {
    const t =
      precision === 'bf16-emulated'
        ? { skipped: 'bf16-emulated measures numerics, not speed: no PyTorch twin' }
        : benchTorch(args.python, args.recipe, batch, args.steps, args.warmup, precision);
    if ('skipped' in t) tline = `torch: skipped: ${t.skipped}`;
    else {
      ratio = r.imgPerSec / t.imgPerSec;
      tline =
        `torch ${t.version} ${precision === 'bf16' ? 'bf16 autocast' : 'fp32'} batch ${batch} (channels_last=${t.channelsLast}, 2 threads): median ` +
        `${t.imgPerSec.toFixed(1)} img/s, best ${t.bestImgPerSec.toFixed(1)} -> ${args.backend}/torch = ` +
        `${ratio.toFixed(2)}x median, ${(r.bestImgPerSec / t.bestImgPerSec).toFixed(2)}x best`;
    }
  }
  console.log(tline);
  return { lines: [line, tline], ratio };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const reg = registerOneDnnBackend();
  // OpenMP's waiting changes step times by 5-15% (docs/measurements.md): the run records what it used
  const omp = (env: NodeJS.ProcessEnv) =>
    `GOMP_SPINCOUNT=${env.GOMP_SPINCOUNT ?? 'unset'}, OMP_WAIT_POLICY=${env.OMP_WAIT_POLICY ?? 'unset'}`;
  console.log(
    `onednn back end: ${reg.ok ? 'ok' : 'UNAVAILABLE'} (${reg.reason}; ${omp(process.env)}; PyTorch: ${omp(originalEnv)})`,
  );
  if (!reg.ok && args.backend === 'onednn') args.backend = 'cpu';
  const bf16 = detectBf16Support();
  const precisions: PrecisionRequest[] =
    args.precisions ??
    (args.backend === 'onednn' && bf16.cpuFlags.length > 0 && bf16.onednnConv ? ['fp32', 'bf16'] : ['fp32']);
  if (args.leak > 0 || args.profile) {
    const { description } = await select(args.backend, precisions[0]);
    console.log(`back end: ${description}`);
    if (args.leak > 0) leakCheck(args.leak, args.leakSeed);
    else {
      const steps = process.argv.includes('--steps') ? args.steps : 1;
      for (const b of args.batches) await profile(args.backend, args.recipe, b, steps);
    }
    return;
  }
  const results: string[] = [];
  if (!(Number.isInteger(args.rounds) && args.rounds >= 1))
    throw new Error(`--rounds must be an integer >= 1, got ${args.rounds}`);
  for (const request of precisions) {
    const { precision, description } = await select(args.backend, request);
    console.log(`back end: ${description}`);
    for (const batch of args.batches) {
      const ratios: number[] = [];
      for (let round = 0; round < args.rounds; round++) {
        const { lines, ratio } = sideBySide(args, batch, precision);
        results.push(...lines);
        if (ratio !== undefined) ratios.push(ratio);
      }
      if (ratios.length > 1) {
        // The host's speed drifts between runs; a ratio per round, then their median, is steadier.
        const line =
          `${precision}, batch ${batch}, ${ratios.length} rounds: ${args.backend}/torch ratio median ${median(ratios).toFixed(2)}x ` +
          `(rounds: ${ratios.map((x) => x.toFixed(2)).join(' ')})`;
        console.log(line);
        results.push(line);
      }
    }
  }
  if (args.cpu && args.backend !== 'cpu') {
    await select('cpu', 'fp32');
    const r = benchTfjs(args.recipe, 2, 1, 0);
    const line = `JS cpu back end, batch 2, one step: ${r.times[0].toFixed(1)} s (${r.imgPerSec.toFixed(3)} img/s)`;
    console.log(line);
    results.push(line);
  }
  if (BENCH_ENV.out) fs.writeFileSync(BENCH_ENV.out, results.join('\n') + '\n');
}

main().catch((e) => {
  console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
