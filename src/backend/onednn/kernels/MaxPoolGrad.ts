import { backend_util, MaxPoolGrad, MaxPoolGradAttrs } from '@tensorflow/tfjs-core';

import { addon, allocF32, f32, nativeKernel, output, sizeOf } from '../kernel_helpers/native_kernel';
import { poolParams } from '../kernel_helpers/pooling_common';
import { activationIn } from '../kernel_helpers/activations';

/** dy goes to the first maximum of each window (recomputed from the input, like tfjs cpu). */
export const maxPoolGradConfig = nativeKernel(MaxPoolGrad, ({ inputs, backend, attrs }) => {
  const { dy, input } = inputs;
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as MaxPoolGradAttrs;
  const gv = f32(backend, dy),
    xv = activationIn(backend, input);
  if (!gv || !xv || input.shape.length !== 4) return null;
  const ci = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const p = poolParams(ci);
  if (!p || gv.length !== sizeOf(ci.outShape)) return null;
  const dx = allocF32(xv.length);
  addon().maxPoolGrad(gv, xv, dx, p);
  return output(backend, [...input.shape], dx);
});
