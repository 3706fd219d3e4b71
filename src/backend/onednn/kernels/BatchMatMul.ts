import { BatchMatMul, BatchMatMulAttrs } from '@tensorflow/tfjs-core';

import { nativeKernel } from './_util';
import { nativeMatMul } from './_matmul';

export const batchMatMulConfig = nativeKernel(BatchMatMul, ({ inputs, backend, attrs }) => {
  const { transposeA, transposeB } = attrs as unknown as BatchMatMulAttrs;
  return nativeMatMul(backend, inputs.a, inputs.b, transposeA, transposeB, null, false);
});
