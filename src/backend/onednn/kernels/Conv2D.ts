import { Conv2D, Conv2DAttrs } from '@tensorflow/tfjs-core';

import { f32, nativeKernel, sizeOf } from '../kernel_helpers/native_kernel';
import { activationIn, activationOutput, allocActivation } from '../kernel_helpers/activations';
import { convInfo, convKernelOptions, convParams, bf16Stamp, runConvForward } from '../kernel_helpers/conv_common';

export const conv2DConfig = nativeKernel(
  Conv2D,
  ({ inputs, backend, attrs }) => {
    const { x, filter } = inputs;
    const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs as unknown as Conv2DAttrs;
    const xv = activationIn(backend, x),
      wv = f32(backend, filter);
    if (!xv || !wv || x.shape.length !== 4) return null;
    const ci = convInfo(x.shape, filter.shape, { strides, pad, dataFormat, dimRoundingMode, dilations });
    const p = convParams(ci, { weightsStamp: bf16Stamp(backend, filter), srcStamp: bf16Stamp(backend, x) });
    if (!p) return null;
    const y = allocActivation(backend, sizeOf(ci.outShape));
    runConvForward(p, xv, wv, null, y);
    return activationOutput(backend, ci.outShape, y);
  },
  convKernelOptions,
);
