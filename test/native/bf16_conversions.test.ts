/**
 * bf16 conversions per training step (issue #28 item 2), counted on emulated bf16 so any CPU checks them.
 * Activations are bf16 between layers (kernel_helpers/activations.ts): a convolution reads the bf16 output
 * of the batch norm, ReLU, max pool or residual add before it as it is, and its output gradient as the
 * batch-norm gradient wrote it, in bf16. What is still float32 is converted once per step however many
 * passes read it (stamps), and each filter once although the forward pass and the data gradient both read
 * it. Without the caches (stamps 0) every float32 read converts; the step's numbers are the same bit for
 * bit either way.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadAddon, type ConvParams, type OneDnnAddon } from '../../src/backend/onednn/addon';
import { CONV_ENTRY_POINTS, setConvPrecision } from '../../src/backend/onednn/kernel_helpers/conv_common';
import type { ConvPass } from '../../src/backend/onednn/conv_method_choice';
import { ResNet } from '../../src/models/resnet';
import { recipeOptimizer, recipeStepOptions, trainingRecipe } from '../../src/recipe';
import { trainStep } from '../../src/train/train';
import { addonAvailable, skipReason } from './_helpers';
import { useBackendNow } from '../helpers/backend';

interface StepCount {
  activationReads: number;
  /** Reads of bf16 activations (Uint16Array): read as they are, nothing converted. */
  bf16Reads: number;
  /** Distinct float32 activations read (by stamp): each needs one conversion. */
  distinctActivations: number;
  activationConversions: number;
  filterReads: number;
  distinctFilters: number;
  filterConversions: number;
  loss: number;
  weights: Float32Array[];
}

describe.skipIf(!addonAvailable)(`bf16 conversions per training step ${skipReason}`, () => {
  const a = () => loadAddon().addon as OneDnnAddon;
  const restore: [string, unknown][] = [];
  let stripStamps = false;
  let reads = 0;
  let bf16Reads = 0;
  const stamps = new Set<string>();
  let filterReads = 0;
  const filterStamps = new Set<number>();

  beforeAll(async () => {
    await useBackendNow('onednn');
    setConvPrecision('bf16-emulated');
    const addon = a() as unknown as Record<string, (...args: unknown[]) => void>;
    for (const pass of Object.keys(CONV_ENTRY_POINTS) as ConvPass[]) {
      const name = CONV_ENTRY_POINTS[pass].direct; // bf16 convolutions are direct
      const original = addon[name];
      restore.push([name, original]);
      addon[name] = (...args: unknown[]) => {
        const p = args[args.length - 1] as ConvParams;
        // forward (x, w, b, y), backwardData (dy, w, dx), backwardWeights (x, dy, dw)
        const read = (array: unknown, stamp: string) => {
          reads++;
          if (array instanceof Uint16Array) bf16Reads++;
          else stamps.add(stamp);
        };
        if (pass !== 'backwardData') read(args[0], `x${p.srcStamp}`);
        if (pass !== 'forward') read(args[pass === 'backwardData' ? 0 : 1], `dy${p.diffDstStamp}`);
        if (pass !== 'backwardWeights') {
          filterReads++;
          filterStamps.add(p.weightsStamp);
        }
        const q = stripStamps ? { ...p, srcStamp: 0, diffDstStamp: 0, weightsStamp: 0 } : p;
        original(...args.slice(0, -1), q);
      };
    }
  });
  afterAll(() => {
    const addon = a() as unknown as Record<string, unknown>;
    for (const [name, fn] of restore) addon[name] = fn;
    setConvPrecision('fp32');
  });

  /** One step of the fast recipe's network from a fixed start (batch 16), counted. */
  function step(strip: boolean): StepCount {
    stripStamps = strip;
    const r = trainingRecipe('fast');
    const net = new ResNet(r.model);
    net.build([r.resize, r.resize, 1]);
    tf.tidy(() =>
      net.trainableVariables().forEach((v, i) => v.assign(tf.randomUniform(v.shape, -0.1, 0.1, 'float32', i))),
    );
    const opt = recipeOptimizer(r);
    const x = tf.randomUniform([16, r.resize, r.resize, 1], 0, 1, 'float32', 7);
    const y = tf.tensor1d(
      Array.from({ length: 16 }, (_, i) => i % 10),
      'float32',
    );
    reads = 0;
    bf16Reads = 0;
    stamps.clear();
    filterReads = 0;
    filterStamps.clear();
    const [act0, fil0] = [a().convActivationConversions(), a().convFilterConversions()];
    const { loss } = trainStep(net, opt, { x, y }, recipeStepOptions(r));
    const out: StepCount = {
      activationReads: reads,
      bf16Reads,
      distinctActivations: stamps.size,
      activationConversions: a().convActivationConversions() - act0,
      filterReads,
      distinctFilters: filterStamps.size,
      filterConversions: a().convFilterConversions() - fil0,
      loss,
      weights: net.trainableVariables().map((v) => Float32Array.from(v.dataSync())),
    };
    tf.dispose([x, y]);
    net.dispose();
    opt.dispose();
    return out;
  }

  it('converts each activation and each filter once per step, with the same numbers', () => {
    const before = step(true);
    const after = step(false);
    // The fast recipe's ResNet-18: 20 convolutions, each read by 3 passes (the stem's data gradient is
    // never computed: nothing reads the images' gradient): 79 reads of x or dy.
    expect(after.activationReads).toBe(79);
    expect(before.activationReads).toBe(after.activationReads);
    expect(before.bf16Reads).toBe(after.bf16Reads);
    // Float32 are only the images (the stem's forward and filter gradient) and the output gradients of
    // the three 1x1 projections, which the residual add's ReLU gradient writes (data and filter gradient):
    // 8 reads of 4 arrays. (Before activations were bf16: 79 reads of 37 arrays, each converted.)
    expect(after.activationReads - after.bf16Reads).toBe(8);
    expect(after.distinctActivations).toBe(4);
    // every float32 read converted without the caches, each float32 array once with them
    expect(before.activationConversions).toBe(before.activationReads - before.bf16Reads);
    expect(after.activationConversions).toBe(after.distinctActivations);
    // Filters: forward and data gradient share one converted copy (each primitive reorders it into its layout).
    expect(before.filterConversions).toBe(before.filterReads); // 20 forward + 19 data-gradient reads
    expect(after.filterConversions).toBe(after.distinctFilters); // each of the 20 filters once
    expect(after.distinctFilters).toBe(20);
    expect(after.loss).toBe(before.loss);
    after.weights.forEach((w, i) => expect(Array.from(w), `variable ${i}`).toEqual(Array.from(before.weights[i])));
    console.log(
      `bf16 conversions per fast step (batch 16): activations ${before.activationConversions} -> ` +
        `${after.activationConversions} (${after.activationReads} reads, ${after.bf16Reads} of bf16 activations), ` +
        `filters ${before.filterConversions} -> ${after.filterConversions}`,
    );
  });
});
