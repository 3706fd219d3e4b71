import { addon, allocF32, f32, nativeKernel, output } from '../kernel_helpers/native_kernel';

/** Kernel name of src/ops/add_relu.ts (kept literal so this back end does not import the op). */
export const ADD_RELU = 'ResnetAddRelu';

/** max(a + b, 0) in one native pass; operands of one shape (anything else runs the JS kernel). */
export const addReluConfig = nativeKernel(ADD_RELU, ({ inputs, backend }) => {
  const { a, b } = inputs;
  const av = f32(backend, a),
    bv = f32(backend, b);
  if (!av || !bv || av.length !== bv.length || av.length === 0) return null;
  const out = allocF32(av.length);
  addon().addRelu(av, bv, out);
  return output(backend, [...a.shape], out);
});
