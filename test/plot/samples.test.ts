/**
 * samplePredictions: each image comes with its own true label and the net's prediction for it,
 * across batch boundaries, with the right pixels, and stops at n.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/tfjs_setup';
import { samplePredictions } from '../../src/plot/samples';
import { getTextLabels } from '../../src/data/fashion_mnist';
import { Module, type ForwardOptions } from '../../src/nn/module';
import type { BatchSource } from '../../src/train/batches';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Predicts the class written in the image's first pixel (pixel value = class id / 10). */
class ReadsFirstPixel extends Module {
  protected readonly createsVariables = false;
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const id = tf.cast(tf.round(tf.mul(tf.reshape(tf.slice(x, [0, 0, 0, 0], [-1, 1, 1, 1]), [-1]), 10)), 'int32');
      return tf.oneHot(id, 10);
    });
  }
}

/** ReadsFirstPixel in inference mode; in training mode it predicts class 9 for everything. */
class ModeAware extends Module {
  protected readonly createsVariables = false;
  private readonly reader = new ReadsFirstPixel();
  forward(x: tf.Tensor, opts: ForwardOptions): tf.Tensor {
    return opts.training ? tf.oneHot(tf.fill([x.shape[0]], 9, 'int32') as tf.Tensor1D, 10) : this.reader.forward(x);
  }
}

// Image k: first pixel says class (3k + 1) % 10, every other pixel k / 100; its label is k % 10.
function source(batches: number, size: number, pulled: number[] = []): BatchSource {
  return {
    numExamples: batches * size,
    numBatches: batches,
    *epoch() {
      for (let b = 0; b < batches; b++) {
        pulled.push(b);
        const ks = Array.from({ length: size }, (_, i) => b * size + i);
        const px = ks.flatMap((k) =>
          Array.from({ length: 9 }, (_, p) => (p === 0 ? ((3 * k + 1) % 10) / 10 : k / 100)),
        );
        yield {
          x: tf.tensor4d(px, [size, 3, 3, 1]),
          y: tf.tensor1d(
            ks.map((k) => k % 10),
            'int32',
          ),
        };
      }
    },
  };
}

describe('samplePredictions', () => {
  it('pairs each image with its true label and its own prediction, across batches, n at most', () => {
    const before = tf.memory().numTensors;
    const got = samplePredictions(new ReadsFirstPixel(), source(3, 4), 10);
    expect(tf.memory().numTensors).toBe(before);
    expect(got).toHaveLength(10);
    got.forEach((g, k) => {
      expect(g.label, `image ${k}`).toBe(getTextLabels([k % 10])[0]);
      expect(g.sublabel, `image ${k}`).toBe(getTextLabels([(3 * k + 1) % 10])[0]);
      expect(g.correct).toBe(k % 10 === (3 * k + 1) % 10);
      expect([g.height, g.width]).toEqual([3, 3]);
      expect(g.pixels[4]).toBeCloseTo(k / 100, 6); // its own pixels, not a neighbour's
    });
  });

  it('uses the label names it is given', () => {
    const got = samplePredictions(new ReadsFirstPixel(), source(1, 2), 2, (ids) => ids.map((i) => `c${i}`));
    expect(got.map((g) => [g.label, g.sublabel])).toEqual([
      ['c0', 'c1'],
      ['c1', 'c4'],
    ]);
  });

  it('16 images by default, reading only the batches it needs', () => {
    const pulled: number[] = [];
    const got = samplePredictions(new ReadsFirstPixel(), source(5, 4, pulled));
    expect(got).toHaveLength(16);
    expect(pulled).toEqual([0, 1, 2, 3]);
    const few: number[] = [];
    expect(samplePredictions(new ReadsFirstPixel(), source(5, 4, few), 8)).toHaveLength(8);
    expect(few).toEqual([0, 1]);
  });

  it('runs the net in inference mode', () => {
    const got = samplePredictions(new ModeAware(), source(1, 3), 3, (ids) => ids.map(String));
    expect(got.map((g) => g.sublabel)).toEqual(['1', '4', '7']);
  });

  it('correct exactly where the prediction is the true label', () => {
    // First pixels say classes 3, 5, 3; the labels are 3, 4, 3.
    const data: BatchSource = {
      numExamples: 3,
      numBatches: 1,
      *epoch() {
        const x = tf.tensor4d([0.3, 0.5, 0.3], [3, 1, 1, 1]);
        yield { x, y: tf.tensor1d([3, 4, 3], 'int32') };
      },
    };
    const got = samplePredictions(new ReadsFirstPixel(), data, 3, (ids) => ids.map(String));
    expect(got.map((g) => [g.label, g.sublabel, g.correct])).toEqual([
      ['3', '3', true],
      ['4', '5', false],
      ['3', '3', true],
    ]);
  });
});
