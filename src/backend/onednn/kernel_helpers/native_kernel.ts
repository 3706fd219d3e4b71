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

/**
 * How `small` broadcasts to `out` when its values can be read as s[(i / inner) % |s|] for output index i:
 * the axes it keeps (those not 1) form one block of out's axes, and `inner` is the size of out's axes after
 * that block (1 for a trailing operand such as a [C] bias over [N, H, W, C]; C for [N, 1] over [N, C]).
 * Null for any other pattern (e.g. [N, 1, W] over [N, H, W], whose kept axes are not one block).
 */
export function broadcastInner(small: number[], out: number[]): number | null {
  if (small.length > out.length) return null;
  const s = [...new Array<number>(out.length - small.length).fill(1), ...small];
  const kept = out.map((d, k) => d !== 1 && s[k] === d);
  const first = kept.indexOf(true),
    last = kept.lastIndexOf(true);
  for (let k = 0; k < out.length; k++) {
    if (s[k] !== 1 && s[k] !== out[k]) return null; // not a broadcast of out at all
    if (k > first && k < last && out[k] !== 1 && !kept[k]) return null; // a broadcast axis inside the block
  }
  return first < 0 ? 1 : sizeOf(out.slice(last + 1));
}
