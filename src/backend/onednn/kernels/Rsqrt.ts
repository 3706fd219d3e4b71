import { Rsqrt } from '@tensorflow/tfjs-core';

import { UnaryOp } from '../addon';
import { unaryKernel } from './_unary';

export const rsqrtConfig = unaryKernel(Rsqrt, UnaryOp.Rsqrt);
