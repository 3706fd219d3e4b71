/**
 * `npm run bench:quantize [-- --recipe fast]`: the saved model of a recipe (runs/<recipe>/model,
 * written by `npm start`) stored three ways, fp32, float16 and uint8 (net.save's `quantize`), each
 * loaded back and evaluated on the whole test set at the recipe's input size: weight file size,
 * test accuracy, and how many test images change their predicted class against fp32. Prints a
 * markdown table for docs/measurements.md.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel, loadDataFashionMnist, tf, trainingRecipe, tryGpu } from '../src/index';
import type { Module, RecipeName } from '../src/index';
import { findProjectRoot } from '../src/project_root';

const ROOT = findProjectRoot(__dirname);

/** Predicted class and label of every test image, in the test set's order. */
function predictions(net: Module, test: { epoch(e: number): Iterable<{ x: tf.Tensor; y: tf.Tensor }> }) {
  const pred: number[] = [];
  const labels: number[] = [];
  for (const { x, y } of test.epoch(0)) {
    const p = tf.tidy(() => net.apply(x, { training: false }).argMax(1));
    pred.push(...p.dataSync());
    labels.push(...y.dataSync());
    tf.dispose([x, y, p]);
  }
  return { pred, labels };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { recipe: { type: 'string', default: 'fast' } } });
  const recipe = trainingRecipe(values.recipe as RecipeName);
  const modelDir = path.join(ROOT, 'runs', recipe.name, 'model');
  if (!fs.existsSync(path.join(modelDir, 'model.json')))
    throw new Error(`no ${modelDir}/model.json: train it first (npm start -- --recipe ${recipe.name})`);
  const device = await tryGpu();
  const data = await loadDataFashionMnist({ batchSize: 256, resize: recipe.resize, trainLimit: 256 });
  const fp32 = await loadModel(`file://${modelDir}`);
  const rows: string[] = [];
  let reference: number[] = [];
  for (const q of [undefined, 'float16', 'uint8'] as const) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quantize-'));
    await (fp32 as unknown as { save(u: string, o: object): Promise<unknown> }).save(`file://${dir}`, { quantize: q });
    const bytes = fs.statSync(path.join(dir, 'weights.bin')).size;
    const net = await loadModel(`file://${dir}`);
    const { pred, labels } = predictions(net, data.testIter);
    if (!q) reference = pred;
    const acc = pred.filter((p, i) => p === labels[i]).length / labels.length;
    const changed = pred.filter((p, i) => p !== reference[i]).length;
    rows.push(`| ${q ?? 'fp32'} | ${(bytes / 1e6).toFixed(3)} MB | ${acc.toFixed(4)} | ${changed} |`);
    net.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `${recipe.name} model (${modelDir}), ${reference.length} test images at ${recipe.resize}x${recipe.resize}, ${device.description}`,
  );
  console.log('| weights | size | test accuracy | predictions changed vs fp32 |\n|---|---|---|---|');
  for (const r of rows) console.log(r);
}

main().catch((e) => {
  console.error(`bench:quantize: ${(e as Error).message}`);
  process.exit(1);
});
