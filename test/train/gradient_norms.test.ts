/**
 * gradientNorms: one norm per weight, in forward order, equal to the gradient tf computes, and
 * without side effects on the net (no update, batch-norm running averages restored).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { PlainOrResidualNet, ReLU, gradientNorms, softmaxCrossEntropy, seedInitializers } from '../../src';

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

  it('a net without weights is refused by name', () => {
    const relu = new ReLU().build([12, 12, 1]);
    expect(() => gradientNorms(relu, batch())).toThrow(/no variable named \*\.weight/);
  });
});
