import { getKernel, KernelConfig, KernelFunc, Reshape, ReshapeAttrs, TensorInfo, util } from '@tensorflow/tfjs-core';

import type { KernelArgs } from '../kernel_helpers/native_kernel';

/**
 * Reshape without reading the values. The cpu kernel (which runs here for complex tensors) looks up the
 * tensor's data for its complex parts, and on this back end that lookup widens a bf16 activation or
 * computes a lazy output that nothing may read (tf.batchNorm reshapes every input to 4-D, even a 4-D one).
 */
export const reshapeConfig: KernelConfig = {
  kernelName: Reshape,
  backendName: 'onednn',
  kernelFunc: ((args: KernelArgs): TensorInfo => {
    const { x } = args.inputs;
    if (x.dtype === 'complex64')
      return (getKernel(Reshape, 'cpu')!.kernelFunc as KernelFunc)(args as never) as TensorInfo;
    const { shape } = args.attrs as unknown as ReshapeAttrs;
    const size = util.sizeFromShape(x.shape);
    const newShape = util.inferFromImplicitShape(shape, size);
    const newSize = util.sizeFromShape(newShape);
    util.assert(
      size === newSize,
      () =>
        `The new shape (${newShape}) has ${newSize} elements and the old shape (${x.shape}) has ${size} elements. ` +
        'The new shape and old shape must have the same number of elements.',
    );
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: newShape, dtype: x.dtype };
  }) as unknown as KernelFunc,
};
