/**
 * Direct convolution vs im2col + GEMM vs Winograd F(2x2, 3x3), per shape and pass, for the convolutions one
 * training step of a recipe runs, on this machine: what the back end chose by measurement
 * (src/backend/onednn/conv_method_choice.ts, cached per machine) and what the hand-written rules pick,
 * next to the fastest.
 *
 *   npm run bench:conv                          seed recipe, batch 64
 *   npm run bench:conv -- --recipe fast         the fast recipe at its batch size
 *   npm run bench:conv -- --batch 32 --rounds 9
 *   npm run bench:conv -- --precision bf16     the bf16 convolutions (direct and GEMM; activations in bf16)
 *
 * One step runs with the addon's convolution entry points wrapped, which records every (pass, shape) the
 * step meets; each is then timed every way that applies (Winograd: 3x3 stride 1), interleaved, median over
 * the rounds. `chosen` is the measured choice the back end keeps for the shape (measured in the step if the
 * cache did not have it), `rules` what `pickConvMethod` would take; `!` marks a choice more than 10% slower
 * than the fastest. For the cost of measuring from an empty cache:
 *   RESNET_ONEDNN_CONV_CACHE=$(mktemp -d) npm run bench:conv
 */
import * as tf from '@tensorflow/tfjs-core';

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
import { tryGpu } from '../src/backend/select';
import { loadAddon, type ActivationArray, type ConvParams, type OneDnnAddon } from '../src/backend/onednn/addon';
import { parsePrecisionRequest, type PrecisionRequest } from '../src/backend/precision';
import {
  CONV_ENTRY_POINTS,
  runConvBackwardData,
  runConvBackwardWeights,
  runConvForward,
} from '../src/backend/onednn/kernel_helpers/conv_common';
import {
  ConvMethod,
  ConvPass,
  convMethodChooser,
  convShapeKey,
  cpuIsa,
  gemmApplies,
  isAvx512,
  pickConvMethod,
  winogradApplies,
} from '../src/backend/onednn/conv_method_choice';

interface Args {
  recipe: TrainingRecipe;
  batch?: number;
  rounds: number;
  precision: PrecisionRequest;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { recipe: trainingRecipe('seed'), rounds: 7, precision: 'fp32' };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i],
      next = () => argv[++i];
    if (v === '--recipe') {
      const name = next() as RecipeName;
      if (!RECIPE_NAMES.includes(name)) throw new Error(`--recipe: unknown '${name}' (${RECIPE_NAMES.join(', ')})`);
      a.recipe = trainingRecipe(name);
    } else if (v === '--batch') a.batch = Number(next());
    else if (v === '--rounds') a.rounds = Number(next());
    else if (v === '--precision') a.precision = parsePrecisionRequest(next(), '--precision');
    else if (v !== '--') throw new Error(`unknown argument '${v}' (--recipe, --batch, --rounds, --precision)`);
  }
  if (!Number.isInteger(a.rounds) || a.rounds < 1) throw new Error(`--rounds must be an integer >= 1`);
  return a;
}

const METHODS: ConvMethod[] = ['direct', 'gemm', 'winograd'];

/** The parameters that decide a pass's cost: not the fused relu nor the stamps of the values. */
const costParams = (p: ConvParams): ConvParams => ({
  ...p,
  relu: false,
  weightsStamp: 0,
  srcStamp: 0,
  diffDstStamp: 0,
});
const shapeKey = (pass: ConvPass, p: ConvParams) => `${pass} ${JSON.stringify(costParams(p))}`;

interface Seen {
  pass: ConvPass;
  p: ConvParams;
  /** The back end's key for the shape (as first met: with its fused relu). */
  key: string;
  /** How often one step runs it (the seed's four 64-channel blocks share one shape). */
  calls: number;
}

interface FirstStep {
  /** Wall time of the first step (which measures every shape the cache lacks) and of the second. */
  firstMs: number;
  secondMs: number;
  /** Shapes measured in the first step, and the time spent measuring them. */
  measured: number;
  measuringMs: number;
}

/** The distinct (pass, parameters) of one training step, in the order the step meets them. */
function recordStep(addon: OneDnnAddon, r: TrainingRecipe, batch: number): { seen: Seen[]; first: FirstStep } {
  const net = new ResNet(r.model);
  net.build([r.resize, r.resize, 1]);
  const opt = recipeOptimizer(r);
  const x = tf.randomUniform([batch, r.resize, r.resize, 1], 0, 1, 'float32', 1);
  const y = tf.tensor1d(
    Array.from({ length: batch }, (_, i) => i % 10),
    'float32',
  );
  const chooser = convMethodChooser();
  const [measured0, measuringMs0] = [chooser.measured, chooser.measuringMs];
  let t0 = performance.now();
  trainStep(net, opt, { x, y }, recipeStepOptions(r)); // warm-up: variables, slots, methods measured
  const firstMs = performance.now() - t0;
  const measured = chooser.measured - measured0,
    measuringMs = chooser.measuringMs - measuringMs0;
  const seen = new Map<string, Seen>();
  const saved = new Map<keyof OneDnnAddon, unknown>();
  const record = addon as unknown as Record<string, (...args: unknown[]) => void>;
  for (const pass of Object.keys(CONV_ENTRY_POINTS) as ConvPass[])
    for (const name of METHODS.map((m) => CONV_ENTRY_POINTS[pass][m])) {
      const original = record[name];
      saved.set(name, original);
      record[name] = (...args: unknown[]) => {
        const p = args[args.length - 1] as ConvParams;
        const k = shapeKey(pass, p);
        const s = seen.get(k);
        if (s) s.calls++;
        else seen.set(k, { pass, p: costParams(p), key: convShapeKey(p, pass), calls: 1 });
        original(...args);
      };
    }
  let secondMs: number;
  try {
    t0 = performance.now();
    trainStep(net, opt, { x, y }, recipeStepOptions(r));
    secondMs = performance.now() - t0;
  } finally {
    for (const [name, fn] of saved) record[name] = fn as (...args: unknown[]) => void;
    tf.dispose([x, y]);
    net.dispose();
    opt.dispose();
  }
  return { seen: [...seen.values()], first: { firstMs, secondMs, measured, measuringMs } };
}

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[xs.length >> 1];

