/**
 * Shared helpers of the native back-end tests: registration, seeded random data and a
 * "same op on 'cpu' and on 'onednn'" comparison that also checks the native kernels ran (nativeKernel
 * falls back to JS on any native error, so without that check a broken addon compares cpu with cpu).
 *
 * Error measure: max |native - cpu| / max(max |cpu|, 1e-6) over all elements (relative to the output's scale,
 * so that sums with cancellation are judged fairly). Tolerances are stated per test.
 */
import * as tf from '@tensorflow/tfjs-core';
import '../../src/tfjs_setup'; // gradients, the cpu back end, the colleague's JS BN kernels

import { loadAddon } from '../../src/backend/onednn/addon';
import { callStats } from '../../src/backend/onednn/kernel_helpers/native_kernel';
import { registerOneDnnBackend } from '../../src/backend/onednn/register';
import { useBackendNow } from '../helpers/backend';

const load = loadAddon();
export const addonAvailable = load.addon != null && registerOneDnnBackend().ok;
export const skipReason = addonAvailable ? '' : load.reason || registerOneDnnBackend().reason;
/** CI (env CI non-empty) builds the addon: there its absence fails the run (addon.test.ts), elsewhere it skips. */
export const nativeRequired = !!process.env.CI;
if (!addonAvailable) {
  console.warn(`[native tests ${nativeRequired ? 'FAIL (CI set)' : 'skipped'}] ${skipReason}`);
}

export type StatsSnapshot = Map<string, { native: number; fallback: number }>;

export function statsSnapshot(): StatsSnapshot {
  return new Map([...callStats].map(([k, v]) => [k, { ...v }]));
}

/** Native and fallback calls of `name` since `before`. */
export function callsSince(before: StatsSnapshot, name: string): { native: number; fallback: number } {
  const now = callStats.get(name) ?? { native: 0, fallback: 0 };
  const was = before.get(name) ?? { native: 0, fallback: 0 };
  return { native: now.native - was.native, fallback: now.fallback - was.fallback };
}

/** Throws unless every kernel in `kernels` ran natively since `before` and never fell back to JS. */
export function assertNativeSince(before: StatsSnapshot, kernels: string[]): void {
  if (kernels.length === 0) throw new Error('assertNativeSince: name the kernels that must run natively');
  const bad = kernels.map((k) => ({ k, d: callsSince(before, k) })).filter(({ d }) => d.native === 0 || d.fallback > 0);
  if (bad.length > 0) {
    throw new Error(
      `expected native calls only, got ${bad
        .map(({ k, d }) => `${k}: ${d.native} native, ` + `${d.fallback} fallback`)
        .join('; ')}`,
    );
  }
}

/**
 * What compare() checks about the onednn run: the kernels that must run natively (each: native calls > 0,
 * fallbacks = 0), or, where a JS fallback is the point of the test, the reason.
 */
export type NativeExpectation = string[] | { fallbackExpected: string };

/** Deterministic uniform [-1, 1) (mulberry32). */
export function rand(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

export function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let maxDiff = 0,
    maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i],
      a = actual[i];
    if (Number.isNaN(e) !== Number.isNaN(a)) return Infinity;
    if (Number.isNaN(e)) continue;
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      if (e !== a) return Infinity;
      continue;
    }
    maxDiff = Math.max(maxDiff, Math.abs(a - e));
    maxRef = Math.max(maxRef, Math.abs(e));
  }
  return maxDiff / Math.max(maxRef, 1e-6);
}

/** tfjs's explicit NHWC padding: [[0, 0], [top, bottom], [left, right], [0, 0]]. */
export type ExplicitPad = [[number, number], [number, number], [number, number], [number, number]];

/** One convolution test case: batch, input map, channels, k x k filter, stride, tfjs padding, groups. */
export interface ConvCase<Pad = 'same' | 'valid' | number | ExplicitPad> {
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  k: number;
  s: number;
  pad: Pad;
  groups?: number;
}

export const convCaseName = (c: ConvCase<unknown>) =>
  `N${c.n} ${c.h}x${c.w}x${c.cin}->${c.cout} k${c.k} s${c.s} pad ${JSON.stringify(c.pad)}` +
  (c.groups ? ` groups ${c.groups}` : '');

export interface Spec {
  shape: number[];
  seed: number;
  dtype?: 'float32' | 'int32';
  values?: ArrayLike<number>;
}

/**
 * Runs `f` on fresh tensors built from `specs` under `backend`; returns every output's values and shape.
 * Inputs are created inside the back end, outputs read back and everything disposed.
 */
export function runOn(backend: string, specs: Spec[], f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[]) {
  useBackendNow(backend);
  if (tf.getBackend() !== backend) throw new Error(`could not select ${backend}`);
  return tf.tidy(() => {
    const xs = specs.map((s) => {
      const size = s.shape.reduce((p, q) => p * q, 1);
      const v = s.values ?? rand(size, s.seed);
      return s.dtype === 'int32'
        ? tf.tensor(
            Int32Array.from(v, (q) => Math.round(q * 10)),
            s.shape,
            'int32',
          )
        : tf.tensor(v as Float32Array, s.shape, 'float32');
    });
    const r = f(...xs);
    const outs = Array.isArray(r) ? r : [r];
    return outs.map((o) => ({ shape: o.shape, values: o.dataSync().slice(), dtype: o.dtype }));
  });
}

/**
 * Max relative error between native and JS cpu over all outputs; shapes and dtypes must agree, and the
 * onednn run must have called the `native` kernels natively (see NativeExpectation).
 */
export function compare(
  specs: Spec[],
  f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
  native: NativeExpectation,
): number {
  const ref = runOn('cpu', specs, f);
  const before = statsSnapshot();
  const got = runOn('onednn', specs, f);
  if (Array.isArray(native)) assertNativeSince(before, native);
  else if (!native.fallbackExpected) throw new Error('compare: say why a fallback is expected');
  let err = 0;
  ref.forEach((r, i) => {
    const g = got[i];
    if (JSON.stringify(g.shape) !== JSON.stringify(r.shape) || g.dtype !== r.dtype) {
      throw new Error(
        `output ${i}: shape/dtype ${JSON.stringify(g.shape)} ${g.dtype} vs ${JSON.stringify(r.shape)} ${r.dtype}`,
      );
    }
    err = Math.max(err, relErr(g.values as ArrayLike<number>, r.values as ArrayLike<number>));
  });
  return err;
}

/** float32(bf16(v)), rounding to nearest even: the JS twin of native/src/bf16.h. */
export function bf16RoundJs(v: Float32Array): Float32Array {
  const u = new Uint32Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  for (let i = 0; i < u.length; i++) {
    const x = u[i];
    if ((x & 0x7fffffff) >>> 0 > 0x7f800000) u[i] = ((x | 0x400000) & 0xffff0000) >>> 0;
    else u[i] = ((x + 0x7fff + ((x >>> 16) & 1)) & 0xffff0000) >>> 0;
  }
  return new Float32Array(u.buffer);
}
