import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Residual, ResNet, Bottleneck, PreActResidual, seedInitializers } from '../../src';
import { useBackendNow } from '../helpers/backend';

useBackendNow('cpu');

describe('Residual block shapes (NHWC; the seed printed NCHW)', () => {
  it('Residual(3) keeps [4,6,6,3] (seed: (4, 3, 6, 6))', () => {
    const blk = new Residual(3);
    const y = blk.apply(tf.randomUniform([4, 6, 6, 3]));
    expect(y.shape).toEqual([4, 6, 6, 3]);
  });

  it('Residual(8, sameShape=false) maps [4,6,6,3] to [4,3,3,8] (seed: (4, 8, 3, 3))', () => {
    const blk = new Residual(8, { sameShape: false });
    expect(blk.apply(tf.randomUniform([4, 6, 6, 3])).shape).toEqual([4, 3, 3, 8]);
    expect(blk.namedVariables().map(([n]) => n)).toContain('shortcut.weight');
  });

  it('the exercise blocks have the same shape contract', () => {
    const x = tf.randomUniform([2, 6, 6, 8]);
    expect(new Bottleneck(16, { sameShape: false }).apply(x).shape).toEqual([2, 3, 3, 16]);
    expect(new Bottleneck(8).apply(x).shape).toEqual([2, 6, 6, 8]);
    expect(new PreActResidual(16, { sameShape: false }).apply(x).shape).toEqual([2, 3, 3, 16]);
    expect(new PreActResidual(8).apply(x, { training: true }).shape).toEqual([2, 6, 6, 8]);
  });
});

describe('ResNet', () => {
  it('prints the six block shapes of the seed for a [4,96,96,3] input', () => {
    const lines: string[] = [];
    // Narrow widths keep this fast on the JS back end; spatial shapes do not depend on width.
    const net = new ResNet({ numClasses: 10, verbose: true, log: (l) => lines.push(l), widths: [4, 4, 4, 4] });
    const y = net.apply(tf.randomUniform([4, 96, 96, 3]));
    expect(y.shape).toEqual([4, 10]);
    expect(lines).toEqual([
      'block 1 output: [4,45,45,4]',
      'block 2 output: [4,22,22,4]',
      'block 3 output: [4,11,11,4]',
      'block 4 output: [4,6,6,4]',
      'block 5 output: [4,3,3,4]',
      'block 6 output: [4,10]',
    ]);
  });

  it('has the seed widths by default: [4,45,45,64] ... [4,3,3,512], [4,10]', () => {
    const net = new ResNet(10);
    const shapes = net.blockShapes([4, 96, 96, 3]);
    expect(shapes).toEqual([
      [4, 45, 45, 64],
      [4, 22, 22, 64],
      [4, 11, 11, 128],
      [4, 6, 6, 256],
      [4, 3, 3, 512],
      [4, 10],
    ]);
    // Trainable parameters, block by block (conv weights + biases, BN gamma + beta):
    // b1 7*7*3*64+64 = 9472; b2 2*(2*(9*64*64+64)+2*128) = 148224;
    // b3 (9*64*128+128)+(9*128*128+128)+(64*128+128)+2*256 + 2*(9*128*128+128)+2*256 = 525952;
    // b4 likewise 2100480; b5 8395264; b6 512*10+10 = 5130.
    expect(net.numParameters()).toBe(9472 + 148224 + 525952 + 2100480 + 8395264 + 5130);
    net.dispose();
  }, 120_000);

  it('is reproducible from a seed and rejects bad configs with a clear message', () => {
    const make = () => {
      seedInitializers(7);
      const n = new ResNet({ widths: [4, 4, 4, 4], depths: [1, 1, 1, 1] });
      n.build([96, 96, 1]);
      seedInitializers(undefined);
      return n;
    };
    const a = make().namedVariables();
    const b = make().namedVariables();
    expect(a.map(([n]) => n)).toEqual(b.map(([n]) => n));
    expect(Array.from(a[0][1].dataSync())).toEqual(Array.from(b[0][1].dataSync()));
    expect(() => new ResNet({ widths: [4, 4, 4] as unknown as [number, number, number, number] })).toThrow(
      /widths must be 4/,
    );
  });
});
