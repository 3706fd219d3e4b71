/**
 * The one place that chooses where tensors live (the seed's `utils.try_gpu()`).
 *
 * Order: @tensorflow/tfjs-node-gpu (CUDA) > @tensorflow/tfjs-node (libtensorflow CPU) >
 * 'onednn' (this project's native oneDNN kernels) > 'cpu' (tfjs's pure-JS kernels).
 * The tfjs-node packages are optional: they are tried with require() and skipped, with the
 * reason recorded, when they are absent or their native library does not load. Nothing here
 * throws because an optional back end is missing.
 *
 * RESNET_TS_BACKEND=tensorflow-gpu|tensorflow|onednn|cpu forces one (an error if unavailable).
 * It also sets the precision (src/backend/precision.ts): `precision` or RESNET_TS_PRECISION, default fp32.
 */
import * as tf from '@tensorflow/tfjs-core';
import '../tfjs_setup';
import { loadAddon } from './onednn/addon';
import { setConvPrecision } from './onednn/kernel_helpers/conv_common';
import { registerOneDnnBackend } from './onednn/register';
import {
  Bf16Support,
  parsePrecisionRequest,
  Precision,
  PrecisionRequest,
  readBf16CpuFlags,
  resolvePrecision,
} from './precision';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'onednn' | 'cpu';

export interface BackendAttempt {
  name: BackendName;
  ok: boolean;
  reason: string;
}

export interface Device {
  /** The tfjs back end now active ('tensorflow', 'onednn' or 'cpu'). */
  backend: string;
  kind: 'gpu' | 'cpu';
  /** Training precision: 'fp32', or 'bf16' for the convolutions (src/backend/precision.ts). */
  precision: Precision;
  /** One line for logs: "cpu (onednn: oneDNN 2.6.3, 2 threads), fp32". */
  description: string;
  /** Every candidate tried, in order, with why it was or was not taken. */
  attempts: BackendAttempt[];
}

const ORDER: BackendName[] = ['tensorflow-gpu', 'tensorflow', 'onednn', 'cpu'];

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0];
}

const tfjsNodeLoads = new Map<string, { ok: boolean; reason: string }>();

/**
 * Loads @tensorflow/tfjs-node(-gpu) once per process. A copy installed without its native
 * library registers its kernels and then throws; requiring it again would re-register them with
 * a screenful of warnings, so the outcome is cached and tfjs's warnings during the attempt are
 * held back (the reason says what went wrong).
 */
function loadTfjsNode(pkg: string): { ok: boolean; reason: string } {
  const cached = tfjsNodeLoads.get(pkg);
  if (cached) return cached;
  const warn = console.warn;
  let result: { ok: boolean; reason: string };
  console.warn = () => {};
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional package, loaded only when asked for
    require(pkg);
    result = { ok: tf.findBackendFactory('tensorflow') != null, reason: `${pkg} loaded` };
  } catch (e) {
    const code = (e as { code?: string }).code;
    result = {
      ok: false,
      reason:
        code === 'MODULE_NOT_FOUND' && errorText(e).includes(pkg)
          ? `${pkg} is not installed (optional dependency)`
          : `${pkg} did not load (its install step downloads libtensorflow; where that works: npm rebuild ${pkg}): ${errorText(e)}`,
    };
  } finally {
    console.warn = warn;
  }
  tfjsNodeLoads.set(pkg, result);
  return result;
}

/** Makes one candidate available to tfjs; returns why not when it cannot. */
function prepare(name: BackendName): { ok: boolean; reason: string; tfName: string } {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow':
      return {
        ...loadTfjsNode(name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node'),
        tfName: 'tensorflow',
      };
    case 'onednn':
      return { ...registerOneDnnBackend(), tfName: 'onednn' };
    case 'cpu':
      return { ok: true, reason: "tfjs's pure-JS kernels (slow: one core, no vectorised convolutions)", tfName: 'cpu' };
  }
}

