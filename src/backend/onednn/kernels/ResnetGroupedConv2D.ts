import { addon, f32, nativeKernel, sizeOf } from '../kernel_helpers/native_kernel';
import { activationIn, activationOutput, allocActivation } from '../kernel_helpers/activations';
import { convInfo, convKernelOptions, convParams, bf16Stamp } from '../kernel_helpers/conv_common';
import type { GroupedConvAttrs } from '../kernel_helpers/conv_common';

/** Kernel name of src/ops/grouped_conv2d.ts (kept literal so this back end does not import the op). */
export const GROUPED_CONV2D = 'ResnetGroupedConv2D';

/** Grouped convolution (+ per-channel bias) as one oneDNN grouped primitive. */
export const groupedConv2DConfig = nativeKernel(
  GROUPED_CONV2D,
  ({ inputs, backend, attrs }) => {
    const { x, filter, bias } = inputs;
    const { strides, pad, groups } = attrs as unknown as GroupedConvAttrs;
    const xv = activationIn(backend, x),
      wv = f32(backend, filter);
    if (!xv || !wv || x.shape.length !== 4) return null;
    const ci = convInfo(x.shape, filter.shape, { strides, pad, dataFormat: 'NHWC' });
    const bv = bias ? f32(backend, bias) : null;
    if (bias && (!bv || bv.length !== ci.outChannels)) return null;
    const p = convParams(ci, { groups, weightsStamp: bf16Stamp(backend, filter), srcStamp: bf16Stamp(backend, x) });
    if (!p) return null;
    const y = allocActivation(backend, sizeOf(ci.outShape));
    addon().conv2dForward(xv, wv, bv, y, p);
    return activationOutput(backend, ci.outShape, y);
  },
  convKernelOptions,
);
