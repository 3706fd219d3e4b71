/**
 * The module system and layers by value (not only by shape): convolution padding/stride/bias,
 * batch norm in both modes and its running averages, dense, pooling, initialisers, the module
 * tree, and the ResNet configurations and presets.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/tfjs_setup';
import { AvgPool2d, BatchNorm, Conv2d, Dense, GlobalAvgPool2d, MaxPool2d, ReLU } from '../../src/nn/layers';
import { Module, Sequential } from '../../src/nn/module';
import { SeedSequence, fans, nextInitSeed, seedInitializers, xavierUniform } from '../../src/nn/init';
import { ResNet, SEED_RESNET, resnetPreset } from '../../src/models/resnet';
import { Bottleneck, PreActResidual, Residual, makeBlock } from '../../src/models/residual';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const arr = (t: tf.Tensor) => Array.from(t.dataSync());
function close(a: tf.Tensor | number[], b: tf.Tensor | number[], tol = 1e-5): void {
  const x = Array.isArray(a) ? a : arr(a),
    y = Array.isArray(b) ? b : arr(b);
  expect(x.length).toBe(y.length);
  x.forEach((v, i) => expect(Math.abs(v - y[i]), `element ${i}: ${v} vs ${y[i]}`).toBeLessThan(tol));
}
const setVar = (m: Module, name: string, t: tf.Tensor) => new Map(m.namedVariables()).get(name)!.assign(t);

describe('init', () => {
  it('fans of conv filters and dense kernels; other ranks refused', () => {
    expect(fans([3, 5, 4, 8])).toEqual({ fanIn: 60, fanOut: 120 });
    expect(fans([7, 9])).toEqual({ fanIn: 7, fanOut: 9 });
    expect(() => fans([2, 3, 4])).toThrow('fans: unsupported weight shape [2,3,4]');
  });

  it('xavierUniform stays within sqrt(6 / (fanIn + fanOut)) and fills the range', () => {
    const w = arr(xavierUniform([3, 3, 20, 30], 5));
    const limit = Math.sqrt(6 / (180 + 270));
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(limit);
    expect(Math.max(...w)).toBeGreaterThan(0.95 * limit);
    expect(Math.min(...w)).toBeLessThan(-0.95 * limit);
    expect(arr(xavierUniform([4, 6], 5))).toEqual(arr(xavierUniform([4, 6], 5)));
  });

  it('SeedSequence is deterministic and its values differ; seedInitializers(undefined) unseeds', () => {
    const a = new SeedSequence(42),
      b = new SeedSequence(42);
    const xs = [a.take(), a.take(), a.take()];
    expect([b.take(), b.take(), b.take()]).toEqual(xs);
    expect(new Set(xs).size).toBe(3);
    expect(xs.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)).toBe(true);
    // The mixing step itself (pins the constants).
    const s = 42;
    expect(xs[0]).toBe((Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0);
    expect(new SeedSequence(-1).take()).toBe(new SeedSequence(2 ** 32 - 1).take());
    seedInitializers(3);
    const first = nextInitSeed();
    expect(first).toBe(new SeedSequence(3).take());
    seedInitializers(undefined);
    expect(nextInitSeed()).toBeUndefined();
  });
});

describe('Conv2d', () => {
  const x = tf.tensor4d(
    Array.from({ length: 2 * 5 * 5 * 2 }, (_, i) => Math.sin(i)),
    [2, 5, 5, 2],
  );
  const filter = tf.tensor4d(
    Array.from({ length: 3 * 3 * 2 * 3 }, (_, i) => Math.cos(i) / 3),
    [3, 3, 2, 3],
  );
  const bias = tf.tensor1d([0.5, -0.25, 1]);

  it('numeric padding pads symmetrically; strides and bias apply', () => {
    const c = new Conv2d(3, { kernelSize: 3, padding: 1, strides: 2 });
    c.apply(x);
    setVar(c, 'weight', filter);
    setVar(c, 'bias', bias);
    const y = c.apply(x);
    const expected = tf.add(
      tf.conv2d(x, filter, 2, [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ]),
      bias,
    );
    expect(y.shape).toEqual([2, 3, 3, 3]);
    close(y, expected);
  });

  it("default padding is 'valid', stride 1; 'same' is passed through; bias is optional", () => {
    const c = new Conv2d(3, { kernelSize: 3 });
    expect([c.strides, c.padding, c.useBias]).toEqual([1, 0, true]);
    c.apply(x);
    setVar(c, 'weight', filter);
    close(c.apply(x), tf.conv2d(x, filter, 1, 'valid'));
    const same = new Conv2d(3, { kernelSize: 3, padding: 'same', useBias: false });
    same.apply(x);
    expect(same.namedVariables().map(([n]) => n)).toEqual(['weight']);
    setVar(same, 'weight', filter);
    close(same.apply(x), tf.conv2d(x, filter, 1, 'same'));
  });

  it('creates its weight once with Xavier limits and refuses other input widths or ranks', () => {
    const c = new Conv2d(4, { kernelSize: 3 });
    c.apply(x);
    const w = new Map(c.namedVariables()).get('weight')!;
    expect(w.shape).toEqual([3, 3, 2, 4]);
    expect(Math.max(...arr(w).map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / (18 + 36)));
    expect(arr(new Map(c.namedVariables()).get('bias')!)).toEqual([0, 0, 0, 0]);
    c.apply(x);
    expect(c.namedVariables()).toHaveLength(2);
    expect(() => c.apply(tf.zeros([1, 5, 5, 3]))).toThrow('Conv2d built for 2 input channels got input [1,5,5,3]');
    expect(() => c.apply(tf.zeros([5, 5, 2]))).toThrow('Conv2d expects NHWC input, got shape [5,5,2]');
  });
});

describe('BatchNorm', () => {
  const x = tf.tensor4d(
    Array.from({ length: 3 * 2 * 2 * 2 }, (_, i) => (i % 5) - 1.5 + i / 7),
    [3, 2, 2, 2],
  );
  const gamma = tf.tensor1d([2, 0.5]),
    beta = tf.tensor1d([0.1, -0.3]);

  it('training mode normalises with batch statistics and updates the running averages (momentum 0.9)', () => {
    const bn = new BatchNorm();
    expect([bn.momentum, bn.epsilon]).toEqual([0.9, 1e-5]);
    bn.apply(x);
    setVar(bn, 'gamma', gamma);
    setVar(bn, 'beta', beta);
    const y = bn.apply(x, { training: true });
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    close(y, tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma), beta), 1e-4);
    const v = new Map(bn.namedVariables());
    close(v.get('running_mean')!, tf.mul(mean, 0.1));
    close(v.get('running_var')!, tf.add(tf.mul(variance, 0.1), 0.9), 1e-5);
    expect(v.get('gamma')!.trainable && v.get('beta')!.trainable).toBe(true);
    expect(v.get('running_mean')!.trainable || v.get('running_var')!.trainable).toBe(false);
  });

  it('inference mode uses the running averages; options set momentum and epsilon', () => {
    const bn = new BatchNorm({ momentum: 0.5, epsilon: 0.01 });
    bn.apply(x);
    setVar(bn, 'gamma', gamma);
    setVar(bn, 'beta', beta);
    setVar(bn, 'running_mean', tf.tensor1d([1, -1]));
    setVar(bn, 'running_var', tf.tensor1d([4, 0.25]));
    close(
      bn.apply(x),
      tf.add(tf.mul(tf.div(tf.sub(x, [1, -1]), tf.sqrt(tf.add(tf.tensor1d([4, 0.25]), 0.01))), gamma), beta),
      1e-4,
    );
    bn.apply(x, { training: true });
    const { mean } = tf.moments(x, [0, 1, 2]);
    close(
      new Map(bn.namedVariables()).get('running_mean')!,
      tf.add(tf.mul(tf.tensor1d([1, -1]), 0.5), tf.mul(mean, 0.5)),
    );
  });

  it('starts as mean 0, variance 1, gamma 1, beta 0', () => {
    const bn = new BatchNorm();
    bn.apply(x);
    expect(bn.namedVariables().map(([n, v]) => [n, arr(v)])).toEqual([
      ['gamma', [1, 1]],
      ['beta', [0, 0]],
      ['running_mean', [0, 0]],
      ['running_var', [1, 1]],
    ]);
  });
});

describe('Dense, pooling, ReLU', () => {
  it('Dense flattens, multiplies and adds its bias; without bias only the weight', () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2, 1]);
    const d = new Dense(2);
    d.apply(x);
    const w = tf.tensor2d([1, 0, 0, 1, 1, 1, -1, 2], [4, 2]);
    setVar(d, 'weight', w);
    setVar(d, 'bias', tf.tensor1d([10, 20]));
    close(d.apply(x), [1 + 3 - 4 + 10, 2 + 3 + 8 + 20, 5 + 7 - 8 + 10, 6 + 7 + 16 + 20]);
    const before = tf.memory().numTensors;
    tf.dispose(d.apply(tf.tensor2d([1, 2, 3, 4], [1, 4])));
    expect(tf.memory().numTensors).toBe(before + 1); // only the input made here
    const nb = new Dense(3, false);
    nb.apply(x);
    expect(nb.namedVariables().map(([n, v]) => [n, v.shape])).toEqual([['weight', [4, 3]]]);
  });

  it('max and average pooling: window, stride, padding', () => {
    const x = tf.tensor4d(
      Array.from({ length: 16 }, (_, i) => i),
      [1, 4, 4, 1],
    );
    expect(arr(new MaxPool2d(2).apply(x))).toEqual([5, 7, 13, 15]);
    expect(arr(new AvgPool2d(2).apply(x))).toEqual([2.5, 4.5, 10.5, 12.5]);
    expect(arr(new MaxPool2d(3, 1).apply(x))).toEqual([10, 11, 14, 15]);
    expect(new MaxPool2d(3, 2, 'same').apply(x).shape).toEqual([1, 2, 2, 1]);
    expect(new AvgPool2d(3, 1, 'same').apply(x).shape).toEqual([1, 4, 4, 1]);
    expect(arr(new AvgPool2d(3, 1).apply(x))).toEqual([5, 6, 9, 10]);
    const g = new GlobalAvgPool2d().apply(x);
    expect(g.shape).toEqual([1, 1, 1, 1]);
    expect(arr(g)).toEqual([7.5]);
    expect(arr(new ReLU().apply(tf.tensor1d([-1, 0, 2])))).toEqual([0, 0, 2]);
  });
});

class Leaf extends Module {
  forward(x: tf.Tensor): tf.Tensor {
    const a = this.variable('a', () => tf.ones([2]));
    this.variable('stat', () => tf.zeros([3]), false);
    return tf.mul(x, a);
  }
}
class Tree extends Module {
  constructor() {
    super();
    this.addModule('left', new Leaf());
    this.addModule('right', new Sequential(new Leaf(), new Leaf()));
  }
  forward(x: tf.Tensor): tf.Tensor {
    this.variable('own', () => tf.ones([1]));
    return tf.tidy(() => this.children().reduce((y, [, c]) => c.forward(y, {}), x));
  }
  dup(): void {
    this.addModule('left', new Leaf());
  }
}

describe('Module', () => {
  it('names variables by path, own first; trainable ones and parameter counts', () => {
    const t = new Tree().build([2]);
    expect(t.namedVariables().map(([n]) => n)).toEqual([
      'own',
      'left.a',
      'left.stat',
      'right.0.a',
      'right.0.stat',
      'right.1.a',
      'right.1.stat',
    ]);
    expect(t.namedVariables('m.')[0][0]).toBe('m.own');
    expect(t.trainableVariables()).toHaveLength(4);
    expect(t.numParameters()).toBe(1 + 3 * 2);
    expect(t.children().map(([n]) => n)).toEqual(['left', 'right']);
  });

  it('build runs one zero batch in inference mode and keeps nothing else', () => {
    const seen: unknown[] = [];
    class Probe extends Module {
      forward(x: tf.Tensor, opts: { training?: boolean }): tf.Tensor {
        seen.push([x.shape, opts.training, arr(x).every((v) => v === 0)]);
        return x;
      }
    }
    const before = tf.memory().numTensors;
    const p = new Probe();
    expect(p.build([3, 2])).toBe(p);
    expect(seen).toEqual([[[1, 3, 2], false, true]]);
    expect(tf.memory().numTensors).toBe(before);
    p.apply(tf.zeros([1]));
    expect(seen[1]).toEqual([[1], undefined, true]);
  });

  it('refuses duplicate child names; dispose frees every variable', () => {
    const t = new Tree();
    expect(() => t.dup()).toThrow("duplicate child module name 'left'");
    t.build([2]);
    const before = tf.memory().numTensors;
    t.dispose();
    expect(tf.memory().numTensors).toBe(before - 7);
  });

  it('Sequential runs its layers in order, counts and indexes them, frees intermediates', () => {
    class Add extends Module {
      constructor(readonly k: number) {
        super();
      }
      forward(x: tf.Tensor): tf.Tensor {
        return tf.tidy(() => tf.mul(tf.add(x, this.k), 2));
      }
    }
    const s = new Sequential(new Add(1)).add(new Add(2), new Add(3));
    expect(s.length).toBe(3);
    expect((s.at(1) as Add).k).toBe(2);
    expect(s.children().map(([n]) => n)).toEqual(['0', '1', '2']);
    const x = tf.tensor1d([0]);
    const before = tf.memory().numTensors;
    const y = s.apply(x);
    expect(arr(y)).toEqual([(((0 + 1) * 2 + 2) * 2 + 3) * 2]);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(x.isDisposed).toBe(false);
    expect(new Sequential().apply(x)).toBe(x);
  });
});

describe('ResNet configurations', () => {
  const small = {
    widths: [4, 4, 8, 8] as [number, number, number, number],
    depths: [1, 2, 1, 1] as [number, number, number, number],
  };

  it('defaults are the seed net; a number argument sets the classes', () => {
    expect(new ResNet().config).toEqual(SEED_RESNET);
    expect(new ResNet(5).config.numClasses).toBe(5);
    expect(new ResNet({ widths: [3, 4, 5, 6] }).config.stemWidth).toBe(3);
    expect(new ResNet({ widths: [3, 4, 5, 6], stemWidth: 9 }).config.stemWidth).toBe(9);
    expect(new ResNet(7, true).verbose).toBe(true);
    expect(new ResNet(7).verbose).toBe(false);
  });

  it('stages have depths[i] blocks; the first block of stages 3-5 halves the size', () => {
    const net = new ResNet({ ...small, headPool: 'global' });
    expect(net.blocks.map((b) => (b instanceof Sequential ? b.length : 1))).toEqual([1, 2, 2, 1, 1, 2]);
    const blocks = (i: number) => net.blocks[i] as Sequential;
    expect((blocks(1).at(1) as Residual).sameShape).toBe(true);
    expect((blocks(2).at(0) as Residual).sameShape).toBe(false);
    expect((blocks(2).at(1) as Residual).sameShape).toBe(true);
    expect((blocks(3).at(0) as Residual).sameShape).toBe(false);
    expect(net.blockShapes([2, 32, 32, 1])).toEqual([
      [2, 13, 13, 4],
      [2, 6, 6, 4],
      [2, 3, 3, 4],
      [2, 2, 2, 8],
      [2, 1, 1, 8],
      [2, 10],
    ]);
    expect(net.blocks.map((_, i) => `b${i + 1}`)).toEqual(net.children().map(([n]) => n));
  });

  it("block kinds: bottleneck and preact (with the final BN + ReLU); headPool 'avg3' vs 'global'", () => {
    const bott = new ResNet({ ...small, block: 'bottleneck', headPool: 'global' });
    expect((bott.blocks[1] as Sequential).at(1)).toBeInstanceOf(Bottleneck);
    const pre = new ResNet({ ...small, block: 'preact', headPool: 'global' });
    const head = pre.blocks[5] as Sequential;
    expect([head.at(0), head.at(1), head.at(2)].map((m) => m.constructor.name)).toEqual([
      'BatchNorm',
      'ReLU',
      'GlobalAvgPool2d',
    ]);
    expect((new ResNet({ ...small }).blocks[5] as Sequential).at(0)).toBeInstanceOf(AvgPool2d);
    expect((new ResNet({ ...small }).blocks[5] as Sequential).length).toBe(2);
    for (const net of [bott, pre]) {
      const y = net.apply(tf.randomNormal([2, 32, 32, 1], 0, 1, 'float32', 3), { training: true });
      expect(y.shape).toEqual([2, 10]);
      expect(arr(y).every(Number.isFinite)).toBe(true);
    }
  });

  it('forward keeps the input and leaks no intermediates; verbose logs through log()', () => {
    const lines: string[] = [];
    const net = new ResNet({ ...small, headPool: 'global', verbose: true, log: (l) => lines.push(l) });
    net.build([32, 32, 1]);
    lines.length = 0;
    const x = tf.zeros([1, 32, 32, 1]);
    const before = tf.memory().numTensors;
    const y = net.apply(x);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(x.isDisposed).toBe(false);
    expect(y.shape).toEqual([1, 10]);
    expect(lines).toHaveLength(6);
    net.verbose = false;
    net.apply(x);
    expect(lines).toHaveLength(6);
  });

  it('rejects each bad config field by name', () => {
    const bad = (o: object) => () => new ResNet(o);
    expect(bad({ numClasses: 1 })).toThrow(/numClasses must be an integer >= 2 \(got \{"numClasses":1/);
    expect(bad({ numClasses: 2.5 })).toThrow(/numClasses must be an integer >= 2/);
    expect(new ResNet({ numClasses: 2 }).config.numClasses).toBe(2);
    expect(bad({ widths: [4, 4, 0, 4] })).toThrow(/widths must be 4 positive integers/);
    expect(bad({ widths: [4, 4, 1.5, 4] })).toThrow(/widths must be 4 positive integers/);
    expect(new ResNet({ widths: [1, 1, 1, 1] }).config.widths).toEqual([1, 1, 1, 1]);
    expect(bad({ stemWidth: 0 })).toThrow(/stemWidth must be a positive integer/);
    expect(bad({ stemWidth: 2.5 })).toThrow(/stemWidth must be a positive integer/);
    expect(new ResNet({ stemWidth: 1 }).config.stemWidth).toBe(1);
    expect(bad({ depths: [1, 1, 1] })).toThrow(/depths must be 4 integers >= 1/);
    expect(bad({ depths: [1, 0, 1, 1] })).toThrow(/depths must be 4 integers >= 1/);
    expect(bad({ depths: [1, 1.5, 1, 1] })).toThrow(/depths must be 4 integers >= 1/);
    expect(bad({ block: 'dense' })).toThrow(/unknown block kind 'dense'/);
    expect(bad({ headPool: 'max' })).toThrow(/unknown headPool 'max'/);
  });

  it('presets', () => {
    expect(resnetPreset('seed')).toEqual(SEED_RESNET);
    expect(resnetPreset('seed')).not.toBe(SEED_RESNET);
    expect(resnetPreset('small')).toEqual({ widths: [16, 32, 64, 128] });
    expect(resnetPreset('tiny')).toEqual({ widths: [8, 16, 32, 64], depths: [1, 1, 1, 1] });
    expect(resnetPreset('resnet34')).toEqual({
      widths: [64, 128, 256, 512],
      stemWidth: 64,
      depths: [3, 4, 6, 3],
      block: 'basic',
    });
    expect(resnetPreset('resnet50')).toEqual({
      widths: [256, 512, 1024, 2048],
      stemWidth: 64,
      depths: [3, 4, 6, 3],
      block: 'bottleneck',
    });
    expect(resnetPreset('imagenet-resnet152')).toEqual({
      widths: [256, 512, 1024, 2048],
      stemWidth: 64,
      depths: [3, 8, 36, 3],
      block: 'bottleneck',
      stem: 'imagenet',
      headPool: 'global',
      numClasses: 1000,
      bottleneckStride: '1x1',
      convBias: false,
      shortcutBatchNorm: true,
    });
    // torchvision's layers: no conv bias anywhere, a BN after each projection shortcut
    const tv = new ResNet({ ...resnetPreset('imagenet-resnet18'), numClasses: 10 }).build([32, 32, 3]);
    const names = tv.namedVariables().map(([n]) => n);
    expect(names.filter((n) => /conv\d?\.bias$|shortcut(\.0)?\.bias$|^b1\.0\.bias$/.test(n))).toEqual([]);
    expect(names.filter((n) => /shortcut\.1\.gamma$/.test(n))).toEqual([
      'b3.0.shortcut.1.gamma',
      'b4.0.shortcut.1.gamma',
      'b5.0.shortcut.1.gamma',
    ]);
    tv.dispose();
    const seed = new ResNet({ widths: [4, 8, 8, 8], depths: [1, 1, 1, 1] }).build([32, 32, 1]);
    expect(seed.namedVariables().map(([n]) => n)).toEqual(
      expect.arrayContaining(['b1.bias', 'b3.0.conv1.bias', 'b3.0.shortcut.bias']),
    );
    seed.dispose();
    expect(() => resnetPreset('vgg')).toThrow(
      /^unknown model preset 'vgg' \(seed, small, tiny, resnet18, imagenet-resnet18, resnet34, .*imagenet-resnet152, resnext50_32x4d, imagenet-resnext50_32x4d\)$/,
    );
  });
});

describe('blocks', () => {
  it('makeBlock builds each kind with the shape flag; unknown kinds are refused', () => {
    expect(makeBlock('basic', 4, { sameShape: false })).toBeInstanceOf(Residual);
    expect((makeBlock('basic', 4, { sameShape: false }) as Residual).sameShape).toBe(false);
    expect((makeBlock('bottleneck', 8, { sameShape: true }) as Bottleneck).sameShape).toBe(true);
    expect((makeBlock('preact', 4, { sameShape: false }) as PreActResidual).sameShape).toBe(false);
    // Options only a bottleneck uses are refused on the other kinds, by name.
    expect(() => makeBlock('basic', 4, { groups: 2 })).toThrow(
      /makeBlock\('basic'\): groups apply to bottleneck blocks only/,
    );
    expect(() => makeBlock('preact', 4, { bottleneckStride: '1x1' })).toThrow(/bottleneckStride apply to bottleneck/);
    expect([Residual.expansion, Bottleneck.expansion, PreActResidual.expansion]).toEqual([1, 4, 1]);
    expect(() => makeBlock('dense' as never, 4, { sameShape: true })).toThrow(
      "unknown residual block kind 'dense' (basic, bottleneck, preact)",
    );
  });

  it("ResNeXt block: a Bottleneck with groups has torchvision's inner width and a grouped 3x3 conv", () => {
    const block = new Bottleneck(256, { groups: 32, widthPerGroup: 4, inChannels: 64 });
    const y = block.apply(tf.randomNormal([2, 8, 8, 64]), { training: true });
    expect(y.shape).toEqual([2, 8, 8, 256]);
    const w = Object.fromEntries(block.namedVariables().map(([n, v]) => [n, v.shape]));
    expect(w['conv1.weight']).toEqual([1, 1, 64, 128]); // floor(256 / 4 * 4 / 64) * 32 = 128
    expect(w['conv2.weight']).toEqual([3, 3, 4, 128]); // 32 groups of 4 input channels
    expect(w['conv3.weight']).toEqual([1, 1, 128, 256]);
    // the grouped conv's multiply-adds are a 32nd of a dense 3x3 conv's at the same widths
    const dense = new Bottleneck(256, { expansion: 2, inChannels: 64 });
    dense.apply(tf.zeros([1, 8, 8, 64]));
    block.apply(tf.zeros([1, 8, 8, 64]));
    const conv2 = (m: Module) =>
      m
        .children()
        .find(([n]) => n === 'conv2')![1]
        .multiplyAdds();
    expect(conv2(dense)).toBe(8 * 8 * 128 * 9 * 128);
    expect(conv2(block)).toBe((8 * 8 * 128 * 9 * 128) / 32);
    expect(() => new Bottleneck(64, { groups: 32, widthPerGroup: 1 })).toThrow(/32 groups leave no channels per group/);
    expect(() => new Conv2d(10, { kernelSize: 3, groups: 4 })).toThrow(
      /groups must be a positive integer dividing the 10/,
    );
    expect(() => new ResNet({ groups: 32 })).toThrow(/groups applies to bottleneck blocks only/);
    expect(() => new ResNet({ block: 'bottleneck', widthPerGroup: 0 })).toThrow(
      /widthPerGroup must be a positive integer/,
    );
  });

  it('boolean and object options; Bottleneck inner width is channels / expansion (at least 1)', () => {
    expect(new Residual(4, false).sameShape).toBe(false);
    expect(new Residual(4).sameShape).toBe(true);
    expect(new PreActResidual(4, false).sameShape).toBe(false);
    expect(new PreActResidual(4, {}).sameShape).toBe(true);
    const shapes = (m: Module) =>
      m
        .namedVariables()
        .filter(([n]) => n.endsWith('weight'))
        .map(([n, v]) => [n, v.shape]);
    const b = new Bottleneck(16).build([4, 4, 16]);
    expect(shapes(b)).toEqual([
      ['conv1.weight', [1, 1, 16, 4]],
      ['conv2.weight', [3, 3, 4, 4]],
      ['conv3.weight', [1, 1, 4, 16]],
    ]);
    const b2 = new Bottleneck(16, { expansion: 2 }).build([4, 4, 16]);
    expect(shapes(b2)[1]).toEqual(['conv2.weight', [3, 3, 8, 8]]);
    const b3 = new Bottleneck(2, { expansion: 4 }).build([4, 4, 2]);
    expect(shapes(b3)[1]).toEqual(['conv2.weight', [3, 3, 1, 1]]);
    const r = new Residual(8, false).build([6, 6, 3]);
    expect(shapes(r)).toEqual([
      ['conv1.weight', [3, 3, 3, 8]],
      ['conv2.weight', [3, 3, 8, 8]],
      ['shortcut.weight', [1, 1, 3, 8]],
    ]);
    const p = new PreActResidual(8, false).build([6, 6, 3]);
    expect(shapes(p)).toEqual([
      ['conv1.weight', [3, 3, 3, 8]],
      ['conv2.weight', [3, 3, 8, 8]],
      ['shortcut.weight', [1, 1, 3, 8]],
    ]);
    // The projection is made once, in the constructor.
    const bp = new Bottleneck(16, { sameShape: false }).build([4, 4, 16]);
    const n = bp.namedVariables().length;
    bp.apply(tf.zeros([1, 4, 4, 16]));
    expect(bp.namedVariables()).toHaveLength(n);
    expect(n).toBe(new Bottleneck(16).build([4, 4, 16]).namedVariables().length + 2);
  });
});

describe('checks and paths of layers, modules and blocks', () => {
  it('Conv2d: groups must be a positive integer dividing the outputs; the input channels must split too', () => {
    for (const groups of [0, -2, 1.5, 2.5, 3])
      expect(() => new Conv2d(10, { kernelSize: 3, groups }), String(groups)).toThrow(
        `Conv2d: groups must be a positive integer dividing the 10 output channels, got ${groups}`,
      );
    expect(() => new Conv2d(8, { kernelSize: 1, groups: 2 }).apply(tf.ones([1, 4, 4, 3]))).toThrow(
      'Conv2d with 2 groups got input [1,4,4,3]: 3 channels do not split',
    );
  });

  it('a failed build says what failed, keeps the cause, and gives the batch hint only for a 4-element shape', () => {
    const net = new Sequential(new Conv2d(4, { kernelSize: 1, groups: 2 }));
    let err: Error | undefined;
    try {
      net.build([4, 4, 3]);
    } catch (e) {
      err = e as Error;
    }
    expect(err!.message).toBe(
      'Sequential.build([4,4,3]) failed: Conv2d with 2 groups got input [1,4,4,3]: 3 channels do not split.',
    );
    expect((err!.cause as Error).message).toBe('Conv2d with 2 groups got input [1,4,4,3]: 3 channels do not split');
    expect(() => net.build([1, 4, 4, 3])).toThrow(/looks like a batch's shape: .* \(e\.g\. \[4,4,3\]\)\.$/);
  });

  it('a block built with the boolean form of its options has conv biases', () => {
    const names = new Residual(4, true)
      .build([4, 4, 4])
      .namedVariables()
      .map(([n]) => n);
    expect(names).toContain('conv1.bias');
  });

  it("Bottleneck's inner width: plain for one group of 64, else groups x widthPerGroup / 64 of it", () => {
    const inner = (opts: { groups?: number; widthPerGroup?: number }) =>
      new Bottleneck(256, opts)
        .build([4, 4, 256])
        .namedVariables()
        .find(([n]) => n === 'conv2.weight')![1].shape;
    expect(inner({})).toEqual([3, 3, 64, 64]);
    expect(inner({ widthPerGroup: 4 })).toEqual([3, 3, 4, 4]); // 1x4d
    expect(inner({ groups: 2 })).toEqual([3, 3, 64, 128]); // 2x64d: 128 channels in groups of 64
  });

  it('makeBlock: the kind asked for; bottleneck options on another kind are refused by name', () => {
    expect(makeBlock('preact', 8)).toBeInstanceOf(PreActResidual);
    expect(makeBlock('basic', 8)).toBeInstanceOf(Residual);
    expect(() => makeBlock('basic', 8, { groups: 2, widthPerGroup: 4 })).toThrow(
      "makeBlock('basic'): groups, widthPerGroup apply to bottleneck blocks only",
    );
  });
});
