import { Maximum } from '@tensorflow/tfjs-core';

import { BinaryOp } from '../addon';
import { binaryKernel } from './_binary';

export const maximumConfig = binaryKernel(Maximum, BinaryOp.Max);
