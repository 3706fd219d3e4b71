import { AvgPool } from '@tensorflow/tfjs-core';

import { addon } from './_util';
import { pool2dKernel } from './_pool';

export const avgPoolConfig = pool2dKernel(AvgPool, (x, y, p) => addon().avgPool(x, y, p));
