/**
 * tools/torch_ddp.py under torchrun (#29 item 4): two processes, gloo, on loopback, the `fast`
 * recipe at toy sizes (every part of it runs: Nesterov SGD, weight decay, one-cycle, label
 * smoothing, recalibration) for two steps on 39 images: a batch of 32 (16 per process) and a last
 * batch of 7 (3 and 4: the unequal shares the loss weighting must handle). The weights come back
 * through `net.loadWeights` and are compared with a single process computing the same thing: the
 * same script under `torchrun --nproc_per_node 1 ... --micro-batches 2`, i.e. the same two groups
 * per batch (batch norm per group, as per process under DDP) with their gradients accumulated.
 *
 * Tolerance 1e-5. Both runs do the same float32 operations on the same groups with one thread
 * each; what may differ is the order of two additions (the two groups' gradients summed by gloo's
 * all-reduce or accumulated in .grad; the recalibration's two batch statistics averaged in float64
 * across processes or by PyTorch's cumulative average), an ulp each, which two SGD steps do not
 * grow past 1e-6. Measured: 0 (bit for bit). A wrong computation is far above it (measured on these
 * runs): batch norm over the whole batch (one process without micro-batches) differs by 0.09 in the
 * weights, both processes training on the same half by 0.11, the group losses left unweighted by
 * 2e-3 (docs/measurements.md).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResNet, seedInitializers, tf } from '../../src/index';
import { findProjectRoot } from '../../src/project_root';
import { shrinkForFastMode, trainingRecipe } from '../../src/recipe';
import { freePort } from '../../tools/free_ports';

const ROOT = findProjectRoot(__dirname);
const TORCHRUN = '/usr/bin/torchrun';
const SCRIPT = path.join(ROOT, 'tools', 'torch_ddp.py');
const TOLERANCE = 1e-5;
/** One epoch: the schedule spans the two steps. 64 validation and 64 test images for the evaluation. */
const RECIPE = {
  ...shrinkForFastMode(trainingRecipe('fast')),
  epochs: 1,
  batchSize: 32,
  validation: 64,
  testLimit: 64,
};
const INPUT: [number, number, number] = [RECIPE.resize, RECIPE.resize, 1];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * torchrun on loopback, asynchronously. `--redirects 2 --tee 2`: Debian's torch 1.13 on Python 3.11
 * fails on torchrun's defaults (pytorch/pytorch#92319); workers' stderr lines come prefixed
 * `[default<rank>]:`. `--monitor_interval 0.2`: the agent notices finished workers in 0.2 s, not 5.
 */
async function torchrun(nproc: number, args: string[], recipe: object = RECIPE): Promise<Run> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const argv = [
      ...['--redirects', '2', '--tee', '2', '--monitor_interval', '0.2', '--nproc_per_node', String(nproc)],
      ...['--master_addr', '127.0.0.1', '--master_port', String(port)],
      ...[SCRIPT, '--recipe-json', JSON.stringify(recipe), '--threads', '1', ...args],
    ];
    const r = await new Promise<Run>((resolve) => {
      execFile(
        TORCHRUN,
        argv,
        { cwd: ROOT, env: { ...process.env, OMP_NUM_THREADS: '1' }, maxBuffer: 1 << 24 },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });
    // The free port was taken before torchrun bound it: once more on another.
    if (r.code !== 0 && /address already in use/i.test(r.stderr) && attempt < 2) continue;
    return r;
  }
}

interface Line {
  summary?: boolean;
  [k: string]: unknown;
}
const lines = (stdout: string): Line[] =>
  stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);

async function loaded(file: string): Promise<ResNet> {
  const net = new ResNet(RECIPE.model); // unbuilt: the input shape comes from the file's metadata
  await net.loadWeights(`file://${file}`);
  return net;
}

/** max |a - b| over every variable of two nets of the same architecture, and where. */
function maxDiff(a: ResNet, b: ResNet): { diff: number; name: string } {
  const bv = new Map(b.namedVariables());
  let worst = { diff: -1, name: '' };
  for (const [name, v] of a.namedVariables()) {
    const d = tf.tidy(() => tf.max(tf.abs(tf.sub(v, bv.get(name)!))).dataSync()[0]);
    if (d > worst.diff) worst = { diff: d, name };
  }
  return worst;
}

