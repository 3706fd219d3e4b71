import { addon, allocF32, nativeKernel, output, sizeOf } from '../kernel_helpers/native_kernel';
import { activationIn } from '../kernel_helpers/activations';
import { bf16Stamp, convInfo, convKernelOptions, convParams } from '../kernel_helpers/conv_common';
import type { GroupedConvAttrs } from '../kernel_helpers/conv_common';

export const GROUPED_CONV2D_BACKPROP_FILTER = 'ResnetGroupedConv2DBackpropFilter';

/** Gradient of a grouped convolution with respect to its filter (oneDNN grouped backward-weights). */
export const groupedConv2DBackpropFilterConfig = nativeKernel(
  GROUPED_CONV2D_BACKPROP_FILTER,
  ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs;
    const { strides, pad, groups, filterShape } = attrs as unknown as GroupedConvAttrs & { filterShape: number[] };
    const xv = activationIn(backend, x),
      gv = activationIn(backend, dy);
    if (!xv || !gv || x.shape.length !== 4) return null;
    const ci = convInfo(x.shape, filterShape, { strides, pad, dataFormat: 'NHWC' });
    const p = convParams(ci, { groups, srcStamp: bf16Stamp(backend, x), diffDstStamp: bf16Stamp(backend, dy) });
    if (!p || sizeOf(dy.shape) !== sizeOf(ci.outShape)) return null;
    const dw = allocF32(sizeOf(filterShape));
    addon().conv2dBackwardWeights(xv, gv, dw, p);
    return output(backend, [...filterShape], dw);
  },
  convKernelOptions,
);
