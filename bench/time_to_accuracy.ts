/**
 * Time to accuracy: a named recipe (default `fast`) for several seeds, resnet-ts (`npm start`)
 * and the identical recipe in PyTorch (bench/torch_recipe.py, same JSON), one after the other.
 * For each run: the wall-clock seconds since the first training step (training and evaluations;
 * data loading is excluded and reported separately) at which the test accuracy, measured after
 * every epoch, first reaches each target; then the medians over seeds and the ratio of our time
 * to PyTorch's per target.
 *
 *   npm run time-to-accuracy -- [--recipe fast] [--seeds 0,1,2] [--impl ours,torch] [--precision bf16]
 *                               [--targets 0.90,0.91,0.92,0.93] [--epochs N] [--out runs/time-to-accuracy]
 *
 * --precision bf16 runs both sides in bf16: ours with `--precision bf16` (bf16 convolutions, float32
 * weights and statistics), PyTorch under torch.autocast('cpu', bfloat16). It needs a CPU with bf16
 * (avx512_bf16 or AMX); the results go to their own folder (<recipe>-bf16).
 *
 * Each finished run leaves <out>/<impl>-s<seed>.json (and a .log) and is not repeated, so an
 * interrupted comparison continues where it stopped. Times are only comparable between runs made
 * on an otherwise idle machine.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { RECIPE_NAMES, RecipeName, trainingRecipe } from '../src/recipe';
import { ROOT, TORCH_PYTHON, eachRun, median, parseSeeds, runLogged } from './run_logged';

type Impl = 'ours' | 'torch';
interface EvalPoint {
  epoch: number;
  wallSeconds: number;
  testAcc: number;
  validAcc?: number;
}
interface RunResult {
  impl: Impl;
  seed: number;
  points: EvalPoint[];
  dataSeconds?: number;
  imgPerSec: number;
}

type Precision = 'fp32' | 'bf16';

async function ours(
  recipe: RecipeName,
  epochs: number | undefined,
  seed: number,
  out: string,
  precision: Precision,
): Promise<RunResult> {
  const dir = path.join(out, `ours-s${seed}`);
  const args = [
    path.join(ROOT, 'dist', 'tools', 'train.js'),
    '--recipe',
    recipe,
    '--seed',
    String(seed),
    '--out',
    dir,
    '--progress',
    'lines',
    '--precision',
    precision,
  ];
  if (epochs) args.push('--epochs', String(epochs));
  await runLogged(process.execPath, args, path.join(out, `ours-s${seed}.log`));
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8'));
  const points = m.history.map((h: { epoch: number; wallSeconds: number; testAcc: number; validAcc?: number }) => ({
    epoch: h.epoch,
    wallSeconds: h.wallSeconds,
    testAcc: h.testAcc,
    validAcc: h.validAcc,
  }));
  return { impl: 'ours', seed, points, dataSeconds: m.dataSeconds, imgPerSec: m.final.imagesPerSecond };
}

async function torch(
  recipe: RecipeName,
  epochs: number | undefined,
  seed: number,
  out: string,
  precision: Precision,
): Promise<RunResult> {
  const r = trainingRecipe(recipe);
  if (epochs) r.epochs = epochs;
  const stdout = await runLogged(
    TORCH_PYTHON,
    [
      path.join(ROOT, 'bench', 'torch_recipe.py'),
      '--recipe-json',
      JSON.stringify(r),
      '--seed',
      String(seed),
      '--precision',
      precision,
    ],
    path.join(out, `torch-s${seed}.log`),
  );
  const lines = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const points = lines
    .filter((l) => !l.summary)
    .map((l) => ({
      epoch: l.epoch,
      wallSeconds: l.wall_seconds,
      testAcc: l.test_acc,
      validAcc: l.valid_acc ?? undefined,
    }));
  return { impl: 'torch', seed, points, imgPerSec: lines[lines.length - 1].img_s };
}

/** Seconds at the first evaluation reaching `target`, or undefined. */
function timeTo(points: EvalPoint[], target: number): number | undefined {
  return points.find((p) => p.testAcc >= target)?.wallSeconds;
}

/** The median, or undefined when there is nothing to take it of. */
function medianOrNone(xs: number[]): number | undefined {
  return xs.length === 0 ? undefined : median(xs);
}

