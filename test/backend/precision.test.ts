/**
 * The precision switch (src/backend/precision.ts, tryGpu({ precision }), RESNET_TS_PRECISION): what 'auto'
 * and 'bf16' choose on CPUs with and without bf16 (detection results simulated), the messages, and that a
 * bf16 convolution that cannot run is an error rather than a quiet float32 fallback.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';

import { convPrecision } from '../../src/backend/onednn/kernel_helpers/conv_common';
import { callStats } from '../../src/backend/onednn/kernel_helpers/native_kernel';
import {
  Bf16Support,
  PRECISION_REQUESTS,
  bf16CpuFlags,
  parsePrecisionRequest,
  readBf16CpuFlags,
  resolvePrecision,
} from '../../src/backend/precision';
import { detectBf16Support, tryGpu } from '../../src/backend/select';
import { addonAvailable, skipReason } from '../native/_helpers';

const none: Bf16Support = {
  cpuFlags: [],
  onednnConv: false,
  onednnImpl: 'could not create a primitive descriptor iterator',
};
const epyc: Bf16Support = { cpuFlags: ['avx512_bf16'], onednnConv: true, onednnImpl: 'jit:avx512_core_bf16' };
const amx: Bf16Support = { cpuFlags: ['avx512_bf16', 'amx_bf16'], onednnConv: true, onednnImpl: 'brg:avx512_core_amx' };

const CPUINFO = (flags: string) =>
  `processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nflags\t\t: ${flags}\nbugs\t\t: sysret_ss_attrs\n\n` +
  `processor\t: 1\nflags\t\t: ${flags}\n`;

describe('bf16 detection from /proc/cpuinfo', () => {
  it('finds avx512_bf16 and amx_bf16 as whole flags only', () => {
    expect(bf16CpuFlags(CPUINFO('fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni'))).toEqual(['avx512_bf16']);
    expect(bf16CpuFlags(CPUINFO('avx512f avx512_bf16 amx_bf16 amx_tile amx_int8'))).toEqual([
      'avx512_bf16',
      'amx_bf16',
    ]);
    expect(bf16CpuFlags(CPUINFO('fpu sse2 avx2 fma'))).toEqual([]);
    expect(bf16CpuFlags(CPUINFO('avx512_bf16x'))).toEqual([]);
    expect(bf16CpuFlags('no flags line at all')).toEqual([]);
  });

  it('reads the flags line itself, not the "vmx flags" line that can sit beside it', () => {
    const cpuinfo = 'processor\t: 0\nvmx flags\t: vnmi avx512_bf16\nflags\t\t: fpu sse2 avx2\n';
    expect(bf16CpuFlags(cpuinfo)).toEqual([]);
    expect(bf16CpuFlags('vmx flags\t: vnmi\nflags\t\t: fpu amx_bf16 avx512_bf16\n')).toEqual([
      'avx512_bf16',
      'amx_bf16',
    ]);
  });

  it('reads the file, and a missing file means no flags', () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cpuinfo-')), 'cpuinfo');
    fs.writeFileSync(f, CPUINFO('sse2 avx512_bf16'));
    expect(readBf16CpuFlags(f)).toEqual(['avx512_bf16']);
    expect(readBf16CpuFlags(f + '.missing')).toEqual([]);
  });

  it("this machine's detection agrees with its /proc/cpuinfo", () => {
    const d = detectBf16Support();
    expect(d.cpuFlags).toEqual(readBf16CpuFlags());
    // oneDNN makes a bf16 convolution exactly where the CPU has bf16 instructions (none on AVX2-only
    // CPUs with oneDNN 2.6.3), and names the implementation it found or the reason it found none.
    if (addonAvailable) {
      expect(d.onednnConv).toBe(d.cpuFlags.length > 0);
      expect(d.onednnImpl.length).toBeGreaterThan(0);
    }
  });
});

describe('resolvePrecision', () => {
  it('auto: bf16 where the CPU has it natively, fp32 elsewhere, naming why', () => {
    expect(resolvePrecision('auto', 'onednn', epyc)).toEqual({
      precision: 'bf16',
      reason: 'bf16: avx512_bf16 (oneDNN jit:avx512_core_bf16)',
    });
    expect(resolvePrecision('auto', 'onednn', amx).reason).toBe(
      'bf16: avx512_bf16, amx_bf16 (oneDNN brg:avx512_core_amx)',
    );
    const fp = resolvePrecision('auto', 'onednn', none);
    expect(fp.precision).toBe('fp32');
    expect(fp.reason).toMatch(/^fp32 \(auto: this CPU has no bf16 instructions \(no avx512_bf16 or amx_bf16/);
    expect(resolvePrecision('auto', 'cpu', epyc)).toMatchObject({
      precision: 'fp32',
      reason: expect.stringMatching(/onednn back end only, this is 'cpu'/),
    });
  });

  it('bf16 on a CPU without it fails with a message saying what is missing and what to use', () => {
    expect(() => resolvePrecision('bf16', 'onednn', none)).toThrow(
      /precision 'bf16' is not available: this CPU has no bf16 instructions.*Use --precision fp32 or auto/,
    );
    // flags present but oneDNN refuses (e.g. an OS without AMX state enabled)
    expect(() =>
      resolvePrecision('bf16', 'onednn', { ...epyc, onednnConv: false, onednnImpl: 'could not create' }),
    ).toThrow(/oneDNN cannot create a bf16 convolution here \(could not create\)/);
    expect(() => resolvePrecision('bf16', 'onednn', { ...epyc, onednnConv: null })).toThrow(/addon is not loaded/);
    expect(() => resolvePrecision('bf16', 'tensorflow', epyc)).toThrow(/onednn back end only, this is 'tensorflow'/);
    expect(resolvePrecision('bf16', 'onednn', epyc).precision).toBe('bf16');
  });

  it('fp32 is always fp32; bf16-emulated needs the onednn back end only', () => {
    for (const s of [none, epyc])
      expect(resolvePrecision('fp32', 'onednn', s)).toEqual({ precision: 'fp32', reason: 'fp32' });
    expect(resolvePrecision('bf16-emulated', 'onednn', none).precision).toBe('bf16-emulated');
    expect(() => resolvePrecision('bf16-emulated', 'cpu', none)).toThrow(/needs the onednn back end/);
  });
});

describe.skipIf(!addonAvailable)(`tryGpu({ precision }) ${skipReason}`, () => {
  const saved = process.env.RESNET_TS_PRECISION;
  afterEach(async () => {
    if (saved === undefined) delete process.env.RESNET_TS_PRECISION;
    else process.env.RESNET_TS_PRECISION = saved;
    await tryGpu({ prefer: 'onednn', precision: 'fp32' });
  });

  it('defaults to fp32 and names it in the description', async () => {
    delete process.env.RESNET_TS_PRECISION;
    const d = await tryGpu({ prefer: 'onednn' });
    expect(d.precision).toBe('fp32');
    expect(convPrecision()).toBe('fp32');
    expect(d.description).toMatch(/^cpu \(onednn: oneDNN [\d.]+, \d+ threads\), fp32$/);
  });

  it('simulated CPU without bf16: auto chooses fp32, bf16 fails with the message and changes nothing', async () => {
    const d = await tryGpu({ prefer: 'onednn', precision: 'auto', bf16Support: none });
    expect(d.precision).toBe('fp32');
    expect(convPrecision()).toBe('fp32');
    expect(d.description).toMatch(/fp32 \(auto: this CPU has no bf16 instructions/);
    await expect(tryGpu({ prefer: 'onednn', precision: 'bf16', bf16Support: none })).rejects.toThrow(
      /precision 'bf16' is not available: this CPU has no bf16 instructions/,
    );
    expect(convPrecision()).toBe('fp32');
  });

  it('simulated bf16 CPU: auto chooses bf16; a convolution oneDNN cannot run in bf16 is an error, not a JS fallback', async () => {
    const d = await tryGpu({ prefer: 'onednn', precision: 'auto', bf16Support: amx });
    expect(d.precision).toBe('bf16');
    expect(convPrecision()).toBe('bf16');
    expect(d.description).toContain('bf16: avx512_bf16, amx_bf16 (oneDNN brg:avx512_core_amx)');
    const fallbacks = () => callStats.get('Conv2D')?.fallback ?? 0;
    const before = fallbacks();
    const run = () =>
      tf.tidy(() =>
        tf.conv2d(tf.ones([1, 8, 8, 16]) as tf.Tensor4D, tf.ones([3, 3, 16, 16]) as tf.Tensor4D, 1, 'same').dataSync(),
      );
    if (detectBf16Support().onednnConv) {
      expect(run()[0]).toBe(16 * 4); // a corner: 2x2 taps x 16 channels, exact in bf16
    } else {
      expect(run).toThrow(/onednn: Conv2D failed: oneDNN: could not create a primitive descriptor iterator/);
    }
    expect(fallbacks()).toBe(before);
  });

  it('RESNET_TS_PRECISION sets it; an unknown value is named', async () => {
    process.env.RESNET_TS_PRECISION = 'bf16-emulated';
    expect((await tryGpu({ prefer: 'onednn' })).precision).toBe('bf16-emulated');
    expect(convPrecision()).toBe('bf16-emulated');
    process.env.RESNET_TS_PRECISION = 'half';
    await expect(tryGpu({ prefer: 'onednn' })).rejects.toThrow(
      /unknown precision 'half' \(RESNET_TS_PRECISION\): use one of fp32, bf16, auto, bf16-emulated/,
    );
    await expect(tryGpu({ prefer: 'onednn', precision: 'fp16' as never })).rejects.toThrow(
      /unknown precision 'fp16' \(precision\)/,
    );
  });

  it('the JS cpu back end: auto is fp32, bf16 is refused', async () => {
    const d = await tryGpu({ prefer: 'cpu', precision: 'auto', bf16Support: amx });
    expect(d.precision).toBe('fp32');
    expect(convPrecision()).toBe('fp32');
    await tryGpu({ prefer: 'onednn' });
    await expect(tryGpu({ prefer: 'cpu', precision: 'bf16', bf16Support: amx })).rejects.toThrow(
      /onednn back end only/,
    );
    expect(tf.getBackend(), 'a refused request leaves the back end as it was').toBe('onednn');
  });
});

describe('precision requests', () => {
  it('the four requests are accepted as they are; anything else is named with where it came from', () => {
    expect(PRECISION_REQUESTS).toEqual(['fp32', 'bf16', 'auto', 'bf16-emulated']);
    for (const r of ['fp32', 'bf16', 'auto', 'bf16-emulated']) expect(parsePrecisionRequest(r, '--precision')).toBe(r);
    expect(() => parsePrecisionRequest('BF16', '--precision')).toThrow(
      new Error("unknown precision 'BF16' (--precision): use one of fp32, bf16, auto, bf16-emulated"),
    );
  });

  it('bf16 where it cannot run: what is missing and what to use instead, in full', () => {
    expect(() => resolvePrecision('bf16', 'onednn', none)).toThrow(
      new Error(
        "precision 'bf16' is not available: this CPU has no bf16 instructions (no avx512_bf16 or amx_bf16 in " +
          "/proc/cpuinfo). Use --precision fp32 or auto (or bf16-emulated for bf16's numerics on fp32 kernels)",
      ),
    );
  });
});
