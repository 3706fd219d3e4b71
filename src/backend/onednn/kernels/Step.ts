import { Step } from '@tensorflow/tfjs-core';

import { UnaryOp } from '../addon';
import { unaryKernel } from '../kernel_helpers/unary_ops';

export const stepConfig = unaryKernel(Step, UnaryOp.Step, 'alpha');
