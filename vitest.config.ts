import * as os from 'node:os';
import * as path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Training and native-kernel tests run real computations on 2 cores.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // One file at a time: files compete for the same two cores (and the native thread pool).
    fileParallelism: false,
    // Convolution methods measured by tests (under test load, on test shapes) stay out of the user's cache.
    env: { RESNET_ONEDNN_CONV_CACHE: path.join(os.tmpdir(), 'resnet-ts-test-conv-methods') },
  },
});
