/**
 * Every residual block names its shortcut projection 'shortcut', creates it in the constructor,
 * and checkpoints from before the rename ('conv3' in Residual/PreActResidual, 'conv4' in
 * Bottleneck) still restore.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Bottleneck, PreActResidual, Residual } from '../../src/models/residual';
import { ResNet } from '../../src/models/resnet';
import { Module } from '../../src/nn/module';
import { seedInitializers } from '../../src/nn/init';
import { CheckpointError, renameLegacyShortcuts, restoreCheckpoint, saveCheckpoint } from '../../src/train/checkpoint';

const names = (m: Module) => m.namedVariables().map(([n]) => n);

describe('shortcut projection', () => {
  it('is the child module "shortcut" in all three blocks, created in the constructor', () => {
    for (const blk of [
      new Residual(8, { sameShape: false }),
      new Bottleneck(8, { sameShape: false }),
      new PreActResidual(8, { sameShape: false }),
    ]) {
      expect(blk.children().map(([n]) => n)).toContain('shortcut');
      // Added after the main branch, so variable order (and so optimizer state order) is unchanged.
      expect(blk.children().at(-1)![0]).toBe('shortcut');
    }
    for (const blk of [new Residual(8), new Bottleneck(8), new PreActResidual(8)]) {
      expect(blk.children().map(([n]) => n)).not.toContain('shortcut');
    }
  });

  it('projects a width change at the same spatial size when inChannels says so, and explains the fix when not', () => {
    const x = tf.randomUniform([2, 6, 6, 4]);
    const blk = new Bottleneck(16, { inChannels: 4 });
    expect(blk.apply(x).shape).toEqual([2, 6, 6, 16]);
    expect(names(blk)).toContain('shortcut.weight');
    expect(() => new Bottleneck(16).apply(x)).toThrow(/Bottleneck\(16\): input has 4 channels.*inChannels: 4/);
    expect(() => new Residual(16).apply(x)).toThrow(/Residual\(16\): input has 4 channels/);
    expect(new Residual(16, { inChannels: 4 }).apply(x).shape).toEqual([2, 6, 6, 16]);
  });

  it('ResNet passes each stage its input width (bottleneck stage 1 projects 8 -> 32 without downsampling)', () => {
    const net = new ResNet({ widths: [32, 64, 64, 64], stemWidth: 8, depths: [1, 1, 1, 1], block: 'bottleneck' }).build(
      [64, 64, 1],
    );
    expect(names(net)).toContain('b2.1.shortcut.weight');
    expect(names(net).filter((n) => n.endsWith('shortcut.weight'))).toHaveLength(4);
  });
});

describe('checkpoints from before the rename', () => {
  async function roundTrip(make: () => Module, oldName: string) {
    seedInitializers(7);
    const net = make().build([12, 12, 3]);
    const opt = tf.train.sgd(0.1);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-legacy-'));
    await saveCheckpoint(
      dir,
      net,
      opt,
      { epoch: 0, batch: 0, step: 0, lossSum: 0, correct: 0, seen: 0, seconds: 0 },
      [],
      {},
    );
    // Rewrite the manifest as an old run wrote it.
    const file = path.join(dir, 'checkpoint.json');
    const manifest = fs.readFileSync(file, 'utf8');
    expect(manifest).toContain('"shortcut.weight"');
    fs.writeFileSync(file, manifest.replaceAll('"shortcut.', `"${oldName}.`));
    seedInitializers(8);
    const fresh = make().build([12, 12, 3]);
    await restoreCheckpoint(dir, fresh, undefined, [12, 12, 3]);
    const a = new Map(net.namedVariables());
    for (const [n, v] of fresh.namedVariables())
      expect(Array.from(v.dataSync())).toEqual(Array.from(a.get(n)!.dataSync()));
    return dir;
  }

  it('Residual and PreActResidual: conv3 -> shortcut', async () => {
    await roundTrip(() => new Residual(8, { sameShape: false }), 'conv3');
    await roundTrip(() => new PreActResidual(8, { sameShape: false }), 'conv3');
  });

  it('Bottleneck: conv4 -> shortcut, while its own conv3 stays conv3', async () => {
    await roundTrip(() => new Bottleneck(8, { sameShape: false }), 'conv4');
  });

  it('an unknown name still fails naming both sides', async () => {
    const dir = await roundTrip(() => new Residual(8, { sameShape: false }), 'conv3');
    const file = path.join(dir, 'checkpoint.json');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replaceAll('"conv1.', '"convX.'));
    await expect(
      restoreCheckpoint(dir, new Residual(8, { sameShape: false }).build([12, 12, 3]), undefined, [12, 12, 3]),
    ).rejects.toThrow(CheckpointError);
    await expect(
      restoreCheckpoint(dir, new Residual(8, { sameShape: false }).build([12, 12, 3]), undefined, [12, 12, 3]),
    ).rejects.toThrow(/missing in model \[convX\.weight.*not in checkpoint \[conv1\.weight/);
  });
});

describe('renameLegacyShortcuts (the rule on its own)', () => {
  const entry = (name: string) => ({ name, shape: [1], offset: 0 });
  const model = (...names: string[]) => new Map(names.map((n) => [n, true]));
  const rename = (entries: string[], modelNames: string[]) =>
    renameLegacyShortcuts(entries.map(entry), model(...modelNames)).map((e) => e.name);

  it('conv3/conv4 weight and bias become shortcut where the model has that variable', () => {
    expect(rename(['b.conv3.weight', 'conv4.bias', 'b.conv1.weight'], ['b.shortcut.weight', 'shortcut.bias'])).toEqual([
      'b.shortcut.weight',
      'shortcut.bias',
      'b.conv1.weight',
    ]);
  });

  it('keeps the old name when the model has no such shortcut, has the old name itself, or the checkpoint has both', () => {
    expect(rename(['b.conv3.weight'], ['b.conv1.weight'])).toEqual(['b.conv3.weight']);
    expect(rename(['b.conv3.weight'], ['b.conv3.weight', 'b.shortcut.weight'])).toEqual(['b.conv3.weight']);
    expect(rename(['b.conv3.weight', 'b.shortcut.weight'], ['b.shortcut.weight'])).toEqual([
      'b.conv3.weight',
      'b.shortcut.weight',
    ]);
  });

  it('only whole trailing names: conv3.weight_ema, conv33.weight and xconv3.weight are not shortcuts', () => {
    expect(
      rename(
        ['b.conv3.weight_ema', 'b.conv33.weight', 'b.xconv3.weight'],
        ['b.shortcut.weight_ema', 'b.shortcut3.weight', 'b.xshortcut.weight'],
      ),
    ).toEqual(['b.conv3.weight_ema', 'b.conv33.weight', 'b.xconv3.weight']);
  });
});
