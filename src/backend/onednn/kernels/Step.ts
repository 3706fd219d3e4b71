import { Step } from '@tensorflow/tfjs-core';

import { UnaryOp } from '../addon';
import { unaryKernel } from './_unary';

export const stepConfig = unaryKernel(Step, UnaryOp.Step, 'alpha');
