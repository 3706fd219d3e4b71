/**
 * Native grouped convolution (oneDNN grouped primitives, forward and both gradients) against the JS
 * kernels on 'cpu' (themselves checked against split/concat in test/model/grouped_conv.test.ts), with a
 * check that every native kernel ran natively. Tolerance 1e-5 relative to each output's scale.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import { loadAddon } from '../../src/backend/onednn/addon';
import type { ConvParams } from '../../src/backend/onednn/addon';
import { convParams } from '../../src/backend/onednn/kernel_helpers/conv_common';

import {
  GROUPED_CONV2D,
  GROUPED_CONV2D_BACKPROP_FILTER,
  GROUPED_CONV2D_BACKPROP_INPUT,
  groupedConv2d,
  groupedConv2dBySplit,
} from '../../src/ops/grouped_conv2d';
import { GROUPED_CASES, relErr, valueAndGrads } from '../helpers/grouped_conv_cases';
import { addonAvailable, assertNativeSince, skipReason, statsSnapshot } from './_helpers';
import { useBackendNow } from '../helpers/backend';

const NATIVE = [GROUPED_CONV2D, GROUPED_CONV2D_BACKPROP_INPUT, GROUPED_CONV2D_BACKPROP_FILTER];

describe.skipIf(!addonAvailable)(`native grouped convolution ${skipReason}`, () => {
  it.each(GROUPED_CASES.filter((c) => c[2] > 1))(
    'x %j filter %j groups %i stride %i pad %j bias %s: onednn = cpu = split/concat',
    (...c) => {
      useBackendNow('cpu');
      const js = valueAndGrads(groupedConv2d, c);
      const split = valueAndGrads(groupedConv2dBySplit, c);
      useBackendNow('onednn');
      const before = statsSnapshot();
      const got = valueAndGrads(groupedConv2d, c);
      assertNativeSince(before, NATIVE);
      expect(got.length).toBe(c[5] ? 4 : 3);
      got.forEach((g, i) => {
        expect(relErr(g, js[i]), `output ${i} vs JS kernels`).toBeLessThan(1e-5);
        expect(relErr(g, split[i]), `output ${i} vs split/concat`).toBeLessThan(1e-5);
      });
      useBackendNow('cpu');
    },
  );

  it('the addon refuses groups that do not divide the channels, naming the numbers', () => {
    const a = loadAddon().addon!;
    const p = convParams(tf.backend_util.computeConv2DInfo([1, 4, 4, 6], [3, 3, 2, 6], 1, 1, 'same'), { groups: 3 })!;
    const x = new Float32Array(96),
      w = new Float32Array(108),
      y = new Float32Array(96);
    a.conv2dForward(x, w, null, y, p); // 3 groups of 2: fine
    expect(() => a.conv2dForward(x, w, null, y, { ...p, groups: 4 })).toThrow(
      /groups \(4\) must divide inChannels \(6\) and outChannels \(6\)/,
    );
    const { groups: _, ...noGroups } = p;
    expect(() => a.conv2dForward(x, w, null, y, noGroups as ConvParams)).toThrow(/'groups' must be a number/);
  });
});
