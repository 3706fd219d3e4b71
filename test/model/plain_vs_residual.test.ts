/**
 * The networks of the degradation experiment (notebook 06): He et al.'s 6n + 2 layer CIFAR nets,
 * plain and residual. Counted layer by layer, and checked by value that the plain twin has no
 * shortcut and the residual one does.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { PlainBlock, PlainOrResidualNet, Residual } from '../../src';
import { expectSafetensorsRoundTrip } from '../helpers/round_trip';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const weights = (net: PlainOrResidualNet) =>
  net.namedVariables().filter(([n, v]) => v.trainable && n.endsWith('.weight'));

describe('PlainOrResidualNet', () => {
  it.each([
    [8, 1],
    [20, 3],
    [56, 9],
  ])(
    'depth %i: %i blocks per stage, 6n + 2 weighted layers (+2 projections when residual), output [N, 10]',
    (depth, n) => {
      for (const shortcuts of [false, true]) {
        const net = new PlainOrResidualNet({ depth, shortcuts }).build([28, 28, 1]);
        expect(net.blocksPerStage).toBe(n);
        const w = weights(net);
        // stem + 2 convs per block + dense; the residual net adds a 1x1 projection where the width doubles.
        expect(w.length).toBe(depth + (shortcuts ? 2 : 0));
        expect(w.filter(([, v]) => v.rank === 4 && v.shape[0] === 1).length).toBe(shortcuts ? 2 : 0);
        expect(w[0][1].shape).toEqual([3, 3, 1, 16]);
        expect(w[w.length - 1][1].shape).toEqual([64, 10]);
        const y = net.apply(tf.zeros([2, 28, 28, 1]));
        expect(y.shape).toEqual([2, 10]);
        y.dispose();
        net.dispose();
      }
    },
  );

  it('stages halve the map twice: 28 -> 28, 14, 7 with 16, 32, 64 channels', () => {
    const net = new PlainOrResidualNet({ depth: 14, shortcuts: true }).build([28, 28, 1]);
    const convs = weights(net).filter(([n]) => n.endsWith('conv2.weight'));
    expect(convs.map(([, v]) => v.shape[3])).toEqual([16, 16, 32, 32, 64, 64]);
    net.dispose();
  });

  it.each([7, 0, 21, 2.5])('depth %s that is not 6n + 2 is refused, naming the rule', (depth) => {
    expect(() => new PlainOrResidualNet({ depth, shortcuts: true })).toThrow(/depth must be 6n \+ 2 .* got/);
  });

  it('widths must be three positive integers', () => {
    expect(() => new PlainOrResidualNet({ depth: 8, shortcuts: false, widths: [16, 0, 64] })).toThrow(
      /widths must be 3/,
    );
    expect(
      () =>
        new PlainOrResidualNet({ depth: 8, shortcuts: false, widths: [16, 32] as unknown as [number, number, number] }),
    ).toThrow('PlainOrResidualNet: widths must be 3 positive integers; got [16,32]');
    expect(new PlainOrResidualNet({ depth: 8, shortcuts: false, widths: [1, 1, 1] }).blocksPerStage).toBe(1);
  });

  it.each([2, -4])('depth %i (n = 0 or less) is refused too', (depth) => {
    expect(() => new PlainOrResidualNet({ depth, shortcuts: false })).toThrow(/depth must be 6n \+ 2 .* got/);
  });

  // Multiply-adds follow each layer's output map, so they show where the map halves: 12x12, then 6x6, then 3x3.
  it.each([false, true])(
    'shortcuts %s: the first block of stages 2 and 3 halves the map (multiply-adds layer by layer), names under net.',
    (shortcuts) => {
      const net = new PlainOrResidualNet({ depth: 8, shortcuts, widths: [4, 8, 16] }).build([12, 12, 1]);
      const conv = (h: number, k: number, cin: number, cout: number) => h * h * cout * k * k * cin;
      const expected =
        conv(12, 3, 1, 4) + // stem
        conv(12, 3, 4, 4) * 2 + // stage 1: 12x12
        conv(6, 3, 4, 8) +
        conv(6, 3, 8, 8) +
        (shortcuts ? conv(6, 1, 4, 8) : 0) + // stage 2: 6x6
        conv(3, 3, 8, 16) +
        conv(3, 3, 16, 16) +
        (shortcuts ? conv(3, 1, 8, 16) : 0) + // stage 3: 3x3
        16 * 10; // dense
      expect(net.multiplyAdds()).toBe(expected);
      expect(net.namedVariables()[0][0]).toBe('net.0.0.weight');
      net.dispose();
    },
  );

  it('architecture(): the options it was made with (a copy), which fromConfig turns back into the same network', () => {
    const opts = { depth: 8, shortcuts: true, widths: [4, 8, 8] as [number, number, number] };
    const net = new PlainOrResidualNet(opts);
    opts.depth = 14;
    expect(net.architecture()).toEqual({
      className: 'PlainOrResidualNet',
      config: { depth: 8, shortcuts: true, widths: [4, 8, 8] },
    });
    const back = PlainOrResidualNet.fromConfig(net.architecture().config);
    expect([back.depth, back.shortcuts, back.blocksPerStage]).toEqual([8, true, 1]);
    expect(() => PlainOrResidualNet.fromConfig({ depth: 8, shortcuts: true, dropout: 0.1 })).toThrow(
      'PlainOrResidualNet config: unknown PlainOrResidualNet config field(s) dropout ' +
        '(known: depth, shortcuts, numClasses, widths)',
    );
  });
});

describe('PlainOrResidualNet weights on disk', () => {
  it('save as safetensors and loadWeights give back every weight', async () => {
    await expectSafetensorsRoundTrip(() =>
      new PlainOrResidualNet({ depth: 8, shortcuts: true, widths: [2, 4, 4] }).build([8, 8, 1]),
    );
  });
});

describe('PlainBlock vs Residual', () => {
  it('with the same weights, the residual block is ReLU(plain pre-activation + x): the difference is exactly the shortcut', () => {
    const x = tf.randomNormal([2, 5, 5, 4], 0, 1, 'float32', 1);
    const plain = new PlainBlock(4).build([5, 5, 4]);
    const res = new Residual(4).build([5, 5, 4]);
    const [pv, rv] = [plain.namedVariables(), res.namedVariables()];
    expect(pv.map(([n, v]) => [n, v.shape])).toEqual(rv.map(([n, v]) => [n, v.shape]));
    rv.forEach(([, v], i) => v.assign(pv[i][1]));
    // Zero the last BN's scale and shift: the plain block outputs ReLU(0) = 0, the residual block ReLU(x).
    for (const [n, v] of [...pv, ...rv]) if (n === 'bn2.gamma' || n === 'bn2.beta') v.assign(tf.zerosLike(v));
    const p = plain.apply(x, { training: true });
    const r = res.apply(x, { training: true });
    expect(tf.max(tf.abs(p)).dataSync()[0]).toBe(0);
    expect(tf.max(tf.abs(tf.sub(r, tf.relu(x)))).dataSync()[0]).toBeLessThan(1e-6);
    tf.dispose([x, p, r]);
  });

  it('a plain block keeps the shape by default', () => {
    const y = new PlainBlock(8).apply(tf.ones([1, 6, 6, 8]));
    expect(y.shape).toEqual([1, 6, 6, 8]);
    y.dispose();
  });

  it('a shape-changing plain block halves the map with its first convolution and has no projection', () => {
    const b = new PlainBlock(8, { sameShape: false }).build([6, 6, 3]);
    expect(b.namedVariables().map(([n]) => n)).not.toContain('shortcut.weight');
    const y = b.apply(tf.ones([1, 6, 6, 3]));
    expect(y.shape).toEqual([1, 3, 3, 8]);
    y.dispose();
  });
});
