/**
 * One epoch of the seed's recipe for several random seeds, resnet-ts (`npm start`) and PyTorch
 * (bench/torch_epoch.py) one after the other, then a table of test accuracy per seed with mean,
 * min and max. The question it answers: how much of one-epoch test accuracy is the recipe (seed
 * to seed spread) and how much the implementation.
 *
 *   npm run sweep -- --seeds 0,1,2,3,4 [--impl ours,torch] [--out runs/sweep]
 *   npm run sweep -- --precision bf16          both in bf16 (ours: --precision bf16; PyTorch: torch.autocast);
 *                                              results in runs/sweep-bf16 unless --out says otherwise
 *   npm run sweep -- --precision bf16-emulated --impl ours   bf16's numerics on fp32 kernels (any CPU)
 *
 * Each finished run leaves runs/sweep/<impl>-s<seed>.json and is not repeated, so an interrupted
 * sweep continues where it stopped. Throughput is printed too, but it is only comparable between
 * runs made on an idle machine.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, TORCH_PYTHON, eachRun, parseSeeds, runLogged as run } from './run_logged';
import { parsePrecisionRequest, PrecisionRequest } from '../src/backend/precision';

interface Result {
  impl: 'ours' | 'torch';
  seed: number;
  testAcc: number;
  trainAcc: number;
  loss: number;
  imgPerSec: number;
}

async function ours(seed: number, out: string, precision: PrecisionRequest): Promise<Result> {
  const dir = path.join(out, `ours-s${seed}`);
  await run(
    process.execPath,
    [
      ...[path.join(ROOT, 'dist', 'tools', 'train.js'), '--seed', String(seed), '--out', dir, '--progress', 'lines'],
      ...['--precision', precision],
    ],
    path.join(out, `ours-s${seed}.log`),
  );
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8'));
  const f = m.final;
  return { impl: 'ours', seed, testAcc: f.testAcc, trainAcc: f.trainAcc, loss: f.loss, imgPerSec: f.imagesPerSecond };
}

async function torch(seed: number, out: string, precision: PrecisionRequest): Promise<Result> {
  const stdout = await run(
    TORCH_PYTHON,
    [path.join(ROOT, 'bench', 'torch_epoch.py'), '--seed', String(seed), '--precision', precision],
    path.join(out, `torch-s${seed}.log`),
  );
  const j = JSON.parse(stdout.trim().split('\n').pop()!);
  return { impl: 'torch', seed, testAcc: j.test_acc, trainAcc: j.train_acc, loss: j.loss, imgPerSec: j.img_s };
}

function summary(results: Result[], seeds: number[]): string {
  const cell = (impl: string, s: number) => results.find((r) => r.impl === impl && r.seed === s);
  const lines = ['| seed | resnet-ts test acc | PyTorch test acc | train loss (ours / torch) |', '|---|---|---|---|'];
  const f = (v: number | undefined, d: number) => (v === undefined ? '-' : v.toFixed(d));
  for (const s of seeds) {
    const o = cell('ours', s);
    const t = cell('torch', s);
    lines.push(`| ${s} | ${f(o?.testAcc, 4)} | ${f(t?.testAcc, 4)} | ${f(o?.loss, 3)} / ${f(t?.loss, 3)} |`);
  }
  for (const impl of ['ours', 'torch'] as const) {
    const accs = results.filter((r) => r.impl === impl && seeds.includes(r.seed)).map((r) => r.testAcc);
    if (accs.length === 0) continue;
    const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
    const sd = Math.sqrt(accs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, accs.length - 1));
    lines.push(
      `${impl === 'ours' ? 'resnet-ts' : 'PyTorch'}: ${accs.length} seeds, test acc mean ${mean.toFixed(4)}, sd ${sd.toFixed(4)}, ` +
        `min ${Math.min(...accs).toFixed(4)}, max ${Math.max(...accs).toFixed(4)}, >= 0.88 in ${accs.filter((a) => a >= 0.88).length}`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  const { values: v } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: {
      seeds: { type: 'string', default: '0,1,2' },
      impl: { type: 'string', default: 'ours,torch' },
      out: { type: 'string' },
      precision: { type: 'string', default: 'fp32' },
    },
  });
  const precision = parsePrecisionRequest(v.precision!, '--precision');
  const seeds = parseSeeds(v.seeds!);
  const impls = v.impl!.split(',') as ('ours' | 'torch')[];
  for (const i of impls) if (i !== 'ours' && i !== 'torch') throw new Error(`--impl: unknown '${i}' (ours, torch)`);
  if (impls.includes('torch') && precision !== 'fp32' && precision !== 'bf16')
    throw new Error(`--precision ${precision} has no PyTorch twin: use --impl ours (or fp32 / bf16)`);
  const out = path.resolve(ROOT, v.out ?? (precision === 'fp32' ? 'runs/sweep' : `runs/sweep-${precision}`));
  const results = await eachRun(
    out,
    seeds,
    impls,
    async (seed, impl) => {
      const t0 = Date.now();
      const r = impl === 'ours' ? await ours(seed, out, precision) : await torch(seed, out, precision);
      console.log(
        `${impl} seed ${seed}: test acc ${r.testAcc.toFixed(4)}, train loss ${r.loss.toFixed(3)}, ${r.imgPerSec.toFixed(1)} img/s, ${((Date.now() - t0) / 1000).toFixed(0)} s`,
      );
      return r;
    },
    () => {},
  );
  console.log(summary(results, seeds));
  return 0;
}

main().then(
  (c) => {
    process.exitCode = c;
  },
  (e) => {
    console.error(`seed_sweep: ${(e as Error).message}`);
    process.exitCode = 1;
  },
);
