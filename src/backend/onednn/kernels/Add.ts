import { Add } from '@tensorflow/tfjs-core';

import { BinaryOp } from '../addon';
import { binaryKernel } from './_binary';

export const addConfig = binaryKernel(Add, BinaryOp.Add);
