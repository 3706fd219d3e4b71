import { Minimum } from '@tensorflow/tfjs-core';

import { BinaryOp } from '../addon';
import { binaryKernel } from '../kernel_helpers/binary_ops';

export const minimumConfig = binaryKernel(Minimum, BinaryOp.Min);
