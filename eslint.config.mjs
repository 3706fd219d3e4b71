// Lint rules for the whole tree (library, tools, tests, bench). Formatting is Prettier's job
// (eslint-config-prettier turns off the rules that would fight it).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'build/',
      'native/build/',
      'node_modules/',
      'notebooks/',
      'data/',
      'runs/',
      'coverage/',
      'reports/',
      '.stryker-tmp/',
      'tools/notebook-md/site-assets/',
      'lab-app/build/',
      'lab-app/node_modules/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        require: 'readonly',
        module: 'readonly',
        __dirname: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        performance: 'readonly',
        structuredClone: 'readonly',
        URL: 'readonly',
        NodeJS: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    // A promise nobody awaits loses its error (and, in a test, its assertion): type-aware check.
    files: ['src/**/*.ts', 'tools/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'data-scripts/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: { '@typescript-eslint/no-floating-promises': 'error' },
  },
  {
    // One environment switch, one reader (ARCHITECTURE.md): process.env only in the files that read
    // a documented variable (README, "Environment variables") or hand the environment to a child.
    files: ['src/**/*.ts', 'tools/**/*.ts', 'tools/**/*.js', 'bench/**/*.ts', 'data-scripts/**/*.ts'],
    ignores: [
      'src/backend/onednn/config.ts', // RESNET_ONEDNN_*
      'src/backend/onednn/addon.ts', // GOMP_SPINCOUNT / OMP_WAIT_POLICY (set for OpenMP)
      'src/backend/select.ts', // RESNET_TS_BACKEND, RESNET_TS_PRECISION
      'src/recipe.ts', // RESNET_TS_FAST
      'src/data/doctest_limits.ts', // RESNET_TS_DOCTEST
      'src/data/ensure.ts', // FASHION_MNIST_DIR, FASHION_MNIST_MIRROR
      'tools/lab/lab.ts', // RESNET_TS_LAB_PYTHON, XDG_CACHE_HOME; the lab server's environment
      'tools/build-native.js', // RESNET_SKIP_NATIVE, CXX
      'tools/setup-notebooks.js', // JUPYTER
      'bench/bench.ts', // BENCH_DETAIL, BENCH_CONV_DETAIL, BENCH_OUT
      'tools/notebook-runner/*.ts', // the kernel's environment, JUPYTER_* data paths
      'tools/doctest/run.ts', // the snippets' environment
    ],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'read environment variables in their one named reader (ARCHITECTURE.md) and list them in the README',
        },
      ],
    },
  },
  {
    // Tests read executed notebooks and protocol messages as loose JSON.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The lab front end's entry runs in the browser.
    files: ['lab-app/index.js'],
    languageOptions: { globals: { window: 'readonly', document: 'readonly' } },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
