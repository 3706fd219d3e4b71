import { SquaredDifference } from '@tensorflow/tfjs-core';

import { BinaryOp } from '../addon';
import { binaryKernel } from './_binary';

export const squaredDifferenceConfig = binaryKernel(SquaredDifference, BinaryOp.SquaredDifference);
