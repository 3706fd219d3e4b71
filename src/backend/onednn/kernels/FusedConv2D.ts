import { FusedConv2D, FusedConv2DAttrs } from '@tensorflow/tfjs-core';

import { f32, nativeKernel, sizeOf } from '../kernel_helpers/native_kernel';
import { activationIn, activationOutput, allocActivation } from '../kernel_helpers/activations';
import { convInfo, convKernelOptions, convParams, bf16Stamp, runConvForward } from '../kernel_helpers/conv_common';

/** conv + optional per-channel bias + optional relu in one oneDNN primitive (post-op). */
export const fusedConv2DConfig = nativeKernel(
  FusedConv2D,
  ({ inputs, backend, attrs }) => {
    const { x, filter, bias, preluActivationWeights } = inputs;
    const { strides, pad, dataFormat, dilations, dimRoundingMode, activation } = attrs as unknown as FusedConv2DAttrs;
    if (preluActivationWeights != null) return null;
    if (activation !== 'linear' && activation !== 'relu' && activation != null) return null;
    const xv = activationIn(backend, x),
      wv = f32(backend, filter);
    if (!xv || !wv || x.shape.length !== 4) return null;
    const ci = convInfo(x.shape, filter.shape, { strides, pad, dataFormat, dimRoundingMode, dilations });
    let bv: Float32Array | null = null;
    if (bias != null) {
      bv = f32(backend, bias);
      // only a per-output-channel bias ([C], [1, C], [1, 1, 1, C], ...)
      if (!bv || bv.length !== ci.outChannels || bias.shape[bias.shape.length - 1] !== ci.outChannels) return null;
    }
    const p = convParams(ci, {
      relu: activation === 'relu',
      weightsStamp: bf16Stamp(backend, filter),
      srcStamp: bf16Stamp(backend, x),
    });
    if (!p) return null;
    const y = allocActivation(backend, sizeOf(ci.outShape));
    runConvForward(p, xv, wv, bv, y);
    return activationOutput(backend, ci.outShape, y);
  },
  convKernelOptions,
);