function table(results: RunResult[], seeds: number[], targets: number[]): string {
  const f = (v: number | undefined, d = 0) => (v === undefined ? '-' : v.toFixed(d));
  const head = `| impl | seed | ${targets.map((t) => `time to ${t.toFixed(2)} (s)`).join(' | ')} | final test acc | img/s |`;
  const lines = [head, `|${'---|'.repeat(targets.length + 4)}`];
  for (const impl of ['ours', 'torch'] as const) {
    const runs = results.filter((r) => r.impl === impl && seeds.includes(r.seed));
    for (const r of runs) {
      lines.push(
        `| ${impl} | ${r.seed} | ${targets.map((t) => f(timeTo(r.points, t))).join(' | ')} | ${f(r.points.at(-1)?.testAcc, 4)} | ${f(r.imgPerSec, 1)} |`,
      );
    }
    if (runs.length) {
      // A run that never reaches a target counts as infinitely slow in the median.
      const med = (t: number) => medianOrNone(runs.map((r) => timeTo(r.points, t) ?? Infinity));
      const finals = runs.map((r) => r.points.at(-1)?.testAcc ?? 0);
      lines.push(
        `| ${impl} | median | ${targets.map((t) => f(med(t))).join(' | ')} | ${f(medianOrNone(finals), 4)} | |`,
      );
    }
  }
  const ratios = targets.map((t) => {
    const m = (impl: Impl) =>
      medianOrNone(
        results.filter((r) => r.impl === impl && seeds.includes(r.seed)).map((r) => timeTo(r.points, t) ?? Infinity),
      );
    const o = m('ours'),
      p = m('torch');
    return o !== undefined && p !== undefined && Number.isFinite(o) && Number.isFinite(p) ? (o / p).toFixed(2) : '-';
  });
  lines.push(
    '',
    `ratio of median times, resnet-ts / PyTorch: ${targets.map((t, i) => `${t.toFixed(2)}: ${ratios[i]}`).join(', ')}`,
  );
  return lines.join('\n');
}

async function main(): Promise<number> {
  const { values: v } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: {
      recipe: { type: 'string', default: 'fast' },
      seeds: { type: 'string', default: '0,1,2' },
      impl: { type: 'string', default: 'ours,torch' },
      targets: { type: 'string', default: '0.90,0.91,0.92,0.93' },
      epochs: { type: 'string' },
      precision: { type: 'string', default: 'fp32' },
      out: { type: 'string', default: 'runs/time-to-accuracy' },
    },
  });
  const recipe = v.recipe as RecipeName;
  if (!RECIPE_NAMES.includes(recipe)) throw new Error(`--recipe: unknown '${v.recipe}' (${RECIPE_NAMES.join(', ')})`);
  const seeds = parseSeeds(v.seeds!);
  const targets = v.targets!.split(',').map(Number);
  if (targets.some((t) => !(t > 0 && t < 1)))
    throw new Error(`--targets: '${v.targets}' is not a list of accuracies in (0, 1)`);
  const impls = v.impl!.split(',') as Impl[];
  for (const i of impls) if (i !== 'ours' && i !== 'torch') throw new Error(`--impl: unknown '${i}' (ours, torch)`);
  const epochs = v.epochs ? Number(v.epochs) : undefined;
  const precision = v.precision as Precision;
  if (precision !== 'fp32' && precision !== 'bf16')
    throw new Error(`--precision: unknown '${v.precision}' (fp32, bf16)`);
  const out = path.resolve(
    ROOT,
    v.out!,
    recipe + (epochs ? `-e${epochs}` : '') + (precision === 'bf16' ? '-bf16' : ''),
  );
  const results = await eachRun(
    out,
    seeds,
    impls,
    (seed, impl) =>
      impl === 'ours' ? ours(recipe, epochs, seed, out, precision) : torch(recipe, epochs, seed, out, precision),
    (r, impl, seed) =>
      console.log(
        `${impl} seed ${seed}: ${r.points.map((p) => `${p.testAcc.toFixed(4)}@${p.wallSeconds.toFixed(0)}s`).join(', ')}`,
      ),
  );
  console.log(`\nrecipe ${recipe}${epochs ? `, ${epochs} epochs` : ''}, ${precision}; results in ${out}\n`);
  console.log(table(results, seeds, targets));
  return 0;
}

main().then(
  (c) => {
    process.exitCode = c;
  },
  (e) => {
    console.error(`time_to_accuracy: ${(e as Error).message}`);
    process.exitCode = 1;
  },
);
