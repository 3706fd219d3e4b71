/** Float32 unary element-wise kernels. */
import { UnaryOp } from '../addon';
import { addon, allocF32, f32, nativeKernel, output } from './native_kernel';

export function unaryKernel(kernelName: string, op: UnaryOp, alphaAttr?: string) {
  return nativeKernel(kernelName, ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    const xv = f32(backend, x);
    if (!xv || xv.length === 0) return null;
    const out = allocF32(xv.length);
    const alpha = alphaAttr ? Number(attrs?.[alphaAttr] ?? 0) : 0;
    addon().unary(op, xv, out, alpha);
    return output(backend, [...x.shape], out);
  });
}
