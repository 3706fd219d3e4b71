/**
 * Deferred initialisation: parameters are shaped by a net's first input, and everything that
 * needs a net's variables (train, evaluateAccuracy, recalibrateBatchNorm, checkpoint restore)
 * builds an unbuilt net from its first batch. A variable list of a net that never saw an input
 * is an error naming the net and the fix, never an empty list.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/tfjs_setup';
import { loadDataFashionMnist } from '../../src/data/fashion_mnist';
import { ResNet } from '../../src/models/resnet';
import { Residual } from '../../src/models/residual';
import { Module, Sequential } from '../../src/nn/module';
import { BatchNorm, Conv2d, Dense, GlobalAvgPool2d, MaxPool2d, ReLU } from '../../src/nn/layers';
import { seedInitializers } from '../../src/nn/init';
import { train } from '../../src/train/train';
import { evaluateAccuracy } from '../../src/train/evaluate';
import { recalibrateBatchNorm } from '../../src/train/recalibrate';
import { CheckpointError, readCheckpoint, restoreCheckpoint, saveCheckpoint } from '../../src/train/checkpoint';

const quiet = () => {};
const TINY = {
  widths: [4, 8, 8, 8] as [number, number, number, number],
  depths: [1, 1, 1, 1] as [number, number, number, number],
  headPool: 'global' as const,
};

const NETS: [string, () => Module][] = [
  ['ResNet', () => new ResNet(TINY)],
  [
    'Residual stack',
    () =>
      new Sequential(
        new Conv2d(4, { kernelSize: 3, strides: 2 }),
        new Residual(4),
        new Residual(8, { sameShape: false }),
        new GlobalAvgPool2d(),
        new Dense(10),
      ),
  ],
  [
    'Sequential',
    () =>
      new Sequential(
        new Conv2d(4, { kernelSize: 3, strides: 2 }),
        new BatchNorm(),
        new ReLU(),
        new MaxPool2d(2),
        new Dense(10),
      ),
  ],
];

/** The same net, from the same initialiser seed. */
function seeded(make: () => Module, seed = 5): Module {
  seedInitializers(seed);
  const net = make();
  return net;
}

const values = (net: Module) => net.namedVariables().map(([n, v]) => [n, Array.from(v.dataSync())] as const);

