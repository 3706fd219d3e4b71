import { BatchMatMul, BatchMatMulAttrs } from '@tensorflow/tfjs-core';

import { nativeKernel } from '../kernel_helpers/native_kernel';
import { nativeMatMul } from '../kernel_helpers/matmul_common';

export const batchMatMulConfig = nativeKernel(BatchMatMul, ({ inputs, backend, attrs }) => {
  const { transposeA, transposeB } = attrs as unknown as BatchMatMulAttrs;
  return nativeMatMul(backend, inputs.a, inputs.b, transposeA, transposeB, null, false);
});
