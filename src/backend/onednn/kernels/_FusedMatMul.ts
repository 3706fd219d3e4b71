// Named, like every file in kernels/, after the tfjs kernel it implements (tfjs spells this one with an underscore).
import { _FusedMatMul, _FusedMatMulAttrs } from '@tensorflow/tfjs-core';

import { nativeKernel } from '../kernel_helpers/native_kernel';
import { nativeMatMul } from '../kernel_helpers/matmul_common';

export const fusedMatMulConfig = nativeKernel(_FusedMatMul, ({ inputs, backend, attrs }) => {
  const { a, b, bias, preluActivationWeights } = inputs;
  const { transposeA, transposeB, activation } = attrs as unknown as _FusedMatMulAttrs;
  if (preluActivationWeights != null) return null;
  if (activation !== 'linear' && activation !== 'relu' && activation != null) return null;
  return nativeMatMul(backend, a, b, transposeA, transposeB, bias ?? null, activation === 'relu');
});