let dir = '';
let start = '';
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-ddp-'));
  start = path.join(dir, 'start.safetensors');
  seedInitializers(RECIPE.seed);
  const net = new ResNet(RECIPE.model).build(INPUT);
  seedInitializers(undefined);
  await net.save(`file://${start}`);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('tools/torch_ddp.py under torchrun', () => {
  it('trains two steps with 2 processes; the weights load with net.loadWeights and equal one process with 2 micro-batches', async () => {
    const common = ['--weights', start, '--train-limit', '39', '--max-steps', '2'];
    const t0 = Date.now();
    const ddp = await torchrun(2, [...common, '--out', path.join(dir, 'ddp.safetensors')]);
    const t1 = Date.now();
    expect(ddp.code, ddp.stderr).toBe(0);
    const ref = await torchrun(1, [...common, '--micro-batches', '2', '--out', path.join(dir, 'ref.safetensors')]);
    expect(ref.code, ref.stderr).toBe(0);
    console.log(`torchrun: 2 processes ${(t1 - t0) / 1000} s, 1 process ${(Date.now() - t1) / 1000} s`);

    const [epoch, summary] = lines(ddp.stdout);
    expect(summary).toMatchObject({ summary: true, world_size: 2, micro_batches: 1, group_batch: 16, steps: 2 });
    expect(epoch).toMatchObject({ epoch: 0, steps: 2 });
    const [refEpoch, refSummary] = lines(ref.stdout);
    expect(refSummary).toMatchObject({ world_size: 1, micro_batches: 2, group_batch: 16, steps: 2 });
    expect(Math.abs((epoch.loss as number) - (refEpoch.loss as number))).toBeLessThan(TOLERANCE);
    expect([epoch.valid_acc, epoch.test_acc]).toEqual([refEpoch.valid_acc, refEpoch.test_acc]);

    const trained = await loaded(path.join(dir, 'ddp.safetensors'));
    const initial = await loaded(start);
    const single = await loaded(path.join(dir, 'ref.safetensors'));
    expect(trained.inputShape).toEqual(INPUT);
    const agreement = maxDiff(trained, single);
    const moved = maxDiff(trained, initial);
    console.log(
      `DDP (2 processes) vs one process (2 micro-batches): max |diff| ${agreement.diff.toExponential(2)} ` +
        `(${agreement.diff === 0 ? 'every variable equal' : agreement.name}); ` +
        `moved from the start by up to ${moved.diff.toFixed(3)} (${moved.name})`,
    );
    expect(agreement.diff).toBeLessThan(TOLERANCE);
    expect(moved.diff).toBeGreaterThan(1e-2); // it did train
    const y = tf.tidy(() => trained.apply(tf.zeros([2, ...INPUT])));
    expect(y.shape).toEqual([2, 10]);
    y.dispose();
  });

  it('names a missing weights file', async () => {
    const r = await torchrun(2, [
      '--weights',
      path.join(dir, 'nope.safetensors'),
      '--out',
      path.join(dir, 'x.safetensors'),
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/torch_ddp\.py: --weights \S*nope\.safetensors: no such file/);
  });

  it("names each tensor that does not fit the recipe's network", async () => {
    const other = path.join(dir, 'other.safetensors');
    const net = new ResNet({ ...RECIPE.model, widths: [8, 16, 32, 32], depths: [1, 1, 1, 2] }).build(INPUT);
    await net.save(`file://${other}`);
    const r = await torchrun(2, ['--weights', other, '--out', path.join(dir, 'x.safetensors')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("does not fit the recipe's network");
    expect(r.stderr).toContain('missing tensor(s): 9.weight, 9.bias');
    expect(r.stderr).toMatch(/unexpected tensor\(s\): 7\.conv1\.weight, /);
    expect(r.stderr).toContain("'6.conv1.weight' has shape [32, 32, 3, 3], expected [64, 32, 3, 3]");
    expect(fs.existsSync(path.join(dir, 'x.safetensors'))).toBe(false);
  });

  it('refuses a process count that does not divide the batch', async () => {
    const r = await torchrun(2, ['--weights', start, '--out', path.join(dir, 'x.safetensors')], {
      ...RECIPE,
      batchSize: 31,
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("the recipe's batch of 31 does not split into 2 process(es) x 1 micro-batch(es)");
  });
});