const uniform = (shape: number[], seed: number) =>
  tf.tidy(() => tf.randomUniform(shape, -0.5, 0.5, 'float32', seed).dataSync() as Float32Array);

/** The values as bf16 bits (round to nearest even): the activations' storage in the bf16 precisions. */
function bf16Bits(a: Float32Array): Uint16Array {
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
  return Uint16Array.from(u, (v) => (v + 0x7fff + ((v >>> 16) & 1)) >>> 16);
}

/** Median ms of each method that can run this pass, interleaved round by round. */
function timeMethods(pass: ConvPass, p: ConvParams, rounds: number): Map<ConvMethod, number> {
  // in the bf16 precisions activations (x, dy, y, dx) are bf16 arrays, as in a training step; filters float32
  const act = (a: Float32Array): ActivationArray => (p.precision === 0 ? a : bf16Bits(a));
  const x = act(uniform([p.batch, p.inHeight, p.inWidth, p.inChannels], 1));
  const w = uniform([p.filterHeight, p.filterWidth, p.inChannels, p.outChannels], 2);
  const dy = act(uniform([p.batch, p.outHeight, p.outWidth, p.outChannels], 3));
  const y = act(new Float32Array(dy.length)),
    dx = act(new Float32Array(x.length)),
    dw = new Float32Array(w.length);
  const run = (m: ConvMethod) => {
    if (pass === 'forward') runConvForward(p, x, w, null, y, m);
    else if (pass === 'backwardData') runConvBackwardData(p, dy, w, dx, m);
    else runConvBackwardWeights(p, x, dy, dw, m);
  };
  const methods = METHODS.filter((m) => (m === 'winograd' ? winogradApplies(p) : m === 'direct' || gemmApplies(p)));
  const times = new Map(methods.map((m) => [m, [] as number[]]));
  for (const m of methods) run(m);
  for (let i = 0; i < rounds; i++)
    for (const m of methods) {
      const t = performance.now();
      run(m);
      times.get(m)!.push(performance.now() - t);
    }
  return new Map(methods.map((m) => [m, median(times.get(m)!)]));
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const device = await tryGpu({ prefer: 'onednn', precision: args.precision, log: () => {} });
  if (device.backend !== 'onednn') throw new Error(`bench:conv needs the onednn back end (got ${device.backend})`);
  const addon = loadAddon().addon as OneDnnAddon;
  const batch = args.batch ?? args.recipe.batchSize;
  const isa = cpuIsa();
  console.log(`${device.description}; oneDNN ISA 0x${isa.toString(16)} (${isAvx512(isa) ? 'AVX-512' : 'no AVX-512'})`);
  console.log(
    `recipe ${args.recipe.name}, batch ${batch}, ${device.precision}, median of ${args.rounds} interleaved rounds\n`,
  );
  const { seen, first } = recordStep(addon, args.recipe, batch);
  const chooser = convMethodChooser();
  console.log(
    `methods chosen by measurement (cache: ${chooser.cacheFile ?? 'in memory'}); the first step measured ` +
      `${first.measured} shapes in ${first.measuringMs.toFixed(0)} ms (first step ${first.firstMs.toFixed(0)} ms, ` +
      `second ${first.secondMs.toFixed(0)} ms)\n`,
  );
  console.log(
    'pass            shape                             calls  direct ms  gemm ms  winograd ms  chosen    rules',
  );
  const total = { chosen: 0, rules: 0, best: 0, direct: 0 };
  for (const { pass, p, key, calls } of seen) {
    const t = timeMethods(pass, p, args.rounds);
    const rules = pickConvMethod(p, pass);
    const chosen = chooser.lookup(key)?.method ?? rules; // one candidate (forced, bf16-emulated): never measured
    const best = Math.min(...t.values());
    total.chosen += calls * t.get(chosen)!;
    total.rules += calls * t.get(rules)!;
    total.best += calls * best;
    total.direct += calls * t.get('direct')!;
    const shape = `${p.inHeight}x${p.inWidth}x${p.inChannels}->${p.outHeight}x${p.outWidth}x${p.outChannels} k${p.filterHeight} s${p.strideHeight}`;
    const ms = (m: ConvMethod, width: number) => (t.has(m) ? t.get(m)!.toFixed(2) : '-').padStart(width);
    const flag = (m: ConvMethod) => (t.get(m)! > 1.1 * best ? ' !' : '');
    console.log(
      `${pass.padEnd(15)} ${shape.padEnd(34)} ${String(calls).padStart(4)} ${ms('direct', 10)} ${ms('gemm', 8)} ` +
        `${ms('winograd', 12)}  ${(chosen + flag(chosen)).padEnd(9)} ${rules}${flag(rules)}`,
    );
  }
  const pct = (v: number) => `${(100 * (v / total.best - 1)).toFixed(1)}%`;
  console.log(
    `\nconvolutions of one step: all direct ${total.direct.toFixed(1)} ms, by the rules ${total.rules.toFixed(1)} ms ` +
      `(+${pct(total.rules)}), as chosen ${total.chosen.toFixed(1)} ms (+${pct(total.chosen)}), ` +
      `fastest per shape ${total.best.toFixed(1)} ms`,
  );
}

main().catch((e) => {
  console.error((e as Error).message);
  process.exit(1);
});
