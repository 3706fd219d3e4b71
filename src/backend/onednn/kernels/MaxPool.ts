import { MaxPool } from '@tensorflow/tfjs-core';

import { addon } from './_util';
import { pool2dKernel } from './_pool';

export const maxPoolConfig = pool2dKernel(MaxPool, (x, y, p) => addon().maxPool(x, y, p));
