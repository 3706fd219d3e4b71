import { addon, f32, nativeKernel, sizeOf } from '../kernel_helpers/native_kernel';
import { activationIn, activationOutput, allocActivation } from '../kernel_helpers/activations';
import { convInfo, convKernelOptions, convParams, bf16Stamp } from '../kernel_helpers/conv_common';
import type { GroupedConvAttrs } from '../kernel_helpers/conv_common';

export const GROUPED_CONV2D_BACKPROP_INPUT = 'ResnetGroupedConv2DBackpropInput';

/** Gradient of a grouped convolution with respect to its input (oneDNN grouped backward-data). */
export const groupedConv2DBackpropInputConfig = nativeKernel(
  GROUPED_CONV2D_BACKPROP_INPUT,
  ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs;
    const { strides, pad, groups, inputShape } = attrs as unknown as GroupedConvAttrs & { inputShape: number[] };
    const gv = activationIn(backend, dy),
      wv = f32(backend, filter);
    if (!gv || !wv || inputShape.length !== 4) return null;
    const ci = convInfo(inputShape, filter.shape, { strides, pad, dataFormat: 'NHWC' });
    const p = convParams(ci, {
      groups,
      weightsStamp: bf16Stamp(backend, filter),
      diffDstStamp: bf16Stamp(backend, dy),
    });
    if (!p || sizeOf(dy.shape) !== sizeOf(ci.outShape)) return null;
    const dx = allocActivation(backend, sizeOf(inputShape));
    addon().conv2dBackwardData(gv, wv, dx, p);
    return activationOutput(backend, [...inputShape], dx);
  },
  convKernelOptions,
);
