import { Square } from '@tensorflow/tfjs-core';

import { UnaryOp } from '../addon';
import { unaryKernel } from './_unary';

export const squareConfig = unaryKernel(Square, UnaryOp.Square);
