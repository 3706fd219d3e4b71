import { Relu } from '@tensorflow/tfjs-core';

import { UnaryOp } from '../addon';
import { unaryKernel } from './_unary';

export const reluConfig = unaryKernel(Relu, UnaryOp.Relu);
