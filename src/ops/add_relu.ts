/**
 * relu(a + b) as ONE op with its own gradient: the end of every residual block.
 *
 * Composed, the add writes a tensor that only the ReLU reads, and the gradient runs ReLU's gradient and
 * then hands the same tensor to both inputs. Fused, the forward is one pass that writes only the output,
 * and the gradient is one pass over (dy, output): where the output is positive, a + b was positive.
 * Bit for bit the same values as tf.relu(tf.add(a, b)) and its gradient.
 *
 * Kernel contract:
 *   ResnetAddRelu   inputs {a, b} of the same shape (float32) -> max(a + b, 0)   (NaN stays NaN, like Relu)
 * The gradient uses 'ResnetReluGrad' (dx = y > 0 ? dy : 0) where the back end has it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

export const ADD_RELU = 'ResnetAddRelu';
/** The back ends' fused ReLU gradient (src/backend/onednn/kernels/ResnetReluGrad.ts). */
const RELU_GRAD = 'ResnetReluGrad';

function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) != null;
}

/** max(a + b, 0), differentiable in a and b; a and b must have the same shape. */
export function addRelu(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (!tf.util.arraysEqual(a.shape, b.shape) || a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new Error(
      `addRelu: expected two float32 tensors of one shape; got ${a.dtype} ${JSON.stringify(a.shape)} and ` +
        `${b.dtype} ${JSON.stringify(b.shape)}`,
    );
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x1, x2] = args as tf.Tensor[];
    const save = args[2] as tf.GradSaveFunc;
    const y = hasKernel(ADD_RELU)
      ? (tf.engine().runKernel(ADD_RELU, { a: x1, b: x2 }) as tf.Tensor)
      : tf.relu(tf.add(x1, x2));
    save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, [out]: tf.Tensor[]) => {
        const g = hasKernel(RELU_GRAD)
          ? (tf.engine().runKernel(RELU_GRAD, { dy, x: out }) as tf.Tensor)
          : tf.mul(dy, tf.step(out));
        // Two tensors (one shares the other's data): the engine may dispose each input's gradient on its own.
        return [g, tf.clone(g)];
      },
    };
  });
  return (op as (x1: tf.Tensor, x2: tf.Tensor) => tf.Tensor)(a, b);
}

/** JS reference of the kernel, shared by the 'cpu' back end and the native back end's fallback. */
export function addReluJs(a: ArrayLike<number>, b: ArrayLike<number>): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < out.length; i++) {
    const v = Math.fround(a[i] + b[i]);
    out[i] = v > 0 || Number.isNaN(v) ? v : 0;
  }
  return out;
}

/** Registers the JS kernel for tfjs's 'cpu' back end (idempotent). */
export function registerAddReluCpuKernel(): void {
  if (tf.getKernel(ADD_RELU, 'cpu') != null) return;
  tf.registerKernel({
    kernelName: ADD_RELU,
    backendName: 'cpu',
    kernelFunc: (({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }) => {
      const cpu = backend as MathBackendCPU;
      const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const values = (t: tf.TensorInfo) => cpu.data.get(t.dataId).values as Float32Array;
      return cpu.makeTensorInfo(a.shape, 'float32', addReluJs(values(a), values(b)));
    }) as tf.KernelFunc,
  });
}

registerAddReluCpuKernel();
