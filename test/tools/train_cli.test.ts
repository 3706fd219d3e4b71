import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRunOptions, run, RunOptions } from '../../tools/train';
import { detectBf16Support } from '../../src/backend/select';
import { trainingRecipe } from '../../src/recipe';
import { ResNet } from '../../src/models/resnet';

describe('npm start options', () => {
  it('defaults to the seed recipe', () => {
    const o = parseRunOptions([]);
    if (o === 'help') throw new Error('help');
    expect(o.recipe).toEqual(trainingRecipe('seed'));
    expect(o.recipe).toMatchObject({
      epochs: 1,
      batchSize: 64,
      resize: 96,
      learningRate: 0.05,
      momentum: 0,
      seed: 0,
      name: 'seed',
    });
    expect(o.resume).toBe(false);
    expect(o.out).toBe(path.join('runs', 'seed'));
    expect(new ResNet(o.recipe.model).config).toMatchObject({
      widths: [64, 128, 256, 512],
      depths: [2, 2, 2, 2],
      block: 'basic',
      headPool: 'avg3',
      stem: 'seed',
    });
  });

  it('--recipe picks a named recipe and flags override its fields by the same names', () => {
    const o = parseRunOptions([
      '--recipe',
      'fast',
      '--learning-rate',
      '0.3',
      '--epochs',
      '3',
      '--no-nesterov',
      '--augment',
      '1',
      '--max-batches-per-epoch',
      '7',
      '--weight-decay',
      '0.001',
      '--label-smoothing',
      '0.05',
      '--stem',
      'seed',
    ]);
    if (o === 'help') throw new Error('help');
    const fast = trainingRecipe('fast');
    expect(o.recipe).toEqual({
      ...fast,
      learningRate: 0.3,
      epochs: 3,
      nesterov: false,
      augment: { padding: 1, flip: false },
      maxBatchesPerEpoch: 7,
      weightDecay: 0.001,
      labelSmoothing: 0.05,
      model: { ...fast.model, stem: 'seed' },
      modelName: `${fast.modelName}, modified`,
    });
    expect(o.out).toBe(path.join('runs', 'fast'));
    // The short aliases set the same fields.
    const a = parseRunOptions(['--lr', '0.1', '--max-batches', '5']);
    expect(a !== 'help' && [a.recipe.learningRate, a.recipe.maxBatchesPerEpoch]).toEqual([0.1, 5]);
    expect(() => parseRunOptions(['--recipe', 'slow'])).toThrow(/--recipe must be one of seed, fast, tiny; got 'slow'/);
    expect(() => parseRunOptions(['--augment', 'flip'])).toThrow(/--augment must be 'none' or P\[,flip\]/);
    expect(() => parseRunOptions(['--nesterov'])).toThrow(/--nesterov needs --momentum > 0/);
    // Every stem, block kind and head pool the model has, by the model's own lists.
    const im = parseRunOptions(['--stem', 'imagenet', '--block', 'preact', '--head-pool', 'global']);
    expect(im !== 'help' && im.recipe.model).toMatchObject({ stem: 'imagenet', block: 'preact', headPool: 'global' });
    expect(() => parseRunOptions(['--stem', 'huge'])).toThrow(
      /--stem must be one of seed, small, imagenet; got 'huge'/,
    );
    expect(() => parseRunOptions(['--label-smoothing', '1'])).toThrow(
      /--label-smoothing must be a number >= 0 and < 1/,
    );
  });

  it('rejects bad values naming the flag', () => {
    expect(() => parseRunOptions(['--batch-size', '0'])).toThrow(/--batch-size must be an integer >= 1, got '0'/);
    expect(() => parseRunOptions(['--widths', '1,2,3'])).toThrow(/--widths needs four/);
    expect(() => parseRunOptions(['--model', 'vgg'])).toThrow(/unknown model preset 'vgg'/);
    expect(() => parseRunOptions(['--bogus'])).toThrow(/bogus/);
    expect(() => parseRunOptions(['--precision', 'half'])).toThrow(
      /unknown precision 'half' \(--precision\): use one of fp32, bf16, auto, bf16-emulated/,
    );
    expect((parseRunOptions(['--precision', 'auto']) as RunOptions).precision).toBe('auto');
    expect((parseRunOptions([]) as RunOptions).precision).toBeUndefined(); // tryGpu: RESNET_TS_PRECISION, else fp32
  });

  it('trains, writes metrics and a checkpoint, resumes for another epoch, and refuses a changed recipe', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'run-'));
    const args = [
      '--model',
      'tiny',
      '--resize',
      '28',
      '--head-pool',
      'global',
      '--train-limit',
      '256',
      '--test-limit',
      '128',
      '--out',
      out,
      '--progress',
      'none',
      '--batch-size',
      '32',
    ];
    const lines: string[] = [];
    await run(parseRunOptions(args) as never, (l) => lines.push(l));
    const m1 = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    expect(m1.history).toHaveLength(1);
    expect(m1.precision).toBe('fp32');
    expect(m1.steps).toBe(8);
    expect(lines.some((l) => l.startsWith('Start training on '))).toBe(true);

    // the precision is the device's, not the recipe's: a resumed run may change it
    await run(parseRunOptions([...args, '--epochs', '2', '--resume', '--precision', 'bf16-emulated']) as never, (l) =>
      lines.push(l),
    );
    const m2 = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    expect(m2.precision).toBe('bf16-emulated');
    expect(lines).toContainEqual(expect.stringMatching(/^Back end: cpu \(onednn: .*\), bf16-emulated: /));
    expect(m2.history.map((h: { epoch: number }) => h.epoch)).toEqual([0, 1]);
    expect(m2.history[0]).toEqual(m1.history[0]);
    expect(m2.steps).toBe(16);

    await expect(run(parseRunOptions([...args, '--lr', '0.1', '--resume']) as never, () => {})).rejects.toThrow(
      /option learningRate is 0.1 but the checkpoint was made with 0.05/,
    );
    const bf16 = detectBf16Support();
    if (bf16.cpuFlags.length === 0) {
      await expect(run(parseRunOptions([...args, '--precision', 'bf16']) as never, () => {})).rejects.toThrow(
        /precision 'bf16' is not available: this CPU has no bf16 instructions/,
      );
    }
  });
});
