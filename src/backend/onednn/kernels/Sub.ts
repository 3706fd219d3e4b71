import { Sub } from '@tensorflow/tfjs-core';

import { BinaryOp } from '../addon';
import { binaryKernel } from './_binary';

export const subConfig = binaryKernel(Sub, BinaryOp.Sub);
