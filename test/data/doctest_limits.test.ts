/** RESNET_TS_DOCTEST (set by the doc tests) shrinks the data set of the README's examples to 64 / 32 images. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { doctestLimits } from '../../src/data/doctest_limits';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('doctestLimits', () => {
  it('1, true, yes, on in any case give 64 training and 32 test images', () => {
    for (const v of ['1', 'true', 'True', 'yes', 'YES', 'on', 'On'])
      expect(doctestLimits({ RESNET_TS_DOCTEST: v }), v).toStrictEqual({ trainLimit: 64, testLimit: 32 });
  });

  it('anything else, or no variable, gives no limits', () => {
    for (const v of ['0', 'false', 'no', 'off', '', ' 1', 'yes ', 'x1', '11', 'onward'])
      expect(doctestLimits({ RESNET_TS_DOCTEST: v }), JSON.stringify(v)).toBeUndefined();
    expect(doctestLimits({})).toBeUndefined();
  });

  it('reads process.env by default', () => {
    vi.stubEnv('RESNET_TS_DOCTEST', 'yes');
    expect(doctestLimits()).toStrictEqual({ trainLimit: 64, testLimit: 32 });
    vi.stubEnv('RESNET_TS_DOCTEST', '');
    expect(doctestLimits()).toBeUndefined();
  });
});
