/** Float32 binary element-wise kernels: same shape, scalar, or trailing-axes broadcasting (e.g. a [C] bias). */
import { backend_util } from '@tensorflow/tfjs-core';

import { BinaryOp } from '../addon';
import { addon, allocF32, f32, isTrailingBroadcast, nativeKernel, output, sizeOf } from './native_kernel';

export function binaryKernel(kernelName: string, op: BinaryOp) {
  return nativeKernel(kernelName, ({ inputs, backend }) => {
    const { a, b } = inputs;
    const av = f32(backend, a),
      bv = f32(backend, b);
    if (!av || !bv) return null;
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const n = sizeOf(outShape);
    if (n === 0) return null;
    const aFull = av.length === n,
      bFull = bv.length === n;
    if (!(aFull && bFull)) {
      if (aFull && !isTrailingBroadcast(b.shape, outShape)) return null;
      if (bFull && !isTrailingBroadcast(a.shape, outShape)) return null;
      if (!aFull && !bFull) return null;
    }
    const out = allocF32(n);
    addon().binary(op, av, bv, out);
    return output(backend, outShape, out);
  });
}
