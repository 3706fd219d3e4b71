import { KernelConfig, KernelFunc, TensorInfo, util } from '@tensorflow/tfjs-core';

import { allocBf16 } from '../addon';
import { addon, allocF32, bump, KernelArgs } from '../kernel_helpers/native_kernel';
import { activationIn, activationOutput } from '../kernel_helpers/activations';

/**
 * dx = x > 0 ? dy : 0 in one pass (tfjs's own Relu gradient is Step + Cast + Multiply: two full passes). A bf16
 * dy gives a bf16 dx (exactly: each value is dy's or 0).
 */
export const RELU_GRAD = 'ResnetReluGrad';

export const reluGradConfig: KernelConfig = {
  kernelName: RELU_GRAD,
  backendName: 'onednn',
  kernelFunc: (({ inputs, backend }: KernelArgs): TensorInfo => {
    const { dy, x } = inputs;
    const gv = activationIn(backend, dy),
      xv = activationIn(backend, x);
    const n = util.sizeFromShape(x.shape);
    const out = gv instanceof Uint16Array ? allocBf16(n) : allocF32(n);
    const native = gv != null && xv != null && gv.length === xv.length;
    bump(RELU_GRAD, native);
    if (native) {
      addon().reluGrad(gv, xv, out);
      return activationOutput(backend, [...x.shape], out);
    }
    const g = backend.data.get(dy.dataId).values as ArrayLike<number>;
    const v = backend.data.get(x.dataId).values as ArrayLike<number>;
    const dx = allocF32(n);
    for (let i = 0; i < n; i++) dx[i] = v[i] > 0 ? g[i] : 0;
    return activationOutput(backend, [...x.shape], dx);
  }) as unknown as KernelFunc,
};
