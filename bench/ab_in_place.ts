/**
 * A/B of the in-place optimizer step in one process, interleaved: the fast recipe's model and
 * optimizer, alternating blocks of steps with tfjs's MomentumOptimizer (updated in place by the
 * onednn back end) and an identical subclass of it (which the in-place path leaves to tfjs's ops).
 *
 *   npx vite-node bench/ab_in_place.ts [-- --recipe fast --rounds 6 --steps 5]
 */
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';

import '../src/tfjs_setup';
import { tryGpu } from '../src/backend/select';
import { callStats } from '../src/backend/onednn/kernel_helpers/native_kernel';
import { ResNet } from '../src/models/resnet';
import { RecipeName, recipeStepOptions, trainingRecipe } from '../src/recipe';
import { trainStep } from '../src/train/train';

/** Same rule, another class: applyOptimizerStep only updates tfjs's own classes in place. */
class TfjsMomentum extends tf.MomentumOptimizer {}
class TfjsSgd extends tf.SGDOptimizer {}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const { values: v } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: {
      recipe: { type: 'string', default: 'fast' },
      rounds: { type: 'string', default: '6' },
      steps: { type: 'string', default: '5' },
    },
  });
  const r = trainingRecipe(v.recipe as RecipeName); // throws, naming the recipes, on an unknown one
  await tryGpu({ prefer: 'onednn' }); // fails loudly when the native back end is not available
  const x = tf.randomUniform([r.batchSize, r.resize, r.resize, 1], 0, 1, 'float32', 1);
  const y = tf.tensor1d(Array.from({ length: r.batchSize }, (_, i) => i % 10));
  const make = (inPlace: boolean) =>
    r.momentum > 0
      ? new (inPlace ? tf.MomentumOptimizer : TfjsMomentum)(r.learningRate, r.momentum, r.nesterov)
      : new (inPlace ? tf.SGDOptimizer : TfjsSgd)(r.learningRate);
  const arms = [true, false].map((inPlace) => {
    const net = new ResNet(r.model);
    net.build([r.resize, r.resize, 1]);
    return { inPlace, net, opt: make(inPlace), times: [] as number[] };
  });
  const opts = recipeStepOptions(r);
  for (const a of arms) for (let i = 0; i < 2; i++) trainStep(a.net, a.opt, { x, y }, opts); // warm-up
  for (let round = 0; round < Number(v.rounds); round++) {
    for (const a of arms) {
      for (let i = 0; i < Number(v.steps); i++) {
        const t = performance.now();
        trainStep(a.net, a.opt, { x, y }, opts);
        a.times.push(performance.now() - t);
      }
    }
  }
  const stats = callStats.get('SgdUpdate');
  for (const a of arms)
    console.log(
      `${a.inPlace ? 'in place (native)' : "tfjs's update ops"}: median step ${median(a.times).toFixed(1)} ms ` +
        `over ${a.times.length} steps (${((r.batchSize * 1000) / median(a.times)).toFixed(1)} img/s)`,
    );
  console.log(`native in-place steps: ${stats?.native ?? 0}, declined: ${stats?.fallback ?? 0}`);
  const [ip, js] = arms.map((a) => median(a.times));
  console.log(`recipe ${r.name}: in place / tfjs step time = ${(ip / js).toFixed(3)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
