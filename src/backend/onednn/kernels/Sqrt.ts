import { Sqrt } from '@tensorflow/tfjs-core';

import { UnaryOp } from '../addon';
import { unaryKernel } from './_unary';

export const sqrtConfig = unaryKernel(Sqrt, UnaryOp.Sqrt);
