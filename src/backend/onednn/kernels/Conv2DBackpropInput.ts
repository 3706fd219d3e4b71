import { Conv2DBackpropInput, Conv2DBackpropInputAttrs } from '@tensorflow/tfjs-core';

import { allocF32, f32, nativeKernel, sizeOf } from '../kernel_helpers/native_kernel';
import { convInfo, convKernelOptions, convParams, bf16Stamp, runConvBackwardData } from '../kernel_helpers/conv_common';
import { OneDnnBackend } from '../backend';
import { config } from '../config';
import { activationIn, activationOutput, allocActivation } from '../kernel_helpers/activations';

/** Inputs with at most this many channels get a lazily computed gradient. */
export const LAZY_MAX_CHANNELS = config.lazyInputGradient ? 4 : 0;

export const conv2DBackpropInputConfig = nativeKernel(
  Conv2DBackpropInput,
  ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs;
    const { inputShape, strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as Conv2DBackpropInputAttrs;
    const gv = activationIn(backend, dy),
      wv = f32(backend, filter);
    if (!gv || !wv || inputShape.length !== 4) return null;
    const ci = convInfo(inputShape, filter.shape, { strides, pad, dataFormat, dimRoundingMode });
    const p = convParams(ci, { weightsStamp: bf16Stamp(backend, filter), diffDstStamp: bf16Stamp(backend, dy) });
    if (!p || sizeOf(dy.shape) !== sizeOf(ci.outShape)) return null;
    const compute = () => {
      const dx = allocF32(sizeOf(inputShape));
      runConvBackwardData(p, gv, wv, dx);
      return dx;
    };
    // Few input channels means a network input (images), whose gradient tfjs's fused conv computes eagerly
    // and then drops: compute it only if something reads it.
    if (p.inChannels <= LAZY_MAX_CHANNELS && backend instanceof OneDnnBackend) {
      return backend.makeLazyTensorInfo([...inputShape], compute, [gv, wv]);
    }
    // the gradient of a bf16 activation is one (bf16 from the primitive in native bf16)
    const dx = allocActivation(backend, sizeOf(inputShape));
    runConvBackwardData(p, gv, wv, dx);
    return activationOutput(backend, [...inputShape], dx);
  },
  convKernelOptions,
);
