import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRunOptions, run } from '../../tools/train';

describe('npm start options', () => {
  it('defaults to the seed recipe', () => {
    const o = parseRunOptions([]);
    expect(o).toMatchObject({ epochs: 1, batchSize: 64, resize: 96, lr: 0.05, momentum: 0, seed: 0, modelName: 'seed', resume: false });
    expect(o !== 'help' && o.model).toMatchObject({ widths: [64, 128, 256, 512], depths: [2, 2, 2, 2], block: 'basic', headPool: 'avg3' });
  });

  it('rejects bad values naming the flag', () => {
    expect(() => parseRunOptions(['--batch-size', '0'])).toThrow(/--batch-size must be an integer >= 1, got '0'/);
    expect(() => parseRunOptions(['--widths', '1,2,3'])).toThrow(/--widths needs four/);
    expect(() => parseRunOptions(['--model', 'vgg'])).toThrow(/unknown model preset 'vgg'/);
    expect(() => parseRunOptions(['--bogus'])).toThrow(/bogus/);
  });

  it('trains, writes metrics and a checkpoint, resumes for another epoch, and refuses a changed recipe', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'run-'));
    const args = ['--model', 'tiny', '--resize', '28', '--head-pool', 'global', '--train-limit', '256', '--test-limit', '128',
      '--out', out, '--progress', 'none', '--batch-size', '32'];
    const lines: string[] = [];
    await run(parseRunOptions(args) as never, (l) => lines.push(l));
    const m1 = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    expect(m1.history).toHaveLength(1);
    expect(m1.steps).toBe(8);
    expect(lines.some((l) => l.startsWith('Start training on '))).toBe(true);

    await run(parseRunOptions([...args, '--epochs', '2', '--resume']) as never, (l) => lines.push(l));
    const m2 = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    expect(m2.history.map((h: { epoch: number }) => h.epoch)).toEqual([0, 1]);
    expect(m2.history[0]).toEqual(m1.history[0]);
    expect(m2.steps).toBe(16);

    await expect(run(parseRunOptions([...args, '--lr', '0.1', '--resume']) as never, () => {})).rejects.toThrow(/option lr is 0.1 but the checkpoint was made with 0.05/);
  });
});
