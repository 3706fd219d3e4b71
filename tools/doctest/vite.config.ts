/** vite-node config for running doc blocks: `import ... from 'resnet-ts'` is the library's source, no build needed. */
import * as path from 'node:path';
import { defineConfig } from 'vite';

export default defineConfig({
  resolve: { alias: [{ find: /^resnet-ts$/, replacement: path.resolve(__dirname, '../../src/index.ts') }] },
});
