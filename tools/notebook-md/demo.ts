/**
 * The course site's demo page (`demo.html`): the network a recipe trained, classifying in the
 * reader's browser. The site build puts beside the page:
 * - `demo/model/`: the model in tfjs's format (runs/<recipe>/model, written by `npm start`; the
 *   build trains it first when it is missing: the `fast` recipe, in fast mode the `tiny` one);
 * - `demo/test-images.png` + `.json`: the first 100 test images as one 10x10 sprite, and labels;
 * - `assets/demo.js`: site-assets/demo.ts bundled by esbuild against the library's browser entry
 *   (src/browser.ts), with tfjs's WebGL, WASM and cpu back ends (the page takes the first that
 *   works and says which).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';
import { encodeGrayPng } from '../../src/display/png';
import { ensureFashionMnist } from '../../src/data/ensure';
import { loadFashionMnistArrays } from '../../src/data/fashion_mnist';

export const DEMO_IMAGES = 100;
const SPRITE_COLUMNS = 10;
const SIZE = 28;

export interface DemoOptions {
  root: string;
  outDir: string;
  /** The recipe whose model the page runs (runs/<recipe>/model; trained when missing). */
  recipe: string;
  log: (line: string) => void;
}

export interface DemoBuild {
  recipe: string;
  modelDir: string;
  /** The test images' labels, in sprite order. */
  labels: number[];
  backends: string[];
}

/** runs/<recipe>/model, trained now (in this process, as `npm start` would) when it is not there. */
async function ensureModel(root: string, recipe: string, log: (l: string) => void): Promise<string> {
  const runDir = path.join(root, 'runs', recipe);
  const modelDir = path.join(runDir, 'model');
  if (fs.existsSync(path.join(modelDir, 'model.json'))) return modelDir;
  log(
    `demo: no ${path.relative(root, modelDir)}/model.json: training the '${recipe}' recipe for it (npm start -- --recipe ${recipe})`,
  );
  const { parseRunOptions, run } = await import('../train');
  const opts = parseRunOptions(['--recipe', recipe, '--out', runDir, '--progress', 'none']);
  if (opts === 'help') throw new Error('demo: unexpected help');
  await run(opts, (l) => log(`demo: ${l}`));
  return modelDir;
}

/** The first DEMO_IMAGES test images as one PNG sprite (10 per row) and their labels. */
function writeTestImages(dir: string, log: (l: string) => void): Promise<number[]> {
  return ensureFashionMnist({ log }).then(({ dir: data }) => {
    const { test } = loadFashionMnistArrays(data);
    const rows = DEMO_IMAGES / SPRITE_COLUMNS;
    const W = SPRITE_COLUMNS * SIZE;
    const sprite = new Uint8Array(rows * SIZE * W);
    for (let i = 0; i < DEMO_IMAGES; i++) {
      const ox = (i % SPRITE_COLUMNS) * SIZE;
      const oy = Math.floor(i / SPRITE_COLUMNS) * SIZE;
      for (let y = 0; y < SIZE; y++)
        for (let x = 0; x < SIZE; x++) sprite[(oy + y) * W + ox + x] = test.images[i * SIZE * SIZE + y * SIZE + x];
    }
    fs.writeFileSync(path.join(dir, 'test-images.png'), encodeGrayPng(sprite, rows * SIZE, W));
    const labels = Array.from(test.labels.subarray(0, DEMO_IMAGES));
    fs.writeFileSync(
      path.join(dir, 'test-images.json'),
      JSON.stringify({ count: DEMO_IMAGES, size: SIZE, columns: SPRITE_COLUMNS, labels }),
    );
    return labels;
  });
}

/** Bundles the page's script with the library's browser entry; copies tfjs's WASM binaries. */
async function bundlePageScript(root: string, assets: string): Promise<string[]> {
  const wasmDir = path.join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
  const backends = ['webgl', 'wasm', 'cpu'];
  for (const f of fs.readdirSync(wasmDir).filter((f) => f.endsWith('.wasm')))
    fs.copyFileSync(path.join(wasmDir, f), path.join(assets, f));
  const result = await build({
    entryPoints: [path.join(root, 'tools', 'notebook-md', 'site-assets', 'demo.ts')],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    minify: true,
    outfile: path.join(assets, 'demo.js'),
    alias: { 'resnet-ts': path.join(root, 'src', 'browser.ts') },
    logLevel: 'silent',
    metafile: true,
  });
  const node = Object.keys(result.metafile.inputs).filter((f) => f.startsWith('node:') || /backend\/onednn/.test(f));
  if (node.length) throw new Error(`demo: the page's bundle pulled in Node-only code: ${node.join(', ')}`);
  return backends;
}

/** Writes the demo's data and script under outDir; the page itself is written by the site (site.ts). */
export async function buildDemo(opts: DemoOptions): Promise<DemoBuild> {
  const demoDir = path.join(opts.outDir, 'demo');
  const assets = path.join(opts.outDir, 'assets');
  fs.mkdirSync(demoDir, { recursive: true });
  fs.mkdirSync(assets, { recursive: true });
  const modelDir = await ensureModel(opts.root, opts.recipe, opts.log);
  fs.cpSync(modelDir, path.join(demoDir, 'model'), { recursive: true });
  const metrics = path.join(path.dirname(modelDir), 'metrics.json');
  if (fs.existsSync(metrics)) fs.copyFileSync(metrics, path.join(demoDir, 'metrics.json'));
  const labels = await writeTestImages(demoDir, opts.log);
  const backends = await bundlePageScript(opts.root, assets);
  return { recipe: opts.recipe, modelDir, labels, backends };
}
