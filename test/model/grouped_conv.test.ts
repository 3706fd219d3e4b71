/**
 * Grouped convolution on tfjs's 'cpu' back end (the op's JS kernels) against the split/concat
 * reference (one tfjs conv2d per group): values and gradients in x, filter and bias; and the errors.
 * Tolerance 1e-5 relative to the output's scale (the same products summed in another order).
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import '../../src/tfjs_setup';
import {
  GROUPED_CONV2D,
  GROUPED_CONV2D_BACKPROP_FILTER,
  GROUPED_CONV2D_BACKPROP_INPUT,
  groupedConv2d,
  groupedConv2dBySplit,
} from '../../src/ops/grouped_conv2d';
import { GROUPED_CASES, relErr, valueAndGrads } from '../helpers/grouped_conv_cases';
import { useBackendNow } from '../helpers/backend';

useBackendNow('cpu');

describe('grouped convolution, JS kernels vs split/concat', () => {
  it.each(GROUPED_CASES)('x %j filter %j groups %i stride %i pad %j bias %s', (...c) => {
    const ref = valueAndGrads(groupedConv2dBySplit, c);
    const got = valueAndGrads(groupedConv2d, c);
    expect(got.length).toBe(c[5] ? 4 : 3);
    got.forEach((g, i) => {
      expect(g.length, `output ${i}`).toBe(ref[i].length);
      expect(relErr(g, ref[i]), `output ${i}`).toBeLessThan(1e-5);
    });
  });

  it('runs its own kernels on the cpu back end (not the split/concat composition)', () => {
    const seen = new Set<string>();
    const names = [GROUPED_CONV2D, GROUPED_CONV2D_BACKPROP_INPUT, GROUPED_CONV2D_BACKPROP_FILTER];
    return tf
      .profile(() => {
        valueAndGrads(groupedConv2d, GROUPED_CASES[0]);
      })
      .then((info) => {
        info.kernels.forEach((k) => seen.add(k.name));
        for (const n of names) expect(seen.has(n), n).toBe(true);
        expect(seen.has('Conv2D')).toBe(false);
        expect(seen.has('ConcatV2') || seen.has('Concat')).toBe(false);
      });
  });

  it('a channel of group g depends only on group g of the input', () => {
    const x = tf.randomUniform([1, 4, 4, 4], -1, 1, 'float32', 5) as tf.Tensor4D;
    const w = tf.randomUniform([3, 3, 2, 4], -1, 1, 'float32', 6) as tf.Tensor4D;
    const y1 = groupedConv2d(x, w, { groups: 2, pad: 'same' });
    // change only the second group's input channels (2 and 3): outputs 0 and 1 stay, 2 and 3 move
    const x2 = tf.concat([tf.slice(x, [0, 0, 0, 0], [1, 4, 4, 2]), tf.neg(tf.slice(x, [0, 0, 0, 2], [1, 4, 4, 2]))], 3);
    const y2 = groupedConv2d(x2 as tf.Tensor4D, w, { groups: 2, pad: 'same' });
    const d = tf.sum(tf.abs(tf.sub(y1, y2)), [0, 1, 2]).dataSync();
    expect(d[0]).toBe(0);
    expect(d[1]).toBe(0);
    expect(d[2]).toBeGreaterThan(0.1);
    expect(d[3]).toBeGreaterThan(0.1);
  });

  it('names the mismatch when channels do not split into the groups', () => {
    const x = tf.zeros([1, 4, 4, 6]) as tf.Tensor4D;
    expect(() => groupedConv2d(x, tf.zeros([3, 3, 2, 6]) as tf.Tensor4D, { groups: 2 })).toThrow(
      /x has 6 channels, the filter expects 2 per group x 2 groups/,
    );
    expect(() => groupedConv2d(x, tf.zeros([3, 3, 2, 5]) as tf.Tensor4D, { groups: 3 })).toThrow(
      /5 output channels do not split into 3 groups/,
    );
    expect(() => groupedConv2d(x, tf.zeros([3, 3, 2, 6]) as tf.Tensor4D, { groups: 0 })).toThrow(
      /groups must be a positive integer/,
    );
  });

  it("without strides and pad: stride 1, 'valid' padding, in both implementations", () => {
    const x = tf.randomUniform([1, 5, 5, 4], -1, 1, 'float32', 7) as tf.Tensor4D;
    const w = tf.randomUniform([3, 3, 2, 4], -1, 1, 'float32', 8) as tf.Tensor4D;
    const explicit = groupedConv2dBySplit(x, w, { groups: 2, strides: 1, pad: 'valid' });
    expect(explicit.shape).toEqual([1, 3, 3, 4]);
    for (const f of [groupedConv2d, groupedConv2dBySplit]) {
      const y = f(x, w, { groups: 2 });
      expect(y.shape).toEqual([1, 3, 3, 4]);
      expect(relErr(y.dataSync(), explicit.dataSync())).toBeLessThan(1e-5);
    }
  });

  it('names each other problem with both shapes and the groups, in both implementations', () => {
    const x = tf.zeros([1, 4, 4, 6]) as tf.Tensor4D;
    const w = tf.zeros([3, 3, 2, 6]) as tf.Tensor4D;
    for (const f of [groupedConv2d, groupedConv2dBySplit]) {
      expect(() => f(tf.zeros([4, 4, 6]) as unknown as tf.Tensor4D, w, { groups: 3 })).toThrow(
        'groupedConv2d: x must be NHWC (rank 4) (x [4,4,6], filter [3,3,2,6], groups 3)',
      );
      // (a rank-3 filter has no fourth dimension to print)
      expect(() => f(x, tf.zeros([3, 2, 6]) as unknown as tf.Tensor4D, { groups: 3 })).toThrow(
        'the filter must be [kh, kw, inChannels / groups, outChannels] (x [1,4,4,6], filter [3,2,6,null], groups 3)',
      );
      expect(() => f(x, w, { groups: 1.5 })).toThrow(/groups must be a positive integer .*groups 1\.5\)/);
      expect(() => f(x, w, { groups: -3 })).toThrow(/groups must be a positive integer .*groups -3\)/);
      expect(() => f(x, w, { groups: 2 })).toThrow(
        'groupedConv2d: x has 6 channels, the filter expects 2 per group x 2 groups (x [1,4,4,6], filter [3,3,2,6], groups 2)',
      );
    }
    tf.dispose([x, w]);
  });

  it("groups 1 is tfjs's fused conv2d (no grouped kernel runs), with the same values as the reference", async () => {
    const c = GROUPED_CASES.find((k) => k[2] === 1)!;
    let got: Float32Array[] = [];
    const info = await tf.profile(() => {
      got = valueAndGrads(groupedConv2d, c);
    });
    const names = new Set(info.kernels.map((k) => k.name));
    expect(names.has('FusedConv2D')).toBe(true);
    expect(names.has(GROUPED_CONV2D)).toBe(false);
    const ref = valueAndGrads(groupedConv2dBySplit, c);
    got.forEach((g, i) => expect(relErr(g, ref[i]), `output ${i}`).toBeLessThan(1e-5));
  });
});
