/**
 * The PyTorch side of `npm run bench` (bench/torch_bench.py) on a tiny budget: its JSON line, and with
 * --profile torch.profiler's per-op table of the timed steps on stderr (the op-by-op comparison of
 * docs/measurements.md), which leaves the JSON line as it is.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

import { trainingRecipe } from '../../src/recipe';
import { findProjectRoot } from '../../src/project_root';

const run = promisify(execFile);
const ROOT = findProjectRoot(__dirname);

async function torchBench(extra: string[]) {
  const args = ['--batch', '4', '--steps', '2', '--warmup', '1', '--threads', '1', '--channels-last', '1'];
  const recipe = JSON.stringify(trainingRecipe('fast'));
  const { stdout, stderr } = await run(
    '/usr/bin/python3',
    [path.join(ROOT, 'bench', 'torch_bench.py'), ...args, '--recipe-json', recipe, ...extra],
    { cwd: ROOT, maxBuffer: 1 << 22 },
  );
  return { json: JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>, stderr };
}

describe('bench/torch_bench.py', () => {
  it('--profile adds the per-op table of the timed steps on stderr; the JSON line is unchanged', async () => {
    const plain = await torchBench([]);
    const profiled = await torchBench(['--profile']);
    for (const r of [plain, profiled]) {
      expect(r.json).toMatchObject({ batch: 4, threads: 1, channels_last: true, precision: 'fp32' });
      expect(r.json.step_s).toHaveLength(2);
    }
    expect(plain.stderr).not.toMatch(/torch\.profiler/);
    expect(profiled.stderr).toMatch(/torch\.profiler, 2 steps, channels_last=True, fp32:/);
    // the steps' operators, counted over the 2 timed steps only (the warm-up step is outside the profile):
    // the fast net's 20 convolutions forward and backward, its 17 batch norms
    const calls = (op: string) => Number(new RegExp(`${op}\\s.*\\s(\\d+)\\s*\\n`).exec(profiled.stderr)?.[1]);
    expect(calls('aten::convolution_backward')).toBe(40);
    expect(calls('aten::native_batch_norm_backward')).toBe(34);
  }, 120_000);
});
