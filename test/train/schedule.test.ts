import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../src/tfjs_setup';
import { constantLr, oneCycle, scheduleValues, warmupCosine } from '../../src/train/schedule';
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

  it('warmupCosine rises linearly to the peak, then decays to finalLr at the last step', () => {
    const s = warmupCosine({ peakLr: 0.2, totalSteps: 110, warmupSteps: 10, finalLr: 0.002 });
    expect(s(0)).toBeCloseTo(0.02, 12);
    expect(s(4)).toBeCloseTo(0.1, 12);
    expect(s(9)).toBeCloseTo(0.2, 12);
    expect(s(10)).toBeCloseTo(0.2, 12);
    expect(s(59.5)).toBeCloseTo((0.2 + 0.002) / 2, 12);
    expect(s(109)).toBeCloseTo(0.002, 12);
    const v = scheduleValues(s, 110);
    for (let i = 10; i < 109; i++) expect(v[i + 1]).toBeLessThan(v[i]);
  });

  it('constantLr is the seed schedule and rejects a non-positive rate', () => {
    expect(scheduleValues(constantLr(0.05), 3)).toEqual([0.05, 0.05, 0.05]);
    expect(() => constantLr(0)).toThrow(/learning rate/);
  });
});

describe('label smoothing', () => {
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
