/**
 * Float32 binary element-wise kernels: same shape, or one full operand and one broadcast over a block of its
 * axes (a scalar, a [C] bias over [N, H, W, C], a per-row [N, 1] over [N, C] as in softmax cross-entropy).
 */
import { backend_util } from '@tensorflow/tfjs-core';

import { BinaryOp } from '../addon';
import { addon, allocF32, broadcastInner, f32, nativeKernel, output, sizeOf } from './native_kernel';

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
    let inner = 1;
    if (!(aFull && bFull)) {
      if (!aFull && !bFull) return null; // both broadcast (an outer product): JS
      const r = broadcastInner(aFull ? b.shape : a.shape, outShape);
      if (r === null) return null;
      inner = r;
    }
    const out = allocF32(n);
    addon().binary(op, av, bv, out, inner);
    return output(backend, outShape, out);
  });
}
