/**
 * Mixed precision for training on a CPU, chosen in one place (like `torch.autocast(dtype=bfloat16)` or Keras'
 * `mixed_bfloat16` policy):
 *  - 'fp32': everything in float32 (the seed recipe's default: it reproduces the chapter).
 *  - 'bf16': the convolutions (forward, backward-data, backward-weights) read bf16 copies of their inputs and
 *    accumulate and write float32; variables, optimizer state, batch-norm statistics, the loss and every
 *    tensor tfjs sees stay float32. Only on the onednn back end and only where the CPU has bf16
 *    instructions (avx512_bf16 or amx_bf16); elsewhere asking for it is an error naming what is missing.
 *  - 'auto': 'bf16' where the CPU does it natively, else 'fp32'.
 *  - 'bf16-emulated': bf16's rounding of the same inputs on float32 kernels: its numerics on any CPU (to check
 *    accuracy or test the bf16 path where the hardware is missing); a little slower than fp32, never faster.
 * Chosen by tryGpu({ precision }) / RESNET_TS_PRECISION / `--precision` on npm start, the bench and the sweep.
 */
import * as fs from 'fs';

export type Precision = 'fp32' | 'bf16' | 'bf16-emulated';
export type PrecisionRequest = Precision | 'auto';
export const PRECISION_REQUESTS: readonly PrecisionRequest[] = ['fp32', 'bf16', 'auto', 'bf16-emulated'];

/** What this machine offers for bf16 (detected once; tests pass their own). */
export interface Bf16Support {
  /** bf16 instructions the CPU reports in /proc/cpuinfo (avx512_bf16, amx_bf16), empty when none. */
  cpuFlags: string[];
  /** oneDNN created a bf16 convolution (null: the native back end is not loaded). */
  onednnConv: boolean | null;
  /** oneDNN's implementation of that convolution (e.g. "brg:avx512_core_amx"), or its error. */
  onednnImpl: string;
}

export interface PrecisionChoice {
  precision: Precision;
  /** Why, for the device description: "bf16: avx512_bf16 (oneDNN jit:avx512_core_bf16)". */
  reason: string;
}

const BF16_FLAGS = ['avx512_bf16', 'amx_bf16'];

/** The bf16 instruction-set flags of the first CPU in /proc/cpuinfo's text. */
export function bf16CpuFlags(cpuinfo: string): string[] {
  const line = cpuinfo.split('\n').find((l) => /^flags\s*:/.test(l)) ?? '';
  const flags = new Set(
    line
      .replace(/^flags\s*:/, '')
      .trim()
      .split(/\s+/),
  );
  return BF16_FLAGS.filter((f) => flags.has(f));
}

/** Reads /proc/cpuinfo (no file: no flags, e.g. not Linux). */
export function readBf16CpuFlags(file = '/proc/cpuinfo'): string[] {
  try {
    return bf16CpuFlags(fs.readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
}

export function parsePrecisionRequest(v: string, source: string): PrecisionRequest {
  if ((PRECISION_REQUESTS as readonly string[]).includes(v)) return v as PrecisionRequest;
  throw new Error(`unknown precision '${v}' (${source}): use one of ${PRECISION_REQUESTS.join(', ')}`);
}

/**
 * The precision a request gets on a back end with the given bf16 support. Throws for 'bf16' where it cannot
 * run natively (message: what is missing and what to use instead); 'auto' then chooses 'fp32'.
 */
export function resolvePrecision(request: PrecisionRequest, backend: string, support: Bf16Support): PrecisionChoice {
  if (request === 'fp32') return { precision: 'fp32', reason: 'fp32' };
  const missing = bf16Missing(backend, support);
  if (request === 'bf16-emulated') {
    if (backend !== 'onednn') throw new Error(`precision 'bf16-emulated' needs the onednn back end, not '${backend}'`);
    return {
      precision: 'bf16-emulated',
      reason: 'bf16-emulated: bf16 rounding on fp32 kernels (numerics only, not speed)',
    };
  }
  if (missing == null) {
    return { precision: 'bf16', reason: `bf16: ${support.cpuFlags.join(', ')} (oneDNN ${support.onednnImpl})` };
  }
  if (request === 'auto') return { precision: 'fp32', reason: `fp32 (auto: ${missing})` };
  throw new Error(
    `precision 'bf16' is not available: ${missing}. Use --precision fp32 or auto ` +
      `(or bf16-emulated for bf16's numerics on fp32 kernels)`,
  );
}

/** Why bf16 cannot run natively here, or null when it can. */
function bf16Missing(backend: string, s: Bf16Support): string | null {
  if (backend !== 'onednn') return `bf16 runs on the onednn back end only, this is '${backend}'`;
  if (s.cpuFlags.length === 0) return 'this CPU has no bf16 instructions (no avx512_bf16 or amx_bf16 in /proc/cpuinfo)';
  if (s.onednnConv === false) return `oneDNN cannot create a bf16 convolution here (${s.onednnImpl})`;
  if (s.onednnConv == null) return 'the native oneDNN addon is not loaded';
  return null;
}
