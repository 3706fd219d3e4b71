import { TensorInfo } from '@tensorflow/tfjs-core';

import { addon, allocF32, f32, nativeKernel, output } from '../kernel_helpers/native_kernel';
import { activationIn, activationOutput, allocActivation } from '../kernel_helpers/activations';

export const BATCH_NORM_TRAIN_GRAD = 'ResnetBatchNormTrainGrad';

/**
 * Training-mode BN backward: [dx, dScale, dOffset]. With attrs.relu the forward fused a ReLU and inputs.y is its
 * output: dy is taken as 0 where y <= 0, inside the same two passes. dy, x and y may be bf16 activations, and
 * in the bf16 precisions dx is one (it is the output gradient of the convolution before the BN, which reads
 * it in bf16, as autocast's gradients of bf16 tensors are bf16); dScale and dOffset stay float32.
 */
export const batchNormTrainGradConfig = nativeKernel(BATCH_NORM_TRAIN_GRAD, ({ inputs, backend, attrs }) => {
  const { dy, x, scale, mean, variance, y } = inputs;
  const eps = (attrs?.varianceEpsilon as number | undefined) ?? 1e-5;
  const relu = attrs?.relu === true;
  const yv = relu && y ? activationIn(backend, y) : null;
  const gv = activationIn(backend, dy),
    xv = activationIn(backend, x),
    sv = f32(backend, scale);
  if (relu && (!yv || yv.length !== xv?.length)) return null;
  const mv = f32(backend, mean),
    vv = f32(backend, variance);
  const c = x.shape[x.shape.length - 1];
  if (
    !gv ||
    !xv ||
    !sv ||
    !mv ||
    !vv ||
    x.shape.length < 2 ||
    gv.length !== xv.length ||
    xv.length === 0 ||
    sv.length !== c ||
    mv.length !== c ||
    vv.length !== c
  )
    return null;
  const dx = allocActivation(backend, xv.length),
    dScale = allocF32(c),
    dOffset = allocF32(c);
  addon().batchNormTrainGrad(gv, xv, sv, mv, vv, dx, dScale, dOffset, c, eps, yv);
  return [
    activationOutput(backend, [...x.shape], dx),
    output(backend, [c], dScale),
    output(backend, [c], dOffset),
  ] as TensorInfo[];
});
