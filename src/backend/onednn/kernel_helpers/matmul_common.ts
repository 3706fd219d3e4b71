import { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import { addon, allocF32, f32, output, sizeOf } from './native_kernel';

/** a @ b (+ bias [N]) (relu) with tfjs's batch broadcasting restricted to equal batches or a batch of 1. */
export function nativeMatMul(
  backend: MathBackendCPU,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  bias: TensorInfo | null,
  relu: boolean,
): TensorInfo | null {
  const av = f32(backend, a),
    bv = f32(backend, b);
  if (!av || !bv || a.shape.length < 2 || b.shape.length < 2) return null;
  const ra = a.shape.length,
    rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const k2 = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== k2 || m * n * k === 0) return null;
  const batchShape = backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const ba = sizeOf(a.shape.slice(0, -2)),
    bb = sizeOf(b.shape.slice(0, -2)),
    bo = sizeOf(batchShape);
  if ((ba !== bo && ba !== 1) || (bb !== bo && bb !== 1)) return null;
  let biasV: Float32Array | null = null;
  if (bias != null) {
    biasV = f32(backend, bias);
    if (!biasV || biasV.length !== n || bias.shape[bias.shape.length - 1] !== n) return null;
  }
  const outShape = [...batchShape, m, n];
  const out = allocF32(sizeOf(outShape));
  addon().matMul(av, bv, biasV, out, { batchA: ba, batchB: bb, m, k, n, transposeA, transposeB, relu });
  return output(backend, outShape, out);
}
