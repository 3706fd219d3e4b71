import * as os from 'node:os';
import * as path from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * The fast tests that exercise the library's core, for `npm run mutation` (StrykerJS runs them
 * once per mutant). Slow end-to-end tests (learning, notebooks, CLIs, browsers, the kernel) are
 * left out; data_script.test.ts runs the data command as a child process.
 */
export default defineConfig({
  test: {
    include: [
      'test/model/**/*.test.ts',
      'test/train/**/*.test.ts',
      'test/data/{idx,augment,fashion_mnist,data_files}.test.ts',
      'test/plot/**/*.test.ts',
      'test/backend/{select,precision,onednn_config,conv_algorithm,conv_method_choice}.test.ts',
      // The native kernels' tests reach the TypeScript side of the onednn back end (kernel_helpers).
      'test/native/{conv,conv_winograd,conv_method_choice,bf16_conversions,elementwise,pool_matmul_resize,batch_norm,in_place_updates,grouped_conv,no_fallbacks}.test.ts',
      // nativeKernel's wrapper (fallback, warning, strict mode) with stand-in kernels, no addon needed.
      'test/native/native_kernel.test.ts',
      // RESNET_TS_DOCTEST's one reader (src/data/doctest_limits.ts).
      'test/data/doctest_limits.test.ts',
      // tryGpu's order, reasons and precision on simulated machines (src/backend/select.ts).
      'test/backend/select_choice.test.ts',
      // downloadFile's redirects, statuses and messages against a local server (src/data/download.ts).
      'test/data/download.test.ts',
    ],
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
    // Convolution methods measured under mutation stay out of the user's cache (see vitest.config.ts).
    env: { RESNET_ONEDNN_CONV_CACHE: path.join(os.tmpdir(), 'resnet-ts-test-conv-methods') },
  },
});
