/**
 * Diagnostic for the one-epoch accuracy spread (docs/measurements.md): for each checkpoint, the
 * test accuracy as trained (batch norm's running averages), then again after recalibrating batch
 * norm over N training batches (src/train/recalibrate.ts), weights unchanged.
 *
 *   npm run build && npx vite-node bench/bn_recalibrate.ts -- runs/sweep/ours-s0/checkpoint ... [--batches 200]
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { tryGpu } from '../src/backend/select';
import { DataIter, loadFashionMnistArrays } from '../src/data/fashion_mnist';
import { ensureFashionMnist } from '../src/data/ensure';
import { ResNet, ResNetConfig } from '../src/models/resnet';
import { readCheckpoint, restoreCheckpoint } from '../src/train/checkpoint';
import { evaluateAccuracy } from '../src/train/evaluate';
import { recalibrateBatchNorm } from '../src/train/recalibrate';

async function main() {
  const { values: v, positionals } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    allowPositionals: true,
    options: { batches: { type: 'string', default: '200' } },
  });
  const batches = Number(v.batches);
  const device = await tryGpu({});
  console.log(`back end: ${device.description}; recalibration over ${batches} training batches`);
  console.log('| checkpoint | seed | test acc as trained | after recalibration |\n|---|---|---|---|');
  // The files are read once; each checkpoint gets iterators with its own batch size, size and seed.
  const { train, test } = loadFashionMnistArrays((await ensureFashionMnist({})).dir);
  for (const dir of positionals) {
    const meta = readCheckpoint(dir).manifest.meta as {
      options: { seed: number; resize: number; batchSize: number };
      model: ResNetConfig;
    };
    const { seed, resize, batchSize } = meta.options;
    const trainIter = new DataIter({ ...train, batchSize, resize, shuffle: true, seed });
    const testIter = new DataIter({ ...test, batchSize, resize, shuffle: false });
    const net = new ResNet(meta.model);
    await restoreCheckpoint(dir, net, undefined, [resize, resize, 1]);
    const asTrained = evaluateAccuracy(testIter, net);
    // Epoch 1's shuffle: batches in an order training did not use last.
    const used = recalibrateBatchNorm(net, trainIter, batches, 1);
    const after = evaluateAccuracy(testIter, net);
    console.log(
      `| ${path.relative(process.cwd(), dir)} | ${seed} | ${asTrained.toFixed(4)} | ${after.toFixed(4)} (${used} batches) |`,
    );
    net.dispose();
  }
}

main().catch((e) => {
  console.error(`bn_recalibrate: ${(e as Error).message}`);
  process.exitCode = 1;
});
