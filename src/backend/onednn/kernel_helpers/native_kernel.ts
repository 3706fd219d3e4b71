/** Helpers shared by the native kernels: typed-array access, output allocation, JS fallback. */
import { getKernel, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import { allocF32, loadAddon, OneDnnAddon } from '../addon';

export type KernelArgs = { inputs: Record<string, TensorInfo>; backend: MathBackendCPU; attrs?: NamedAttrMap };

export function addon(): OneDnnAddon {
  const a = loadAddon().addon;
  if (a == null) throw new Error(loadAddon().reason);
  return a;
}

/** The float32 values of a tensor, or null when it is not float32 data in a Float32Array. */
export function f32(backend: MathBackendCPU, t: TensorInfo | null | undefined): Float32Array | null {
  if (t == null || t.dtype !== 'float32') return null;
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array ? v : null;
}

export function sizeOf(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function output(backend: MathBackendCPU, shape: number[], values: Float32Array): TensorInfo {
  return backend.makeTensorInfo(shape, 'float32', values);
}

export { allocF32 };

/** Counts of native vs fallback calls per kernel (for tests and the profiler). */
export const callStats = new Map<string, { native: number; fallback: number }>();

/** Records one call of `name` (kernels that do not go through nativeKernel count themselves). */
export function bump(name: string, native: boolean) {
  let s = callStats.get(name);
  if (!s) callStats.set(name, (s = { native: 0, fallback: 0 }));
  if (native) s.native++;
  else s.fallback++;
}

/** Runs the JS 'cpu' kernel of the same name on this back end's data (which lives in the same typed arrays). */
export function fallback(name: string, args: KernelArgs): TensorInfo | TensorInfo[] {
  bump(name, false);
  const k = getKernel(name, 'cpu');
  if (k == null) throw new Error(`onednn: no native path and no cpu kernel for ${name}`);
  return (k.kernelFunc as KernelFunc)(args as never);
}

const warned = new Set<string>();

/**
 * Wraps a native implementation: `impl` returns null when the inputs are outside what it handles,
 * and the JS cpu kernel runs instead (also, with a one-time warning, when the native call throws,
 * unless `opts.strict()` says a fallback would be wrong: then the error propagates).
 */
export function nativeKernel(
  kernelName: string,
  impl: (args: KernelArgs) => TensorInfo | TensorInfo[] | null,
  opts: { strict?: () => boolean } = {},
): KernelConfig {
  return {
    kernelName,
    backendName: 'onednn',
    kernelFunc: ((args: KernelArgs) => {
      let r: TensorInfo | TensorInfo[] | null;
      try {
        r = impl(args);
      } catch (e) {
        if (opts.strict?.()) throw new Error(`onednn: ${kernelName} failed: ${(e as Error).message}`, { cause: e });
        // e.g. a configuration oneDNN rejects: correct results from JS rather than an error
        if (!warned.has(kernelName)) {
          warned.add(kernelName);
          console.warn(`onednn: ${kernelName} fell back to the JS kernel: ${(e as Error).message}`);
        }
        r = null;
      }
      if (r == null) return fallback(kernelName, args);
      bump(kernelName, true);
      return r;
    }) as unknown as KernelFunc,
  };
}

/** Leading 1s dropped. */
export function squeezeLeading(shape: number[]): number[] {
  let i = 0;
  while (i < shape.length && shape[i] === 1) i++;
  return shape.slice(i);
}

/** True when `small` broadcasts to `out` by repetition (its shape, without leading 1s, is out's trailing shape). */
export function isTrailingBroadcast(small: number[], out: number[]): boolean {
  const s = squeezeLeading(small);
  if (s.length > out.length) return false;
  const tail = out.slice(out.length - s.length);
  return s.every((d, i) => d === tail[i]);
}
