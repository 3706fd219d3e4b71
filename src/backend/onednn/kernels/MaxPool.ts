import { backend_util, MaxPool, MaxPoolAttrs } from '@tensorflow/tfjs-core';

import { addon, allocF32, f32, nativeKernel, output, sizeOf } from './_util';
import { poolParams } from './_pool';

export const maxPoolConfig = nativeKernel(MaxPool, ({ inputs, backend, attrs }) => {
  const { x } = inputs;
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as MaxPoolAttrs;
  const xv = f32(backend, x);
  if (!xv || x.shape.length !== 4) return null;
  const ci = backend_util.computePool2DInfo(x.shape as [number, number, number, number], filterSize, strides, 1, pad,
    dimRoundingMode);
  const p = poolParams(ci);
  if (!p) return null;
  const y = allocF32(sizeOf(ci.outShape));
  addon().maxPool(xv, y, p);
  return output(backend, ci.outShape, y);
});
