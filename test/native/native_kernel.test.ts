/**
 * The wrapper every native kernel goes through (kernel_helpers/native_kernel.ts), with stand-in
 * implementations on tfjs's cpu back end, so it runs without the addon: a native result is counted
 * native; null, or a throw, runs the JS kernel of the same name (a throw warns once per kernel);
 * in strict mode a throw is an error naming the kernel, with the original as its cause; and the
 * small helpers the kernels share (broadcastInner is checked in elementwise.test.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { afterEach, describe, expect, it, vi } from 'vitest';

import '../../src/tfjs_setup';
import * as addonModule from '../../src/backend/onednn/addon';
import {
  addon,
  callStats,
  f32,
  type KernelArgs,
  nativeKernel,
  output,
  sizeOf,
} from '../../src/backend/onednn/kernel_helpers/native_kernel';
import { useBackendNow } from '../helpers/backend';

/** A fresh kernel name (the one-time warning is remembered per name for the process) with a JS kernel: x + 1. */
function jsKernel(): string {
  const name = `TestPlusOne_${Math.random().toString(36).slice(2)}`;
  tf.registerKernel({
    kernelName: name,
    backendName: 'cpu',
    kernelFunc: (({ inputs, backend }: KernelArgs) => {
      const v = f32(backend, inputs.x)!;
      return output(
        backend,
        [...inputs.x.shape],
        v.map((e) => e + 1),
      );
    }) as unknown as tf.KernelFunc,
  });
  return name;
}

function call(config: tf.KernelConfig, x: tf.Tensor): number[] {
  const backend = tf.backend() as MathBackendCPU;
  const info = (config.kernelFunc as unknown as (a: KernelArgs) => tf.TensorInfo)({
    inputs: { x },
    backend,
    attrs: {},
  });
  const values = Array.from(f32(backend, info)!);
  backend.disposeData(info.dataId);
  return values;
}

describe('nativeKernel (stand-in implementations on the cpu back end)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is a kernel of the onednn back end under the given name', () => {
    const k = nativeKernel('Foo', () => null);
    expect([k.kernelName, k.backendName]).toEqual(['Foo', 'onednn']);
  });

  it('a native result is returned and counted native; null runs the JS kernel, counted as a fallback', () => {
    useBackendNow('cpu');
    const name = jsKernel();
    const x = tf.tensor([1, 2, 3]);
    const native = nativeKernel(name, ({ inputs, backend }) =>
      output(
        backend,
        [3],
        f32(backend, inputs.x)!.map((e) => e * 10),
      ),
    );
    expect(call(native, x)).toEqual([10, 20, 30]);
    expect(callStats.get(name)).toEqual({ native: 1, fallback: 0 });
    const declined = nativeKernel(name, () => null);
    expect(call(declined, x)).toEqual([2, 3, 4]);
    expect(call(declined, x)).toEqual([2, 3, 4]);
    expect(callStats.get(name)).toEqual({ native: 1, fallback: 2 });
    x.dispose();
  });

  it('a throwing implementation falls back to JS with one warning per kernel, naming it and the error', () => {
    useBackendNow('cpu');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const name = jsKernel();
    const x = tf.tensor([5]);
    const failing = nativeKernel(name, () => {
      throw new Error('oneDNN said no');
    });
    expect(call(failing, x)).toEqual([6]);
    expect(call(failing, x)).toEqual([6]);
    expect(warn.mock.calls).toEqual([[`onednn: ${name} fell back to the JS kernel: oneDNN said no`]]);
    expect(callStats.get(name)).toEqual({ native: 0, fallback: 2 });
    // another kernel warns for itself
    const other = jsKernel();
    call(
      nativeKernel(other, () => {
        throw new Error('again');
      }),
      x,
    );
    expect(warn).toHaveBeenCalledTimes(2);
    x.dispose();
  });

  it('strict: a throw is an error naming the kernel, caused by the original; not strict: the JS kernel', () => {
    useBackendNow('cpu');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const name = jsKernel();
    const x = tf.tensor([1]);
    const original = new Error('bf16 primitive unavailable');
    let strict = true;
    const k = nativeKernel(
      name,
      () => {
        throw original;
      },
      { strict: () => strict },
    );
    let thrown: unknown;
    try {
      call(k, x);
    } catch (e) {
      thrown = e;
    }
    expect((thrown as Error).message).toBe(`onednn: ${name} failed: bf16 primitive unavailable`);
    expect((thrown as Error).cause).toBe(original);
    expect(warn).not.toHaveBeenCalled();
    expect(callStats.get(name)).toBeUndefined();
    strict = false;
    expect(call(k, x)).toEqual([2]);
    expect(callStats.get(name)).toEqual({ native: 0, fallback: 1 });
    x.dispose();
  });

  it('without a JS kernel of that name, declining is an error naming the kernel', () => {
    useBackendNow('cpu');
    const x = tf.tensor([1]);
    expect(() =>
      call(
        nativeKernel('NoSuchKernelAnywhere', () => null),
        x,
      ),
    ).toThrow('onednn: no native path and no cpu kernel for NoSuchKernelAnywhere');
    x.dispose();
  });
});

describe('addon()', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is the loaded addon; without one, an error giving the reason it did not load', () => {
    const load = vi.spyOn(addonModule, 'loadAddon');
    load.mockReturnValue({ addon: null, path: '/x/resnet_onednn.node', reason: 'native addon not built (test)' });
    expect(() => addon()).toThrow('native addon not built (test)');
    const fake = {} as addonModule.OneDnnAddon;
    load.mockReturnValue({ addon: fake, path: '/x/resnet_onednn.node', reason: '' });
    expect(addon()).toBe(fake);
  });
});

describe('shape and data helpers', () => {
  it('f32: the Float32Array of float32 data; null for no tensor or other dtypes', () => {
    useBackendNow('cpu');
    const backend = tf.backend() as MathBackendCPU;
    const f = tf.tensor([1.5, 2]);
    const i = tf.tensor([1, 2], undefined, 'int32');
    expect(f32(backend, f)).toEqual(Float32Array.from([1.5, 2]));
    expect(f32(backend, i)).toBeNull();
    expect(f32(backend, null)).toBeNull();
    expect(f32(backend, undefined)).toBeNull();
    // the dtype decides, not the array that holds the values
    const declaredInt = backend.makeTensorInfo([2], 'int32', new Float32Array([1, 2]) as never);
    expect(f32(backend, declaredInt)).toBeNull();
    backend.disposeData(declaredInt.dataId);
    tf.dispose([f, i]);
  });

  it('sizeOf multiplies the dimensions (a scalar has one element)', () => {
    expect(sizeOf([])).toBe(1);
    expect(sizeOf([2, 3, 4])).toBe(24);
    expect(sizeOf([5, 0, 2])).toBe(0);
  });
});
