// A training step and an evaluation of each recipe's network, in float32 and in emulated bf16, run every
// kernel the onednn back end has a native version of natively: not one JS fallback (issue #28 item 3).
// A fallback is a native kernel refusing its inputs (a dtype, a broadcast) and tfjs's JS kernel running
// instead, thousands of times slower on big tensors; the step's profile lists them (`npm run bench --
// --profile`). Before: Sum 1 (counting correct predictions read a bool cast shared as Uint8Array), Sub 2
// and Multiply 2 (softmax cross-entropy's [N, 1] over [N, C]) per step.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';

import { ResNet } from '../../src/models/resnet';
import { recipeOptimizer, recipeStepOptions, trainingRecipe, type RecipeName } from '../../src/recipe';
import { trainStep } from '../../src/train/train';
import { countCorrect } from '../../src/train/metrics';
import { callStats } from '../../src/backend/onednn/kernel_helpers/native_kernel';
import { setConvPrecision } from '../../src/backend/onednn/kernel_helpers/conv_common';
import type { Precision } from '../../src/backend/precision';
import { addonAvailable, skipReason } from './_helpers';
import { useBackendNow } from '../helpers/backend';

const cases: [RecipeName, Precision][] = [
  ['seed', 'fp32'],
  ['fast', 'fp32'],
  ['seed', 'bf16-emulated'],
  ['fast', 'bf16-emulated'],
];

describe.skipIf(!addonAvailable)(`no JS fallback in a training step ${skipReason}`, () => {
  afterAll(() => {
    setConvPrecision('fp32');
  });

  it.each(cases)('%s recipe, %s: every native kernel runs natively', async (name, precision) => {
    await useBackendNow('onednn');
    setConvPrecision(precision);
    const r = trainingRecipe(name);
    const net = new ResNet(r.model);
    const opt = recipeOptimizer(r);
    const batch = 8;
    const x = tf.randomUniform([batch, r.resize, r.resize, 1], 0, 1, 'float32', 1);
    const y = tf.tensor1d(
      Array.from({ length: batch }, (_, i) => i % 10),
      'float32',
    );
    try {
      callStats.clear();
      trainStep(net, opt, { x, y }, recipeStepOptions(r));
      tf.tidy(() => countCorrect(net.apply(x, { training: false }), y).dataSync());
      const fallbacks = [...callStats].filter(([, s]) => s.fallback > 0).map(([k, s]) => `${k}: ${s.fallback}`);
      expect(fallbacks).toEqual([]);
      // ... and the step did reach the native kernels (a back end that never ran them has no fallbacks either)
      for (const k of ['FusedConv2D', 'Conv2DBackpropFilter', 'Sum', 'Sub', 'Multiply'])
        expect(callStats.get(k)?.native ?? 0, k).toBeGreaterThan(0);
    } finally {
      tf.dispose([x, y]);
      net.dispose();
      opt.dispose();
    }
  });
});
