/**
 * End to end: loss and the gradient of every trainable variable of a small ResNet (conv stem, max pool,
 * residual blocks with BN and 1x1 shortcuts, average pool, dense) on 'onednn' vs the JS 'cpu' back end,
 * same weights, same batch. Tolerance per variable: max |diff| < 1e-3 * max |grad| + 5e-5 (float differences
 * compound through ~20 layers and batch statistics; the absolute term covers gradients that are exactly 0
 * in theory, such as conv biases right before batch norm, where both back ends return rounding noise ~1e-5).
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import { ResNet } from '../../src/models/resnet';
import { softmaxCrossEntropy } from '../../src/train/metrics';
import { callStats } from '../../src/backend/onednn/kernel_helpers/native_kernel';
import { addonAvailable, assertNativeSince, callsSince, rand, skipReason, statsSnapshot } from './_helpers';

/** Native kernels the small ResNet's loss and gradients must run, none falling back to JS. */
const NETWORK_KERNELS = [
  'FusedConv2D',
  'Conv2DBackpropInput',
  'Conv2DBackpropFilter',
  'ResnetBatchNormTrain',
  'ResnetBatchNormTrainGrad',
  'ResnetAddRelu',
  'ResnetReluGrad',
  'MaxPool',
  'MaxPoolGrad',
  '_FusedMatMul',
  'BatchMatMul',
  'Add',
  'Sum',
  'Exp',
  'Log',
  'Neg',
  'RealDiv',
];
/** Native too, but the loss's [N, 10] op [N, 1] (a broadcast the native kernels do not handle) runs in JS. */
const PARTLY_NATIVE = ['Multiply', 'Sub'];

describe.skipIf(!addonAvailable)(`small ResNet gradients, onednn vs cpu ${skipReason}`, () => {
  it('loss and all variable gradients agree', async () => {
    await tf.setBackend('cpu');
    const net = new ResNet({ widths: [8, 16, 16, 24], depths: [1, 1, 1, 1], headPool: 'global' });
    net.build([33, 33, 1]);
    const x = tf.tensor4d(rand(3 * 33 * 33, 11), [3, 33, 33, 1]);
    const y = tf.tensor1d([0, 3, 7]);
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const { value, grads } = tf.variableGrads(
        () => softmaxCrossEntropy(net.apply(x, { training: true }), y as tf.Tensor1D),
        net.trainableVariables(),
      );
      const out = { loss: value.dataSync()[0], grads: new Map<string, Float32Array>() };
      for (const [name, g] of Object.entries(grads)) out.grads.set(name, g.dataSync() as Float32Array);
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    };
    const ref = await run('cpu');
    const before = statsSnapshot();
    const got = await run('onednn');
    if (process.env.SHOW_ERR) for (const k of callStats.keys()) console.log(k, callsSince(before, k));
    assertNativeSince(before, NETWORK_KERNELS);
    for (const k of PARTLY_NATIVE) expect(callsSince(before, k).native, k).toBeGreaterThan(0);
    expect(Math.abs(got.loss - ref.loss) / Math.abs(ref.loss)).toBeLessThan(1e-4);
    expect(got.grads.size).toBe(ref.grads.size);
    expect(ref.grads.size).toBeGreaterThan(20);
    for (const [name, g] of ref.grads) {
      // conv biases feeding a batch norm have a zero true gradient: both sides are rounding noise there,
      // hence the absolute term
      const a = got.grads.get(name)!;
      let maxDiff = 0,
        maxRef = 0;
      g.forEach((v, k) => {
        maxDiff = Math.max(maxDiff, Math.abs(v - a[k]));
        maxRef = Math.max(maxRef, Math.abs(v));
      });
      if (process.env.SHOW_ERR)
        console.log(name, g.length, maxRef.toExponential(2), (maxDiff / maxRef).toExponential(2));
      expect(maxDiff, `variable ${name} (${g.length} values, max |grad| ${maxRef})`).toBeLessThan(1e-3 * maxRef + 5e-5);
    }
    await tf.setBackend('cpu');
    tf.dispose([x, y]);
    net.dispose();
  });
});
