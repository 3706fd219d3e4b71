/**
 * Float32 unary element-wise kernels. They read a bf16 activation as it is; ReLU's output of one is bf16 too
 * (`keepsBf16`: max(x, 0) of a bf16 value is one, exactly).
 */
import { allocBf16, UnaryOp } from '../addon';
import { activationIn, activationOutput } from './activations';
import { addon, allocF32, nativeKernel } from './native_kernel';

export function unaryKernel(kernelName: string, op: UnaryOp, alphaAttr?: string, keepsBf16 = false) {
  return nativeKernel(kernelName, ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    const xv = activationIn(backend, x);
    if (!xv || xv.length === 0) return null;
    const out = keepsBf16 && xv instanceof Uint16Array ? allocBf16(xv.length) : allocF32(xv.length);
    const alpha = alphaAttr ? Number(attrs?.[alphaAttr] ?? 0) : 0;
    addon().unary(op, xv, out, alpha);
    return activationOutput(backend, [...x.shape], out);
  });
}
