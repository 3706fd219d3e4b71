import { Neg } from '@tensorflow/tfjs-core';

import { UnaryOp } from '../addon';
import { unaryKernel } from './_unary';

export const negConfig = unaryKernel(Neg, UnaryOp.Neg);
