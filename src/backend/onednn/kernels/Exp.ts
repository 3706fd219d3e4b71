import { Exp } from '@tensorflow/tfjs-core';

import { UnaryOp } from '../addon';
import { unaryKernel } from '../kernel_helpers/unary_ops';

export const expConfig = unaryKernel(Exp, UnaryOp.Exp);
