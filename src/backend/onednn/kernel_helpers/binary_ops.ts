/**
 * Float32 binary element-wise kernels: same shape, or one full operand and one broadcast over a block of its
 * axes (a scalar, a [C] bias over [N, H, W, C], a per-row [N, 1] over [N, C] as in softmax cross-entropy).
 * Same-shape operands may be bf16 activations, read as they are (the gradient sums where a block's input
 * feeds two branches); the result is float32.
 */
import { backend_util } from '@tensorflow/tfjs-core';

import { BinaryOp } from '../addon';
import { activationIn } from './activations';
import { addon, allocF32, broadcastInner, f32, nativeKernel, output, sizeOf } from './native_kernel';

export function binaryKernel(kernelName: string, op: BinaryOp) {
  return nativeKernel(kernelName, ({ inputs, backend }) => {
    const { a, b } = inputs;
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const n = sizeOf(outShape);
    const aFull = sizeOf(a.shape) === n,
      bFull = sizeOf(b.shape) === n;
    const read = aFull && bFull ? activationIn : f32; // bf16 operands only without a broadcast
    const av = read(backend, a),
      bv = read(backend, b);
    if (!av || !bv || n === 0) return null;
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