function describe(name: BackendName, reason: string): string {
  const kind = name === 'tensorflow-gpu' ? 'gpu' : 'cpu';
  return `${kind} (${name}: ${reason})`;
}

let current: Device | undefined;

let detected: Bf16Support | undefined;

/** What this machine offers for bf16: the CPU's flags and whether oneDNN makes a bf16 convolution (once). */
export function detectBf16Support(): Bf16Support {
  if (detected) return detected;
  const addon = loadAddon().addon;
  const probe = addon ? addon.bf16Support() : null;
  return (detected = {
    cpuFlags: readBf16CpuFlags(),
    onednnConv: probe ? probe.conv : null,
    onednnImpl: probe ? probe.impl : '',
  });
}

export interface TryGpuOptions {
  prefer?: BackendName;
  /** fp32 | bf16 | auto | bf16-emulated; default RESNET_TS_PRECISION, else fp32. */
  precision?: PrecisionRequest;
  log?: (line: string) => void;
  /** The bf16 detection result to use instead of this machine's (tests). */
  bf16Support?: Bf16Support;
}

/**
 * Picks the best available back end, activates it and reports the choice.
 * `prefer` (or RESNET_TS_BACKEND) forces a back end and fails loudly if it is unavailable.
 */
export async function tryGpu(opts: TryGpuOptions = {}): Promise<Device> {
  const prefer = opts.prefer ?? (process.env.RESNET_TS_BACKEND as BackendName | undefined) ?? undefined;
  if (prefer && !ORDER.includes(prefer)) {
    throw new Error(`unknown back end '${prefer}' (RESNET_TS_BACKEND / --backend): use one of ${ORDER.join(', ')}`);
  }
  const request =
    opts.precision != null
      ? parsePrecisionRequest(opts.precision, 'precision')
      : parsePrecisionRequest(process.env.RESNET_TS_PRECISION || 'fp32', 'RESNET_TS_PRECISION');
  const candidates = prefer ? [prefer] : ORDER;
  const attempts: BackendAttempt[] = [];
  for (const name of candidates) {
    const p = prepare(name);
    let ok = p.ok;
    let reason = p.reason;
    // the precision first: a request this back end cannot serve throws before anything changes
    const choice = ok ? resolvePrecision(request, name, opts.bf16Support ?? bf16SupportFor(name)) : null;
    if (ok) {
      try {
        ok = await tf.setBackend(p.tfName);
        if (!ok) reason = `tf.setBackend('${p.tfName}') failed`;
      } catch (e) {
        ok = false;
        reason = `tf.setBackend('${p.tfName}') threw: ${errorText(e)}`;
      }
    }
    attempts.push({ name, ok, reason });
    if (ok) {
      setConvPrecision(choice!.precision);
      current = {
        backend: tf.getBackend(),
        kind: name === 'tensorflow-gpu' ? 'gpu' : 'cpu',
        precision: choice!.precision,
        description: `${describe(name, reason)}, ${choice!.reason}`,
        attempts,
      };
      if (name === 'cpu' && !prefer) {
        const why = attempts
          .filter((a) => !a.ok)
          .map((a) => `${a.name}: ${a.reason}`)
          .join('; ');
        (opts.log ?? console.warn)(
          `resnet-ts: using tfjs's pure-JS CPU back end, which is very slow for ResNets (${why}).`,
        );
      }
      return current;
    }
  }
  throw new Error(`back end '${prefer}' is not available: ${attempts.map((a) => a.reason).join('; ')}`);
}

/** Detection only where bf16 could run (the onednn back end); the others never get it. */
function bf16SupportFor(name: BackendName): Bf16Support {
  return name === 'onednn' ? detectBf16Support() : { cpuFlags: [], onednnConv: null, onednnImpl: '' };
}

/** The device chosen by the last tryGpu() call (undefined before it). */
export function currentDevice(): Device | undefined {
  return current;
}
