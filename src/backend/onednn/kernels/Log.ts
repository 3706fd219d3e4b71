import { Log } from '@tensorflow/tfjs-core';

import { UnaryOp } from '../addon';
import { unaryKernel } from './_unary';

export const logConfig = unaryKernel(Log, UnaryOp.Log);
