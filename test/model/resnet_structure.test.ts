/**
 * The ResNet builder on narrow nets (fast enough for mutation testing, unlike shapes.test.ts's seed
 * net): both stems' shapes, the widths each stage is handed, the variables each block gets, what
 * `verbose` prints and where, and the configuration checks.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { ResNet, ResNetOptions, resnetOfDepth, resnext50 } from '../../src/models/resnet';
import { expectSafetensorsRoundTrip } from '../helpers/round_trip';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const NARROW: ResNetOptions = { widths: [4, 8, 8, 16], depths: [1, 2, 1, 1], headPool: 'global' };

describe('ResNet builder, narrow nets', () => {
  it('seed stem: 7x7/2 convolution, then a 3x3/2 max pool at the start of b2', () => {
    const net = new ResNet(NARROW);
    expect(net.blockShapes([2, 48, 48, 1])).toEqual([
      [2, 21, 21, 4], // (48 - 7) / 2 + 1
      [2, 10, 10, 4], // max pool 3/2, then a width-keeping stage
      [2, 5, 5, 8],
      [2, 3, 3, 8],
      [2, 2, 2, 16],
      [2, 10],
    ]);
    const names = new Set(net.namedVariables().map(([n]) => n));
    expect(names.has('b1.weight')).toBe(true); // the seed stem is a bare convolution
    expect([...names].some((n) => n.startsWith('b1.') && n.includes('gamma'))).toBe(false);
  });

  it('small stem: 3x3 convolution + BN + ReLU at full size, no max pool', () => {
    const net = new ResNet({ ...NARROW, stem: 'small' });
    expect(net.blockShapes([2, 28, 28, 1])).toEqual([
      [2, 28, 28, 4],
      [2, 28, 28, 4],
      [2, 14, 14, 8],
      [2, 7, 7, 8],
      [2, 4, 4, 16],
      [2, 10],
    ]);
    const names = net.namedVariables().map(([n, v]) => `${n} ${JSON.stringify(v.shape)}`);
    expect(names).toContain('b1.0.weight [3,3,1,4]');
    expect(names).toContain('b1.1.gamma [4]');
  });

  it('hands each stage its input width: projections only where the width or size changes', () => {
    // stemWidth 6 != widths[0] 4: the first block of b2 projects 6 -> 4; b3's second block keeps 8.
    const net = new ResNet({ ...NARROW, stemWidth: 6 });
    net.build([40, 40, 1]);
    const shortcuts = net
      .namedVariables()
      .filter(([n]) => n.includes('shortcut.weight'))
      .map(([n, v]) => `${n} ${JSON.stringify(v.shape)}`);
    expect(shortcuts).toEqual([
      'b2.1.shortcut.weight [1,1,6,4]',
      'b3.0.shortcut.weight [1,1,4,8]',
      'b4.0.shortcut.weight [1,1,8,8]',
      'b5.0.shortcut.weight [1,1,8,16]',
    ]);
  });

  it('prints each block output shape only when verbose, through its log', () => {
    const spy = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const x = tf.zeros([1, 48, 48, 1]);
      new ResNet(NARROW).apply(x).dispose();
      expect(spy).not.toHaveBeenCalled();
      const lines: string[] = [];
      new ResNet({ ...NARROW, verbose: true, log: (l) => lines.push(l) }).apply(x).dispose();
      expect(lines).toEqual([
        'block 1 output: [1,21,21,4]',
        'block 2 output: [1,10,10,4]',
        'block 3 output: [1,5,5,8]',
        'block 4 output: [1,3,3,8]',
        'block 5 output: [1,2,2,16]',
        'block 6 output: [1,10]',
      ]);
      expect(spy).not.toHaveBeenCalled();
      new ResNet({ ...NARROW, verbose: true }).apply(x).dispose();
      expect(spy).toHaveBeenCalledTimes(6); // the default log is console.log
      x.dispose();
    } finally {
      spy.mockRestore();
    }
  });

  it('rejects an unknown stem and malformed widths, naming them', () => {
    expect(() => new ResNet({ ...NARROW, stem: 'huge' as 'seed' })).toThrow(/unknown stem 'huge'/);
    expect(() => new ResNet({ ...NARROW, widths: [4, 8, 8] as unknown as ResNetOptions['widths'] })).toThrow(/widths/);
    expect(() => new ResNet({ ...NARROW, widths: [4, 8, 0, 16] })).toThrow(/widths/);
  });

  it('names the allowed values of each list, and refuses an unknown bottleneck stride', () => {
    expect(() => new ResNet({ ...NARROW, stem: 'huge' as 'seed' })).toThrow(
      "ResNet config: unknown stem 'huge' (seed, small, imagenet)",
    );
    expect(() => new ResNet({ ...NARROW, block: 'dense' as 'basic' })).toThrow(
      "ResNet config: unknown block kind 'dense' (basic, bottleneck, preact)",
    );
    expect(() => new ResNet({ ...NARROW, headPool: 'max' as 'avg3' })).toThrow(
      "ResNet config: unknown headPool 'max' (avg3, global)",
    );
    expect(() => new ResNet({ ...NARROW, block: 'bottleneck', bottleneckStride: '2x2' as '1x1' })).toThrow(
      "ResNet config: unknown bottleneckStride '2x2'",
    );
    // 1 is a positive integer: one group
    expect(new ResNet({ ...NARROW, block: 'bottleneck', groups: 1 }).config.groups).toBe(1);
  });

  it('the config holds only the options given, beside the defaults', () => {
    expect(Object.keys(new ResNet(NARROW).config).sort()).toEqual(
      ['block', 'depths', 'headPool', 'numClasses', 'stem', 'stemWidth', 'widths'].sort(),
    );
  });

  it('blockShapes reads shapes in inference mode: running statistics untouched', () => {
    const net = new ResNet(NARROW).build([24, 24, 1]);
    const stats = () =>
      net
        .namedVariables()
        .filter(([n]) => n.endsWith('running_var'))
        .map(([, v]) => Array.from(v.dataSync()));
    const before = stats();
    net.blockShapes([2, 24, 24, 1]);
    expect(stats()).toEqual(before);
    net.dispose();
  });
});

describe("Table 1's configurations", () => {
  it("resnetOfDepth: the chapter's setting by default; the paper's adds its stem, head and, for bottlenecks, the 1x1 stride", () => {
    expect(resnetOfDepth(18)).toEqual(resnetOfDepth(18, 'chapter'));
    expect(resnetOfDepth(18)).toEqual({
      widths: [64, 128, 256, 512],
      stemWidth: 64,
      depths: [2, 2, 2, 2],
      block: 'basic',
    });
    expect('bottleneckStride' in resnetOfDepth(18, 'imagenet')).toBe(false);
    expect(resnetOfDepth(50, 'imagenet').bottleneckStride).toBe('1x1');
  });

  it("resnext50: ResNet-50 with 32 groups of 4 and the stride on the 3x3, in the chapter's setting by default", () => {
    expect(resnext50()).toEqual({ ...resnetOfDepth(50), bottleneckStride: '3x3', groups: 32, widthPerGroup: 4 });
    expect(resnext50('imagenet')).toEqual({
      ...resnetOfDepth(50, 'imagenet'),
      bottleneckStride: '3x3',
      groups: 32,
      widthPerGroup: 4,
    });
  });
});

describe('a ResNet saved and rebuilt', () => {
  it('architecture(): its class and a copy of its config, which fromConfig turns back into the same network', () => {
    const net = new ResNet({ ...NARROW, stem: 'small' });
    const arch = net.architecture();
    expect(arch).toEqual({ className: 'ResNet', config: net.config });
    arch.config.numClasses = 3;
    expect(net.config.numClasses).toBe(10);
    expect(ResNet.fromConfig(net.architecture().config).config).toEqual(net.config);
    expect(() => ResNet.fromConfig({ ...net.config, dropout: 0.1 })).toThrow(
      /^ResNet config: unknown ResNet config field\(s\) dropout \(known: numClasses, widths, /,
    );
  });

  it('save as safetensors and loadWeights give back every weight', async () => {
    await expectSafetensorsRoundTrip(() => new ResNet({ ...NARROW, stem: 'small' }).build([8, 8, 1]));
  });
});
