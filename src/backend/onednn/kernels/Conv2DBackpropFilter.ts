import { Conv2DBackpropFilter, Conv2DBackpropFilterAttrs } from '@tensorflow/tfjs-core';

import { allocF32, nativeKernel, output, sizeOf } from '../kernel_helpers/native_kernel';
import {
  bf16Stamp,
  convInfo,
  convKernelOptions,
  convParams,
  runConvBackwardWeights,
} from '../kernel_helpers/conv_common';
import { activationIn } from '../kernel_helpers/activations';

export const conv2DBackpropFilterConfig = nativeKernel(
  Conv2DBackpropFilter,
  ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs;
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs;
    const xv = activationIn(backend, x),
      gv = activationIn(backend, dy);
    if (!xv || !gv || x.shape.length !== 4) return null;
    const ci = convInfo(x.shape, filterShape, { strides, pad, dataFormat, dimRoundingMode });
    const p = convParams(ci, { srcStamp: bf16Stamp(backend, x), diffDstStamp: bf16Stamp(backend, dy) });
    if (!p || sizeOf(dy.shape) !== sizeOf(ci.outShape)) return null;
    const dw = allocF32(sizeOf(filterShape));
    runConvBackwardWeights(p, xv, gv, dw);
    return output(backend, [...filterShape], dw);
  },
  convKernelOptions,
);
