import { Multiply } from '@tensorflow/tfjs-core';

import { BinaryOp } from '../addon';
import { binaryKernel } from './_binary';

export const multiplyConfig = binaryKernel(Multiply, BinaryOp.Mul);
