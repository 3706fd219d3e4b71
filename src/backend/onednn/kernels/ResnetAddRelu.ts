import { addon, nativeKernel } from '../kernel_helpers/native_kernel';
import { activationIn, activationOutput, allocActivation } from '../kernel_helpers/activations';

/** Kernel name of src/ops/add_relu.ts (kept literal so this back end does not import the op). */
export const ADD_RELU = 'ResnetAddRelu';

/**
 * max(a + b, 0) in one native pass; operands of one shape (anything else runs the JS kernel). A residual
 * block's output: a bf16 activation in the bf16 precisions.
 */
export const addReluConfig = nativeKernel(ADD_RELU, ({ inputs, backend }) => {
  const { a, b } = inputs;
  const av = activationIn(backend, a),
    bv = activationIn(backend, b);
  if (!av || !bv || av.length !== bv.length || av.length === 0) return null;
  const out = allocActivation(backend, av.length);
  addon().addRelu(av, bv, out);
  return activationOutput(backend, [...a.shape], out);
});
