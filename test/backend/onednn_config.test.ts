import * as path from 'path';
import { describe, expect, it, vi } from 'vitest';

import { readConfig } from '../../src/backend/onednn/config';
import { boundOpenMpSpinning, DEFAULT_GOMP_SPINCOUNT } from '../../src/backend/onednn/addon';

describe("OpenMP's waiting when the addon loads (boundOpenMpSpinning)", () => {
  it('bounds the spin when the user set no policy; keeps GOMP_SPINCOUNT or OMP_WAIT_POLICY when set', () => {
    const none: Record<string, string | undefined> = { PATH: '/bin' };
    boundOpenMpSpinning(none);
    expect(none).toEqual({ PATH: '/bin', GOMP_SPINCOUNT: '100000' });
    expect(DEFAULT_GOMP_SPINCOUNT).toBe('100000');
    const spin = { GOMP_SPINCOUNT: '5' };
    boundOpenMpSpinning(spin);
    expect(spin).toEqual({ GOMP_SPINCOUNT: '5' });
    const policy: Record<string, string | undefined> = { OMP_WAIT_POLICY: 'passive' };
    boundOpenMpSpinning(policy);
    expect(policy).toEqual({ OMP_WAIT_POLICY: 'passive' });
  });
});

describe('onednn switches (src/backend/onednn/config.ts)', () => {
  it('defaults when nothing is set, silently', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const c = readConfig({});
    // an empty value is unset too (POOL_MB), and 'auto' is valid (CONV)
    const empty = readConfig({ RESNET_ONEDNN_POOL_MB: '', RESNET_ONEDNN_CONV: 'auto' });
    const warnings = [...warn.mock.calls];
    warn.mockRestore();
    expect(warnings).toEqual([]);
    expect([empty.bufferPoolLimitMb, empty.convAlgorithm]).toEqual([2048, 'auto']);
    expect(c).toEqual({
      addonPath: expect.stringMatching(/native[/\\]build[/\\]Release[/\\]resnet_onednn\.node$/),
      convAlgorithm: 'auto',
      convMeasure: true,
      convMethodCache: expect.stringMatching(/resnet-ts[/\\]conv-methods$/),
      lazyInputGradient: true,
      bufferPool: true,
      bufferPoolLimitMb: 2048,
      fusedReluGrad: true,
      inPlaceUpdates: true,
    });
    expect(path.isAbsolute(c.addonPath)).toBe(true);
  });

  it('reads every RESNET_ONEDNN_* switch', () => {
    expect(
      readConfig({
        RESNET_ONEDNN_ADDON: '/x/y.node',
        RESNET_ONEDNN_CONV: 'GEMM',
        RESNET_ONEDNN_CONV_MEASURE: '0',
        RESNET_ONEDNN_CONV_CACHE: '/c',
        RESNET_ONEDNN_LAZY: '0',
        RESNET_ONEDNN_POOL: '0',
        RESNET_ONEDNN_POOL_MB: '16',
        RESNET_ONEDNN_FUSED_RELU_GRAD: '0',
        RESNET_ONEDNN_IN_PLACE: '0',
      }),
    ).toEqual({
      addonPath: '/x/y.node',
      convAlgorithm: 'gemm',
      convMeasure: false,
      convMethodCache: '/c',
      lazyInputGradient: false,
      bufferPool: false,
      bufferPoolLimitMb: 16,
      fusedReluGrad: false,
      inPlaceUpdates: false,
    });
    expect(readConfig({ RESNET_ONEDNN_CONV: 'direct' }).convAlgorithm).toBe('direct');
    expect(readConfig({ RESNET_ONEDNN_CONV: 'Winograd' }).convAlgorithm).toBe('winograd');
    expect(readConfig({ RESNET_ONEDNN_POOL_MB: '0' }).bufferPoolLimitMb).toBe(0);
    expect(readConfig({ RESNET_ONEDNN_POOL_MB: '0.5' }).bufferPoolLimitMb).toBe(0.5);
  });

  it('ignores malformed values with a warning, keeping the defaults', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const c = readConfig({ RESNET_ONEDNN_CONV: 'fft', RESNET_ONEDNN_POOL_MB: 'lots' });
      expect(c.convAlgorithm).toBe('auto');
      expect(c.bufferPoolLimitMb).toBe(2048);
      expect(warn.mock.calls.map((a) => String(a[0])).join('\n')).toMatch(
        /RESNET_ONEDNN_CONV=fft[^]*RESNET_ONEDNN_POOL_MB=lots/,
      );
      // a negative or infinite size is malformed too
      expect(readConfig({ RESNET_ONEDNN_POOL_MB: '-1' }).bufferPoolLimitMb).toBe(2048);
      expect(readConfig({ RESNET_ONEDNN_POOL_MB: 'Infinity' }).bufferPoolLimitMb).toBe(2048);
      expect(warn.mock.calls.slice(-2).map((a) => String(a[0]))).toEqual([
        'RESNET_ONEDNN_POOL_MB=-1 ignored: expected a number of MiB >= 0',
        'RESNET_ONEDNN_POOL_MB=Infinity ignored: expected a number of MiB >= 0',
      ]);
    } finally {
      warn.mockRestore();
    }
  });
});
