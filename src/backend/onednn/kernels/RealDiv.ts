import { RealDiv } from '@tensorflow/tfjs-core';

import { BinaryOp } from '../addon';
import { binaryKernel } from './_binary';

export const realDivConfig = binaryKernel(RealDiv, BinaryOp.Div);
