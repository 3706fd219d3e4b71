import { Multiply } from '@tensorflow/tfjs-core';

import { BinaryOp } from '../addon';
import { binaryKernel } from '../kernel_helpers/binary_ops';

export const multiplyConfig = binaryKernel(Multiply, BinaryOp.Mul);
