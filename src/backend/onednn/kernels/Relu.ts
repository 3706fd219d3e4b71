import { Relu } from '@tensorflow/tfjs-core';

import { UnaryOp } from '../addon';
import { unaryKernel } from '../kernel_helpers/unary_ops';

export const reluConfig = unaryKernel(Relu, UnaryOp.Relu, undefined, true);
