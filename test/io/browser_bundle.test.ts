/**
 * The browser entry bundles for a web page: esbuild (the bundler vite already brings) resolves
 * `resnet-ts` with the `browser` condition, for the browser platform, and the bundle holds no Node
 * built-in, no native addon and nothing of the onednn back end, the data loaders, checkpoints or
 * the file:// handler. The bundle's size is reported (docs/measurements.md).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, buildDist } from '../helpers/process';

/** A page's project: node_modules/resnet-ts is this package, as after `npm install resnet-ts`. */
let page = '';
beforeAll(async () => {
  await buildDist();
  page = fs.mkdtempSync(path.join(os.tmpdir(), 'page-'));
  fs.mkdirSync(path.join(page, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(page, 'node_modules', 'resnet-ts'));
}, 240_000);

describe('the browser entry', () => {
  it('bundles without a Node built-in or the native addon; its size is reported', async () => {
    const result = await build({
      // 'resnet-ts' resolves through package.json's exports: the `browser` condition picks dist/src/browser.js.
      stdin: { contents: "export * from 'resnet-ts';", resolveDir: page, loader: 'ts' },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      minify: true,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    const ours = inputs.filter((f) => /(^|\/)dist\/src\//.test(f)).map((f) => f.replace(/^.*dist\/src\//, ''));
    expect(ours).toContain('browser.js');
    expect(ours).toContain('io/load_model.js');
    expect(ours).not.toContain('index.js');
    const forbidden = ours.filter((f) =>
      /^(backend\/onednn|data\/(fashion_mnist|ensure|download|verify|idx)|train\/checkpoint|io\/file_handler|display\/display)/.test(
        f,
      ),
    );
    expect(forbidden, 'Node-only modules in the bundle').toEqual([]);
    expect(inputs.filter((f) => f.startsWith('node:') || f.endsWith('.node'))).toEqual([]);
    const bytes = result.outputFiles[0].contents;
    const gz = gzipSync(bytes).length;
    console.log(
      `browser bundle: ${(bytes.length / 1e6).toFixed(2)} MB minified, ${(gz / 1e6).toFixed(2)} MB gzipped (tfjs with WebGL and cpu)`,
    );
    expect(bytes.length).toBeGreaterThan(100_000);
  }, 120_000);
});
