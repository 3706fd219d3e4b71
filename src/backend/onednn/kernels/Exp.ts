import { Exp } from '@tensorflow/tfjs-core';

import { UnaryOp } from '../addon';
import { unaryKernel } from './_unary';

export const expConfig = unaryKernel(Exp, UnaryOp.Exp);