async function data(trainLimit = 64, testLimit = 32) {
  return loadDataFashionMnist({ batchSize: 16, seed: 1, trainLimit, testLimit, log: quiet });
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('deferred initialisation', () => {
  for (const [what, make] of NETS) {
    it(`train() builds an unbuilt ${what} from the first batch and trains it exactly like a prebuilt one`, async () => {
      const { trainIter, testIter } = await data();
      const common = { trainData: trainIter, testData: testIter, epochs: 1, log: quiet, progress: 'none' as const };
      const lazy = seeded(make);
      expect(lazy.built).toBe(false);
      const { history, steps } = await train({ ...common, net: lazy, optimizer: tf.train.sgd(0.05) });
      seedInitializers(undefined);
      expect(lazy.built).toBe(true);
      expect(lazy.inputShape).toEqual([28, 28, 1]);
      expect(steps).toBe(4);
      expect(history).toHaveLength(1);
      expect(Number.isFinite(history[0].loss) && history[0].loss > 0).toBe(true);

      const eager = seeded(make).build([28, 28, 1]);
      await train({ ...common, net: eager, optimizer: tf.train.sgd(0.05) });
      seedInitializers(undefined);
      const a = values(lazy),
        b = values(eager);
      expect(a.map(([n]) => n)).toEqual(b.map(([n]) => n));
      expect(a.length).toBeGreaterThan(0);
      a.forEach(([, v], i) => expect(v).toEqual(b[i][1]));
    });
  }

  it('a variable list of a net that never saw an input throws, naming the net and the fix', () => {
    const fix = /call \.build\(inputShape\) first .* or run it once on a batch \(\.apply\(x\)\)/i;
    expect(() => new ResNet(TINY).trainableVariables()).toThrow(
      /^ResNet\.trainableVariables\(\): this ResNet has not been built yet/,
    );
    expect(() => new ResNet(TINY).trainableVariables()).toThrow(fix);
    expect(() => new Sequential(new ReLU(), new Dense(3)).namedVariables()).toThrow(
      /^Sequential\.namedVariables\(\): this Sequential/,
    );
    expect(() => new Residual(8).numParameters()).toThrow(
      /^Residual\.numParameters\(\): this Residual has not been built/,
    );
    expect(() => new Conv2d(3, { kernelSize: 1 }).namedVariables()).toThrow(fix);
  });

  it('layers without parameters, and containers of them, have an empty variable list before any input', () => {
    expect(new ReLU().built).toBe(true);
    expect(new ReLU().trainableVariables()).toEqual([]);
    expect(new Sequential(new MaxPool2d(2), new GlobalAvgPool2d(), new ReLU()).numParameters()).toBe(0);
  });

  it('running a net once builds it and every block in it', () => {
    const net = new ResNet(TINY);
    expect(net.blocks.some((b) => b.built)).toBe(false);
    tf.tidy(() => {
      net.apply(tf.zeros([2, 28, 28, 1]));
    });
    expect(net.built).toBe(true);
    expect(net.blocks.every((b) => b.built)).toBe(true);
    expect(net.inputShape).toEqual([28, 28, 1]);
    expect(net.blocks[1].inputShape).toEqual([11, 11, 4]);
    net.inputShape![0] = 99; // a copy: the caller cannot change what the module recorded
    expect(net.inputShape).toEqual([28, 28, 1]);
    expect(net.numParameters()).toBe(net.blocks.reduce((n, b) => n + b.numParameters(), 0));
  });

  it("evaluateAccuracy and recalibrateBatchNorm build an unbuilt net and give the prebuilt net's numbers", async () => {
    const { trainIter, testIter } = await data(32, 48);
    const lazy = seeded(() => new ResNet(TINY));
    const accLazy = evaluateAccuracy(testIter, lazy);
    const eager = seeded(() => new ResNet(TINY)).build([28, 28, 1]);
    seedInitializers(undefined);
    expect(accLazy).toBe(evaluateAccuracy(testIter, eager));

    const lazyBn = seeded(() => new ResNet(TINY));
    expect(recalibrateBatchNorm(lazyBn, trainIter, 2)).toBe(2);
    recalibrateBatchNorm(eager, trainIter, 2);
    seedInitializers(undefined);
    const a = values(lazyBn),
      b = values(eager);
    a.forEach(([n, v], i) => expect([n, v]).toEqual([b[i][0], b[i][1]]));
  });

  it('a checkpoint records the input shape; restoring into an unbuilt net builds it from there (or from inputShape)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-deferred-'));
    const src = seeded(() => new ResNet(TINY)).build([28, 28, 1]);
    seedInitializers(undefined);
    const opt = tf.train.sgd(0.05);
    const position = { epoch: 1, batch: 0, step: 0, lossSum: 0, correct: 0, seen: 0, seconds: 0 };
    await saveCheckpoint(dir, src, opt, position, [], {});
    expect(readCheckpoint(dir).manifest.inputShape).toEqual([28, 28, 1]);

    const fromManifest = new ResNet(TINY);
    await restoreCheckpoint(dir, fromManifest, undefined);
    expect(values(fromManifest)).toEqual(values(src));

    // A checkpoint without the field (older versions) needs the shape from the caller.
    const manifestFile = path.join(dir, 'checkpoint.json');
    const m = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
    delete m.inputShape;
    fs.writeFileSync(manifestFile, JSON.stringify(m));
    await expect(restoreCheckpoint(dir, new ResNet(TINY), undefined)).rejects.toThrow(CheckpointError);
    await expect(restoreCheckpoint(dir, new ResNet(TINY), undefined)).rejects.toThrow(
      /the ResNet is not built and the checkpoint records no input shape: pass inputShape .* or call \.build\(inputShape\)/,
    );
    const given = new ResNet(TINY);
    await restoreCheckpoint(dir, given, undefined, [28, 28, 1]);
    expect(values(given)).toEqual(values(src));

    // train({ resume }) on an unbuilt net takes the shape from the first training batch.
    const { trainIter, testIter } = await data(16, 16);
    const resumed = new ResNet(TINY);
    const { history } = await train({
      trainData: trainIter,
      testData: testIter,
      net: resumed,
      epochs: 2,
      log: quiet,
      progress: 'none',
      checkpointDir: dir,
      resume: {},
      optimizer: tf.train.sgd(0.05),
    });
    expect(history.map((h) => h.epoch)).toEqual([1]);
    expect(resumed.inputShape).toEqual([28, 28, 1]);
  });
});
