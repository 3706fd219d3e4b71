/**
 * The PyTorch side of the recipe comparisons (bench/torch_recipe.py), on a two-step budget: one JSON line
 * per epoch and a summary, in float32 and in bf16 autocast (`--precision bf16`, the comparison issue #28
 * asks for). bf16 is checked to be in effect by its numbers differing from float32's on the same seed
 * (PyTorch's CPU autocast runs bf16 on any x86 CPU; only the speed needs avx512_bf16 or AMX).
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

import { trainingRecipe } from '../../src/recipe';
import { findProjectRoot } from '../../src/project_root';

const run = promisify(execFile);
const ROOT = findProjectRoot(__dirname);
const PYTHON = '/usr/bin/python3';

interface EpochLine {
  epoch: number;
  loss: number;
  train_acc: number;
  valid_acc: number | null;
  test_acc: number;
  wall_seconds: number;
  train_seconds: number;
}

async function torchRecipe(extra: string[]): Promise<{ epochs: EpochLine[]; summary: Record<string, unknown> }> {
  const r = { ...trainingRecipe('fast'), epochs: 1, trainLimit: 256, testLimit: 128, validation: 128 };
  const { stdout } = await run(
    PYTHON,
    [path.join(ROOT, 'bench', 'torch_recipe.py'), '--recipe-json', JSON.stringify(r), '--threads', '1', ...extra],
    { cwd: ROOT, maxBuffer: 1 << 20 },
  );
  const lines = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { epochs: lines.filter((l) => !l.summary) as unknown as EpochLine[], summary: lines[lines.length - 1] };
}

describe('bench/torch_recipe.py', () => {
  it('trains the recipe in float32 and in bf16 autocast, reporting each epoch', async () => {
    const fp32 = await torchRecipe(['--seed', '3']);
    const bf16 = await torchRecipe(['--seed', '3', '--precision', 'bf16']);
    for (const [name, res] of [
      ['fp32', fp32],
      ['bf16', bf16],
    ] as const) {
      expect(res.epochs, name).toHaveLength(1);
      const e = res.epochs[0];
      expect(e.epoch).toBe(0);
      expect(e.loss, name).toBeGreaterThan(0.5); // two steps from random weights: far from trained
      expect(e.loss, name).toBeLessThan(10);
      for (const acc of [e.train_acc, e.valid_acc!, e.test_acc]) {
        expect(acc, name).toBeGreaterThanOrEqual(0);
        expect(acc, name).toBeLessThanOrEqual(1);
      }
      expect(e.wall_seconds).toBeGreaterThanOrEqual(e.train_seconds);
      expect(res.summary).toMatchObject({ summary: true, seed: 3, threads: 1, precision: name });
    }
    // Same seed, same data order: only the arithmetic differs.
    expect(bf16.epochs[0].loss).not.toBe(fp32.epochs[0].loss);
    expect(Math.abs(bf16.epochs[0].loss - fp32.epochs[0].loss)).toBeLessThan(0.5);
  });

  it('refuses an unknown precision, naming it', async () => {
    await expect(torchRecipe(['--precision', 'fp16'])).rejects.toThrow(/--precision: invalid choice: 'fp16'/);
  });
});
