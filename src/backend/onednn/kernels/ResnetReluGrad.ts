import { KernelConfig, KernelFunc, TensorInfo, util } from '@tensorflow/tfjs-core';

import { addon, allocF32, bump, f32, KernelArgs, output } from '../kernel_helpers/native_kernel';
import { activationIn } from '../kernel_helpers/activations';

/** dx = x > 0 ? dy : 0 in one pass (tfjs's own Relu gradient is Step + Cast + Multiply: two full passes). */
export const RELU_GRAD = 'ResnetReluGrad';

export const reluGradConfig: KernelConfig = {
  kernelName: RELU_GRAD,
  backendName: 'onednn',
  kernelFunc: (({ inputs, backend }: KernelArgs): TensorInfo => {
    const { dy, x } = inputs;
    const gv = f32(backend, dy),
      xv = activationIn(backend, x);
    const out = allocF32(util.sizeFromShape(x.shape));
    const native = gv != null && xv != null && gv.length === xv.length;
    bump(RELU_GRAD, native);
    if (native) {
      addon().reluGrad(gv, xv, out);
    } else {
      const g = backend.data.get(dy.dataId).values as ArrayLike<number>;
      const v = backend.data.get(x.dataId).values as ArrayLike<number>;
      for (let i = 0; i < out.length; i++) out[i] = v[i] > 0 ? g[i] : 0;
    }
    return output(backend, [...x.shape], out);
  }) as unknown as KernelFunc,
};
