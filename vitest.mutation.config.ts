import { defineConfig } from 'vitest/config';

/**
 * The fast tests that exercise the library's core, for `npm run mutation` (StrykerJS runs them
 * once per mutant). Slow end-to-end tests (learning, notebooks, CLI, native) are left out.
 */
export default defineConfig({
  test: {
    include: ['test/model/**/*.test.ts', 'test/train/**/*.test.ts', 'test/data/idx.test.ts'],
    // learning: minutes of training; train.test.ts: a real ResNet per test (tens of seconds per
    // mutant). The loop and checkpoints are covered by train_loop.test.ts on a tiny net instead.
    // shapes.test.ts builds the seed's 11M-parameter net (~10 s per mutant); nn_values.test.ts and
    // residual_values.test.ts check the same code by value on small nets.
    // fast_recipe.test.ts: two small runs with a 5000-image validation split, ~1 min.
    // fast_vs_seed.test.ts: two real recipes on 6144 images, minutes.
    exclude: [
      'test/train/learning.test.ts',
      'test/train/train.test.ts',
      'test/model/shapes.test.ts',
      'test/train/fast_recipe.test.ts',
      'test/train/fast_vs_seed.test.ts',
    ],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
