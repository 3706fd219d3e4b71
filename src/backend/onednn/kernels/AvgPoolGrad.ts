import { AvgPoolGrad, AvgPoolGradAttrs, backend_util } from '@tensorflow/tfjs-core';

import { addon, allocF32, f32, nativeKernel, output, sizeOf } from '../kernel_helpers/native_kernel';
import { poolParams } from '../kernel_helpers/pooling_common';

/** Like tfjs cpu: dy / (filterHeight * filterWidth) spread over the in-bounds window. */
export const avgPoolGradConfig = nativeKernel(AvgPoolGrad, ({ inputs, backend, attrs }) => {
  const { dy, input } = inputs;
  const { filterSize, strides, pad } = attrs as unknown as AvgPoolGradAttrs;
  const gv = f32(backend, dy);
  if (!gv || input.shape.length !== 4) return null;
  const ci = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
  );
  const p = poolParams(ci);
  if (!p || gv.length !== sizeOf(ci.outShape)) return null;
  const dx = allocF32(sizeOf(input.shape));
  addon().avgPoolGrad(gv, dx, p);
  return output(backend, [...input.shape], dx);
});
