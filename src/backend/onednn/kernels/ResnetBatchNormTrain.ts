import { TensorInfo } from '@tensorflow/tfjs-core';

import { addon, allocF32, f32, nativeKernel, output } from '../kernel_helpers/native_kernel';
import { activationIn, activationOutput, allocActivation } from '../kernel_helpers/activations';

/** Kernel name of src/ops/batch_norm_train.ts (kept literal so this back end does not import the op). */
export const BATCH_NORM_TRAIN = 'ResnetBatchNormTrain';

/**
 * Training-mode BN over all axes but the last: [y, mean, variance (biased)], one pass for the statistics and one
 * for y. attrs.relu: y = max(BN(x), 0) in the same pass. x and y may be bf16 activations (activations.ts);
 * the statistics are float32.
 */
export const batchNormTrainConfig = nativeKernel(BATCH_NORM_TRAIN, ({ inputs, backend, attrs }) => {
  const { x, scale, offset } = inputs;
  const eps = (attrs?.varianceEpsilon as number | undefined) ?? 1e-5;
  const relu = attrs?.relu === true;
  const xv = activationIn(backend, x),
    sv = f32(backend, scale),
    ov = f32(backend, offset);
  const c = x.shape[x.shape.length - 1];
  if (!xv || !sv || !ov || x.shape.length < 2 || sv.length !== c || ov.length !== c || xv.length === 0) return null;
  const y = allocActivation(backend, xv.length),
    mean = allocF32(c),
    variance = allocF32(c);
  addon().batchNormTrain(xv, sv, ov, y, mean, variance, c, eps, relu);
  return [
    activationOutput(backend, [...x.shape], y),
    output(backend, [c], mean),
    output(backend, [c], variance),
  ] as TensorInfo[];
});
