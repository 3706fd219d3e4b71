import { Cast, CastAttrs, getKernel, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

/**
 * Cast to float32 that really stores float32. tfjs's cpu Cast treats bool -> float32 and int32 -> float32
 * as lossless and shares the input's Uint8Array / Int32Array under a float32 dtype, so every native kernel
 * that reads the result (e.g. the Sum that counts correct predictions) found no Float32Array and fell back
 * to JS. Converting once here keeps those consumers native. Other casts are tfjs's own.
 */
export const castConfig: KernelConfig = {
  kernelName: Cast,
  backendName: 'onednn',
  kernelFunc: ((args: { inputs: { x: TensorInfo }; backend: MathBackendCPU; attrs: CastAttrs }) => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs;
    if (attrs.dtype === 'float32' && (x.dtype === 'bool' || x.dtype === 'int32')) {
      const values = backend.data.get(x.dataId).values as Uint8Array | Int32Array;
      return backend.makeTensorInfo([...x.shape], 'float32', Float32Array.from(values));
    }
    return (getKernel(Cast, 'cpu')!.kernelFunc as KernelFunc)(args as never);
  }) as unknown as KernelFunc,
};
