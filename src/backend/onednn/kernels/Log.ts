import { Log } from '@tensorflow/tfjs-core';

import { UnaryOp } from '../addon';
import { unaryKernel } from '../kernel_helpers/unary_ops';

export const logConfig = unaryKernel(Log, UnaryOp.Log);
