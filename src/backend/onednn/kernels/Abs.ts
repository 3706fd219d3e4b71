import { Abs } from '@tensorflow/tfjs-core';

import { UnaryOp } from '../addon';
import { unaryKernel } from './_unary';

export const absConfig = unaryKernel(Abs, UnaryOp.Abs);
