import { FusedBatchNorm, FusedBatchNormAttrs } from '@tensorflow/tfjs-core';

import { addon, f32, nativeKernel } from '../kernel_helpers/native_kernel';
import { activationIn, activationOutput, allocActivation } from '../kernel_helpers/activations';

/**
 * Inference batch norm (tf.batchNorm: evaluation mode of the model): statistics folded into a per-channel
 * a = scale / sqrt(var + eps), b = offset - mean * a (in double), then one native pass y = x * a + b.
 * Parameters must be per-channel ([C]) or single values; anything else runs the JS kernel. Like training
 * batch norm, it reads and (in the bf16 precisions) writes bf16 activations.
 */
export const fusedBatchNormConfig = nativeKernel(FusedBatchNorm, ({ inputs, backend, attrs }) => {
  const { x, mean, variance, offset, scale } = inputs;
  const eps = (attrs as unknown as FusedBatchNormAttrs)?.varianceEpsilon ?? 0.001;
  const xv = activationIn(backend, x);
  if (!xv || xv.length === 0 || x.shape.length < 1) return null;
  const c = x.shape[x.shape.length - 1];
  const param = (t: typeof x | undefined, dflt: number): Float32Array | null => {
    if (t == null) return Float32Array.of(dflt);
    const v = f32(backend, t);
    return v && (v.length === c || v.length === 1) ? v : null;
  };
  const m = param(mean, 0),
    v = param(variance, 1),
    o = param(offset, 0),
    s = param(scale, 1);
  if (!m || !v || !o || !s || mean == null || variance == null) return null;
  const at = (arr: Float32Array, j: number) => arr[arr.length === 1 ? 0 : j];
  const a = new Float32Array(c),
    b = new Float32Array(c);
  for (let j = 0; j < c; j++) {
    const aj = at(s, j) / Math.sqrt(at(v, j) + eps);
    a[j] = aj;
    b[j] = at(o, j) - at(m, j) * aj;
  }
  const y = allocActivation(backend, xv.length);
  addon().channelAffine(xv, a, b, y, c);
  return activationOutput(backend, [...x.shape], y);
});
