import { backend_util, Sum, SumAttrs, util } from '@tensorflow/tfjs-core';

import { addon, allocF32, f32, nativeKernel, output, sizeOf } from '../kernel_helpers/native_kernel';
import { activationIn } from '../kernel_helpers/activations';

/**
 * float32 sums over a leading block of axes (bias gradients: N,H,W of NHWC) or a trailing block. A leading
 * sum reads a bf16 activation as it is (a bias gradient sums the bf16 output gradient of its convolution).
 */
export const sumConfig = nativeKernel(Sum, ({ inputs, backend, attrs }) => {
  const { x } = inputs;
  const { axis, keepDims } = attrs as unknown as SumAttrs;
  if (x.dtype !== 'float32' || sizeOf(x.shape) === 0) return null;
  const rank = x.shape.length;
  const axes = [...new Set(util.parseAxisParam(axis, x.shape))].sort((p, q) => p - q);
  if (axes.length === 0) return null;
  const contiguous = axes.every((a, i) => i === 0 || a === axes[i - 1] + 1);
  if (!contiguous) return null;
  const leading = axes[0] === 0,
    trailing = axes[axes.length - 1] === rank - 1;
  if (!leading && !trailing) return null;
  let [outShape] = backend_util.computeOutAndReduceShapes(x.shape, axes);
  if (keepDims) outShape = backend_util.expandShapeToKeepDim(outShape, axes);
  const xv = leading ? activationIn(backend, x) : f32(backend, x);
  if (!xv) return null;
  const out = allocF32(sizeOf(outShape));
  if (leading) addon().sumLeading(xv, out, sizeOf(x.shape.slice(axes.length)));
  else addon().sumTrailing(xv as Float32Array, out, sizeOf(x.shape.slice(axes[0])));
  return output(backend, outShape, out);
});
