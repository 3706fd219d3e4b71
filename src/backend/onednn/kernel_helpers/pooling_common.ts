import { backend_util, MaxPoolAttrs } from '@tensorflow/tfjs-core';

import { allocBf16, type ActivationArray, type PoolParams } from '../addon';
import { activationIn, activationOutput } from './activations';
import { allocF32, nativeKernel, sizeOf } from './native_kernel';

/** Null for dilated or channels-first pooling. */
export function poolParams(ci: backend_util.Conv2DInfo): PoolParams | null {
  if (ci.dataFormat !== 'channelsLast' || ci.dilationHeight !== 1 || ci.dilationWidth !== 1) return null;
  if (ci.outHeight <= 0 || ci.outWidth <= 0 || ci.batchSize <= 0 || ci.inChannels <= 0) return null;
  return {
    batch: ci.batchSize,
    inHeight: ci.inHeight,
    inWidth: ci.inWidth,
    channels: ci.inChannels,
    outHeight: ci.outHeight,
    outWidth: ci.outWidth,
    filterHeight: ci.filterHeight,
    filterWidth: ci.filterWidth,
    strideHeight: ci.strideHeight,
    strideWidth: ci.strideWidth,
    padTop: ci.padInfo.top,
    padLeft: ci.padInfo.left,
  };
}

/**
 * MaxPool and AvgPool share everything but the native call. Both read a bf16 activation as it is; with
 * `keepsBf16` (max pooling: the max of bf16 values is one) the output of a bf16 input is bf16 too.
 */
export function pool2dKernel(
  kernelName: string,
  run: (x: ActivationArray, y: ActivationArray, p: PoolParams) => void,
  keepsBf16 = false,
) {
  return nativeKernel(kernelName, ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as MaxPoolAttrs;
    const xv = activationIn(backend, x);
    if (!xv || x.shape.length !== 4) return null;
    const ci = backend_util.computePool2DInfo(
      x.shape as [number, number, number, number],
      filterSize,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    const p = poolParams(ci);
    if (!p) return null;
    const n = sizeOf(ci.outShape);
    const y = keepsBf16 && xv instanceof Uint16Array ? allocBf16(n) : allocF32(n);
    run(xv, y, p);
    return activationOutput(backend, ci.outShape, y);
  });
}
