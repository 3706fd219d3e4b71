import { AvgPool } from '@tensorflow/tfjs-core';

import { addon } from '../kernel_helpers/native_kernel';
import { pool2dKernel } from '../kernel_helpers/pooling_common';

export const avgPoolConfig = pool2dKernel(AvgPool, (x, y, p) => addon().avgPool(x, y as Float32Array, p));
