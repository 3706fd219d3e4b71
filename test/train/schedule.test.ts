import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/tfjs_setup';
import { constantLr, oneCycle, scheduleValues } from '../../src/train/schedule';
import { softmaxCrossEntropy } from '../../src/train/metrics';

describe('learning-rate schedules', () => {
  it('oneCycle agrees with PyTorch 1.13 OneCycleLR(max_lr=0.4, total_steps=100, pct_start=0.25) at known steps', () => {
    // Reference values printed by torch.optim.lr_scheduler.OneCycleLR (anneal_strategy='cos').
    const torch: [number, number][] = [
      [0, 0.016000000000000014],
      [1, 0.017642586616228417],
      [10, 0.15830674334031603],
      [23, 0.3983574133837716],
      [24, 0.4],
      [25, 0.3998245667215076],
      [50, 0.29265963638714426],
      [98, 0.00017703327849240245],
      [99, 1.6e-6],
    ];
    const s = oneCycle({ maxLr: 0.4, totalSteps: 100 });
    for (const [step, lr] of torch) expect(s(step), `step ${step}`).toBeCloseTo(lr, 12);
    // Clamped outside the run (a resumed run past its end keeps the last value).
    expect(s(150)).toBeCloseTo(1.6e-6, 12);
    expect(() => oneCycle({ maxLr: 0.4, totalSteps: 1 })).toThrow(/totalSteps/);
    expect(() => oneCycle({ maxLr: 0.4, totalSteps: 100, pctStart: 1 })).toThrow(/pctStart/);
  });

  // Each argument check on its own (mutation testing found none of them exercised).
  it('oneCycle rejects each bad argument, naming it, and accepts the edge of each range', () => {
    expect(() => oneCycle({ maxLr: 0, totalSteps: 10 })).toThrow(/oneCycle: maxLr must be > 0, got 0/);
    expect(() => oneCycle({ maxLr: -0.1, totalSteps: 10 })).toThrow(/maxLr must be > 0/);
    expect(() => oneCycle({ maxLr: 0.1, totalSteps: 1 })).toThrow(/totalSteps must be an integer >= 2, got 1/);
    expect(() => oneCycle({ maxLr: 0.1, totalSteps: 10.5 })).toThrow(/totalSteps must be an integer >= 2/);
    expect(() => oneCycle({ maxLr: 0.1, totalSteps: 10, pctStart: 0 })).toThrow(/pctStart must be in \(0, 1\), got 0/);
    expect(() => oneCycle({ maxLr: 0.1, totalSteps: 10, pctStart: 1 })).toThrow(/pctStart must be in \(0, 1\), got 1/);
    // in (0, 1) but no step before the peak (pctStart < 1 always leaves steps after it)
    expect(() => oneCycle({ maxLr: 0.1, totalSteps: 10, pctStart: 0.1 })).toThrow(
      /leaves no rise or no fall in 10 steps/,
    );
    // the smallest runs that have both
    expect(scheduleValues(oneCycle({ maxLr: 0.1, totalSteps: 10, pctStart: 0.15 }), 10)[0]).toBeCloseTo(0.004, 12);
    expect(oneCycle({ maxLr: 0.1, totalSteps: 10, pctStart: 0.85 })(9)).toBeCloseTo(4e-7, 12);
    // two steps are enough when the peak falls between them: start value, then the final one
    const two = scheduleValues(oneCycle({ maxLr: 0.1, totalSteps: 2, pctStart: 0.75 }), 2);
    expect(two[0]).toBeCloseTo(0.004, 12);
    expect(two[1]).toBeCloseTo(4e-7, 12);
  });

  it('constantLr is the seed schedule and rejects a non-positive rate', () => {
    expect(scheduleValues(constantLr(0.05), 3)).toEqual([0.05, 0.05, 0.05]);
    expect(() => constantLr(0)).toThrow(/learning rate/);
  });
});

describe('label smoothing', () => {
  it('rejects a smoothing outside [0, 1), naming the value', () => {
    const logits = tf.zeros([1, 3]);
    const labels = tf.tensor1d([0]);
    expect(() => softmaxCrossEntropy(logits, labels, 1)).toThrow(/labelSmoothing must be in \[0, 1\), got 1/);
    expect(() => softmaxCrossEntropy(logits, labels, -0.1)).toThrow(/got -0.1/);
    expect(softmaxCrossEntropy(logits, labels, 0).dataSync()[0]).toBeCloseTo(Math.log(3), 6);
    tf.dispose([logits, labels]);
  });

  it('matches the hand-computed smoothed cross-entropy', () => {
    const logits = tf.tensor2d([
      [2, 0, -1],
      [0.5, 0.5, 3],
    ]);
    const labels = tf.tensor1d([0, 2], 'int32');
    const e = 0.1,
      k = 3;
    const rows = [
      [2, 0, -1],
      [0.5, 0.5, 3],
    ];
    const expected = rows.map((r, i) => {
      const lse = Math.log(r.reduce((a, z) => a + Math.exp(z), 0));
      const target = r.map((_, j) => (j === [0, 2][i] ? 1 - e : 0) + e / k);
      return -target.reduce((a, t, j) => a + t * (r[j] - lse), 0);
    });
    const mean = (expected[0] + expected[1]) / 2;
    expect(softmaxCrossEntropy(logits, labels, e).dataSync()[0]).toBeCloseTo(mean, 5);
    // Without smoothing: the plain cross-entropy, which is smaller here (the logits are confident and right).
    expect(softmaxCrossEntropy(logits, labels).dataSync()[0]).toBeLessThan(mean);
    expect(() => softmaxCrossEntropy(logits, labels, 1)).toThrow(/labelSmoothing/);
  });
});
