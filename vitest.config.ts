import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Training and native-kernel tests run real computations on 2 cores.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // One file at a time: files compete for the same two cores (and the native thread pool).
    fileParallelism: false,
  },
});
