import { MaxPool } from '@tensorflow/tfjs-core';

import { addon } from '../kernel_helpers/native_kernel';
import { pool2dKernel } from '../kernel_helpers/pooling_common';

export const maxPoolConfig = pool2dKernel(MaxPool, (x, y, p) => addon().maxPool(x, y, p), true);
