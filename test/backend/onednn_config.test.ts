import * as path from 'path';
import { describe, expect, it, vi } from 'vitest';

import { readConfig } from '../../src/backend/onednn/config';

describe('onednn switches (src/backend/onednn/config.ts)', () => {
  it('defaults when nothing is set', () => {
    const c = readConfig({});
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
    } finally {
      warn.mockRestore();
    }
  });
});
