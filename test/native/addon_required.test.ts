/**
 * The native addon is present. In CI (env CI non-empty) the addon is built, so its absence FAILS the run
 * with the load reason; on a developer machine without oneDNN this test and the native tests skip with a
 * warning (see _helpers.ts). ci_policy.test.ts checks both outcomes in child processes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import { addonAvailable, nativeRequired, skipReason } from './_helpers';

describe('native addon', () => {
  it.skipIf(!addonAvailable && !nativeRequired)(
    'loads and registers the onednn back end (required when CI is set)',
    () => {
      expect(addonAvailable, `native addon unavailable with CI set: ${skipReason}`).toBe(true);
      expect(tf.findBackendFactory('onednn')).toBeDefined();
    },
  );
});
