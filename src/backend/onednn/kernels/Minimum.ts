import { Minimum } from '@tensorflow/tfjs-core';

import { BinaryOp } from '../addon';
import { binaryKernel } from './_binary';

export const minimumConfig = binaryKernel(Minimum, BinaryOp.Min);
