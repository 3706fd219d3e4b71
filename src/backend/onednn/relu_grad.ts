/**
 * Relu's gradient as one kernel. tfjs computes it as mul(dy, cast(step(x))): two full passes over every
 * activation (Step, Multiply) and an extra tensor. This gradient calls the fused 'ResnetReluGrad' kernel when
 * the active back end has it, and otherwise does exactly what tfjs does, so other back ends are unaffected.
 */
import {
  cast,
  engine,
  getBackend,
  getKernel,
  GradConfig,
  mul,
  registerGradient,
  Relu,
  step,
  Tensor,
} from '@tensorflow/tfjs-core';

import { RELU_GRAD } from './kernels/ResnetReluGrad';

/** The gradient of Relu (a tfjs GradConfig; the kernel it calls is kernels/ResnetReluGrad.ts's reluGradConfig). */
export const reluGradientConfig: GradConfig = {
  kernelName: Relu,
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [x] = saved;
    const g = dy as Tensor;
    return {
      x: () =>
        getKernel(RELU_GRAD, getBackend()) != null && x.dtype === 'float32' && g.dtype === 'float32'
          ? (engine().runKernel(RELU_GRAD, { dy: g, x }) as Tensor)
          : mul(g, cast(step(x), 'float32')),
    };
  },
};

export function registerReluGradient(): void {
  registerGradient(reluGradientConfig);
}
