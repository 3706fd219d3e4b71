/**
 * gradientNorms: one norm per weight, in forward order, equal to the gradient tf computes, and
 * without side effects on the net (no update, batch-norm running averages restored).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {
  Dense,
  Module,
  PlainOrResidualNet,
  ReLU,
  gradientNorms,
  softmaxCrossEntropy,
  seedInitializers,
} from '../../src';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function batch() {
  return { x: tf.randomUniform([8, 12, 12, 1], 0, 1, 'float32', 5), y: tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7]) };
}

describe('gradientNorms', () => {
  it('one entry per *.weight, input side first, each the L2 norm of the gradient tf computes', () => {
    seedInitializers(3);
    const net = new PlainOrResidualNet({ depth: 8, shortcuts: false }).build([12, 12, 1]);
    seedInitializers(undefined);
    const b = batch();
    const norms = gradientNorms(net, b);
    const ws = net.namedVariables().filter(([n, v]) => v.trainable && n.endsWith('.weight'));
    expect(norms.map((g) => g.name)).toEqual(ws.map(([n]) => n));
    expect(norms.map((g) => g.layer)).toEqual(ws.map((_, i) => i + 1));
    const { grads } = tf.variableGrads(
      () => softmaxCrossEntropy(net.apply(b.x, { training: true }), b.y),
      ws.map(([, v]) => v),
    );
    ws.forEach(([, v], i) => {
      const expected = tf.norm(grads[v.name]).dataSync()[0];
      expect(expected).toBeGreaterThan(0);
      expect(norms[i].norm).toBeCloseTo(expected, 5);
    });
    tf.dispose(grads);
    net.dispose();
  });

  it('leaves every variable as it was (weights and batch-norm running averages)', () => {
    const net = new PlainOrResidualNet({ depth: 8, shortcuts: true }).build([12, 12, 1]);
    const before = net.namedVariables().map(([n, v]) => [n, Array.from(v.dataSync())] as const);
    expect(before.some(([n]) => /moving|running/i.test(n))).toBe(true);
    gradientNorms(net, batch());
    const after = new Map(net.namedVariables().map(([n, v]) => [n, Array.from(v.dataSync())]));
    for (const [n, values] of before) expect(after.get(n), n).toEqual(values);
    net.dispose();
  });

  it("builds an unbuilt net from the batch (one example's shape) first: the norms of the same net built beforehand", () => {
    // The weights are drawn when a net is built: the same seed before each build gives the same net.
    seedInitializers(3);
    const built = new PlainOrResidualNet({ depth: 8, shortcuts: false }).build([12, 12, 1]);
    const unbuilt = new PlainOrResidualNet({ depth: 8, shortcuts: false });
    const b = batch();
    const expected = gradientNorms(built, b);
    seedInitializers(3);
    expect(gradientNorms(unbuilt, b)).toEqual(expected);
    seedInitializers(undefined);
    expect(unbuilt.inputShape).toEqual([12, 12, 1]);
    built.dispose();
    unbuilt.dispose();
  });

  it('a weight at the top level counts ("weight"); a name that only starts with "weight" does not', () => {
    const dense = new Dense(4).build([12, 12, 1]);
    expect(gradientNorms(dense, batch()).map((g) => [g.layer, g.name])).toEqual([[1, 'weight']]);
    dense.dispose();
    class Scaled extends Module {
      private readonly fc = this.addModule('fc', new Dense(8));
      forward(x: tf.Tensor): tf.Tensor {
        const scale = this.variable('weightScale', () => tf.ones([1]));
        return this.fc.apply(tf.mul(x, scale));
      }
    }
    const scaled = new Scaled().build([12, 12, 1]);
    expect(scaled.namedVariables().map(([n]) => n)).toEqual(['weightScale', 'fc.weight', 'fc.bias']);
    expect(gradientNorms(scaled, batch()).map((g) => g.name)).toEqual(['fc.weight']);
    scaled.dispose();
  });

  it('a net without weights is refused by name', () => {
    const relu = new ReLU().build([12, 12, 1]);
    expect(() => gradientNorms(relu, batch())).toThrow(/no variable named \*\.weight/);
  });
});
