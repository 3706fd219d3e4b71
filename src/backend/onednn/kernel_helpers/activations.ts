/**
 * bf16 activations between layers (issue #28 item 2). In the bf16 precisions the kernels that produce a
 * network's activations (convolutions, training batch norm, the residual add + ReLU) write bf16 bits, and the
 * kernels that consume them read the bits directly, as PyTorch's autocast keeps bf16 tensors between layers:
 * half the bytes through memory, and no float32 -> bf16 conversion before each convolution. Both bf16
 * precisions store them so (emulated bf16 too, so the data flow and its counts are the same on any CPU);
 * float32 keeps float32 everywhere. Weights, gradients of weights, BN statistics and the loss stay float32.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import { allocBf16, allocF32, type ActivationArray } from '../addon';
import { OneDnnBackend } from '../backend';
import { convPrecision } from './conv_common';
import { f32, output } from './native_kernel';

/** Whether activations are stored as bf16 now: the bf16 precisions on this back end. */
export function bf16Activations(backend: MathBackendCPU): boolean {
  return convPrecision() !== 'fp32' && backend instanceof OneDnnBackend;
}

/**
 * An activation as the native kernels read it: its bf16 bits when it is stored so and activations are bf16
 * now (not widened), else its float32 values (widened if need be: a precision changed back to float32 runs
 * every method, and only direct takes bits).
 */
export function activationIn(backend: MathBackendCPU, t: TensorInfo | null | undefined): ActivationArray | null {
  if (t == null) return null;
  const bits = bf16Activations(backend) ? (backend as OneDnnBackend).bf16Values(t) : null; // float32 tensors only
  return bits ?? f32(backend, t);
}

/** Storage for an activation output of n elements: bf16 bits when activations are bf16, else float32. */
export function allocActivation(backend: MathBackendCPU, n: number): ActivationArray {
  return bf16Activations(backend) ? allocBf16(n) : allocF32(n);
}

/** The output tensor over an activation array (a bf16 activation for bf16 bits). */
export function activationOutput(backend: MathBackendCPU, shape: number[], values: ActivationArray): TensorInfo {
  if (values instanceof Uint16Array) return (backend as OneDnnBackend).makeBf16TensorInfo(shape, values);
  return output(backend, shape, values);
}
