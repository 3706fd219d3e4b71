/**
 * The native in-place updates (native/src/in_place.cc) against tfjs's own ops on the JS cpu back end:
 * - the optimizer step (src/train/optimizer_step.ts) against tfjs's SGD and momentum optimizers, bit
 *   for bit in float32 over several steps with a changing learning rate and weight decay, the same
 *   optimizer state (accumulator names and values, iteration count), no leaked tensors, and a clone
 *   of a variable that stays what it was;
 * - batch norm's running statistics (updateMovingAverages), bit for bit, through BatchNorm itself.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';

import { updateMovingAverages } from '../../src/backend/in_place_updates';
import { BatchNorm } from '../../src/nn/layers';
import { applyOptimizerStep } from '../../src/train/optimizer_step';
import { addonAvailable, callsSince, rand, relErr, skipReason, statsSnapshot } from './_helpers';

type MakeOptimizer = () => tf.Optimizer;

const SHAPES = [[3, 3, 4, 8], [8], [8], [33, 10], [10], [1, 1, 8, 16]];
// Every other variable is decayed (as conv and dense weights are, and batch-norm parameters are not).
const DECAYED = new Set([0, 3, 5]);
const LRS = [0.1, 0.05, 0.2, 0.01];

interface Run {
  params: Float32Array[];
  state: { name: string; values: Float32Array }[];
  iterations: number;
  tensorsPerStep: number[];
}

/** Four steps of `make()` on fresh seeded variables under `backend`, through applyOptimizerStep. */
async function run(backend: string, make: MakeOptimizer, weightDecay: number, prefix: string): Promise<Run> {
  await tf.setBackend(backend);
  // (created in a tidy, as the library's modules create theirs: the initial tensor does not outlive it)
  const vars = SHAPES.map((s, i) =>
    tf.tidy(() =>
      tf.variable(
        tf.tensor(
          rand(
            s.reduce((a, b) => a * b, 1),
            10 + i,
          ),
          s,
        ),
        true,
        `${prefix}/v${i}`,
      ),
    ),
  );
  const decayed = new Set(vars.filter((_, i) => DECAYED.has(i)).map((v) => v.name));
  const opt = make();
  const tensorsPerStep: number[] = [];
  for (let step = 0; step < LRS.length; step++) {
    (opt as tf.SGDOptimizer).setLearningRate(LRS[step]);
    const grads: tf.NamedTensorMap = {};
    vars.forEach((v, i) => {
      grads[v.name] = tf.tensor(rand(v.size, 100 * step + i), v.shape);
    });
    applyOptimizerStep(opt, grads, { weightDecay, decayed });
    tf.dispose(Object.values(grads));
    tensorsPerStep.push(tf.memory().numTensors);
  }
  const weights = await opt.getWeights();
  const out: Run = {
    params: vars.map((v) => v.dataSync().slice() as Float32Array),
    state: weights
      .slice(1)
      .map((w) => ({ name: w.name.replace(`${prefix}/`, ''), values: w.tensor.dataSync().slice() as Float32Array })),
    iterations: opt.iterations,
    tensorsPerStep,
  };
  opt.dispose();
  tf.dispose(vars);
  return out;
}

const firstDifference = (a: Float32Array, b: Float32Array): string => {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `element ${i}: ${a[i]} vs ${b[i]}`;
  return '';
};

let counter = 0;
const optimizers: [string, MakeOptimizer][] = [
  ['SGD', () => tf.train.sgd(0.1)],
  ['momentum 0.9', () => tf.train.momentum(0.1, 0.9)],
  ['Nesterov momentum 0.9', () => tf.train.momentum(0.1, 0.9, true)],
];

describe.skipIf(!addonAvailable)(`in-place updates ${skipReason}`, () => {
  afterEach(() => tf.setBackend('cpu'));

  for (const [label, make] of optimizers) {
    for (const wd of [0, 5e-4]) {
      it(`${label}, weight decay ${wd}: bit for bit equal to tfjs on cpu, in one native call per step`, async () => {
        const ref = await run('cpu', make, wd, `ref${counter}`);
        const before = statsSnapshot();
        const got = await run('onednn', make, wd, `got${counter++}`);
        expect(callsSince(before, 'SgdUpdate')).toEqual({ native: LRS.length, fallback: 0 });
        // no tfjs kernels ran for the update itself
        expect(callsSince(before, 'Multiply').native + callsSince(before, 'Add').native).toBe(0);
        got.params.forEach((p, i) => expect(firstDifference(p, ref.params[i]), `variable ${i}`).toBe(''));
        expect(got.state.map((s) => s.name)).toEqual(ref.state.map((s) => s.name));
        got.state.forEach((s, i) => expect(firstDifference(s.values, ref.state[i].values), s.name).toBe(''));
        expect(got.iterations).toBe(LRS.length);
        expect(ref.iterations).toBe(LRS.length);
        // flat after the first step (which creates the momentum accumulators)
        expect(new Set(got.tensorsPerStep.slice(1)).size, `tensors per step ${got.tensorsPerStep}`).toBe(1);
        // and the update actually moved the variables
        expect(firstDifference(got.params[0], new Float32Array(rand(got.params[0].length, 10)))).not.toBe('');
      });
    }
  }

  it('leaves a clone of a variable unchanged (tfjs path for that step) and gives the same numbers', async () => {
    await tf.setBackend('onednn');
    const v = tf.tidy(() => tf.variable(tf.tensor(rand(64, 7), [64]), true, 'clone-test/v'));
    const clone = v.clone(); // shares v's memory until v is assigned
    const opt = tf.train.momentum(0.1, 0.9);
    const g = tf.tensor(rand(64, 8), [64]);
    const before = statsSnapshot();
    applyOptimizerStep(opt, { [v.name]: g });
    expect(callsSince(before, 'SgdUpdate')).toEqual({ native: 0, fallback: 1 });
    expect(opt.iterations).toBe(1); // counted once, by tfjs's step, not also by the native attempt
    expect(firstDifference(clone.dataSync() as Float32Array, rand(64, 7))).toBe('');
    expect(firstDifference(v.dataSync() as Float32Array, rand(64, 7))).not.toBe('');
    clone.dispose();
    // memory no longer shared: the next step is in place again
    const before2 = statsSnapshot();
    applyOptimizerStep(opt, { [v.name]: g });
    expect(callsSince(before2, 'SgdUpdate')).toEqual({ native: 1, fallback: 0 });
    expect(opt.iterations).toBe(2);
    tf.dispose([v, g]);
    opt.dispose();
  });

  it('creates momentum accumulators as tfjs does: named after the variable, not trainable, zero before the step', async () => {
    const accumulators = async (backend: string) => {
      await tf.setBackend(backend);
      const v = tf.tidy(() => tf.variable(tf.tensor(rand(12, 21), [12]), true, `accum-${backend}/v`));
      const opt = tf.train.momentum(0.1, 0.9);
      const g = tf.tensor(rand(12, 22), [12]);
      applyOptimizerStep(opt, { [v.name]: g });
      const acc = (opt as unknown as { accumulations: { originalName: string; variable: tf.Variable }[] })
        .accumulations;
      const out = acc.map((a) => ({
        name: a.originalName.replace(`-${backend}`, ''),
        trainable: a.variable.trainable,
        // after one step from zero the accumulator holds the gradient itself
        values: Array.from(a.variable.dataSync()),
      }));
      tf.dispose([v, g]);
      opt.dispose();
      return out;
    };
    const ref = await accumulators('cpu');
    const got = await accumulators('onednn');
    expect(ref).toEqual([{ name: 'accum/v/momentum', trainable: false, values: Array.from(rand(12, 22)) }]);
    expect(got).toEqual(ref);
  });

  it('a weight decay without a set of decayed variables decays nothing, in place as in tfjs', async () => {
    const step = async (backend: string) => {
      await tf.setBackend(backend);
      const v = tf.tidy(() => tf.variable(tf.tensor(rand(20, 23), [20]), true, `nodecay-${backend}/v`));
      const opt = tf.train.sgd(0.1);
      const g = tf.tensor(rand(20, 24), [20]);
      const before = statsSnapshot();
      applyOptimizerStep(opt, { [v.name]: g }, { weightDecay: 0.5 });
      const calls = callsSince(before, 'SgdUpdate');
      const out = v.dataSync().slice() as Float32Array;
      tf.dispose([v, g]);
      opt.dispose();
      return { calls, out };
    };
    const ref = await step('cpu');
    const got = await step('onednn');
    expect(got.calls).toEqual({ native: 1, fallback: 0 });
    expect(firstDifference(got.out, ref.out)).toBe('');
    // w - 0.1 g, element 0 by hand (float32), no 0.5 w term
    expect(got.out[0]).toBe(Math.fround(rand(20, 23)[0] - Math.fround(Math.fround(0.1) * rand(20, 24)[0])));
  });

  it("a gradient map with a null entry goes to tfjs's step, which skips that variable", async () => {
    await tf.setBackend('onednn');
    const a = tf.tidy(() => tf.variable(tf.tensor(rand(8, 25), [8]), true, 'nullgrad/a'));
    const b = tf.tidy(() => tf.variable(tf.tensor(rand(8, 26), [8]), true, 'nullgrad/b'));
    const opt = tf.train.sgd(0.1);
    const g = tf.tensor(rand(8, 27), [8]);
    const before = statsSnapshot();
    applyOptimizerStep(opt, { [a.name]: g, [b.name]: null as unknown as tf.Tensor });
    expect(callsSince(before, 'SgdUpdate')).toEqual({ native: 0, fallback: 0 });
    expect(firstDifference(b.dataSync() as Float32Array, rand(8, 26))).toBe('');
    expect(firstDifference(a.dataSync() as Float32Array, rand(8, 25))).not.toBe('');
    expect(opt.iterations).toBe(1);
    tf.dispose([a, b, g]);
    opt.dispose();
  });

  it("a gradient for a name that is no registered variable: tfjs's own step and error", async () => {
    await tf.setBackend('onednn');
    const a = tf.tidy(() => tf.variable(tf.tensor(rand(8, 28), [8]), true, 'unknown/a'));
    const opt = tf.train.sgd(0.1);
    const g = tf.tensor(rand(8, 29), [8]);
    const before = statsSnapshot();
    // tfjs updates the variables in the map's order and fails at the unknown name
    expect(() => applyOptimizerStep(opt, { [a.name]: g, 'unknown/none': g })).toThrow(
      /passed to '\w+' must be a Tensor/,
    );
    expect(callsSince(before, 'SgdUpdate')).toEqual({ native: 0, fallback: 0 });
    expect(firstDifference(a.dataSync() as Float32Array, rand(8, 28))).not.toBe('');
    tf.dispose([a, g]);
    opt.dispose();
  });

  it('leaves other optimizers to tfjs', async () => {
    await tf.setBackend('onednn');
    const v = tf.variable(tf.tensor(rand(16, 3), [16]), true, 'adam-test/v');
    const opt = tf.train.adam(0.01);
    const g = tf.tensor(rand(16, 4), [16]);
    const before = statsSnapshot();
    applyOptimizerStep(opt, { [v.name]: g });
    expect(callsSince(before, 'SgdUpdate')).toEqual({ native: 0, fallback: 0 });
    expect(opt.iterations).toBe(1);
    tf.dispose([v, g]);
    opt.dispose();
  });

  it('moving averages: bit for bit equal to tfjs ops, in place, through BatchNorm', async () => {
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const bn = new BatchNorm({ momentum: 0.9 });
      const x = tf.tensor(rand(6 * 5 * 5 * 7, 31), [6, 5, 5, 7]);
      for (let i = 0; i < 3; i++) tf.dispose(bn.apply(tf.mul(x, i + 1), { training: true }));
      const stats = bn.namedVariables().filter(([n]) => n.startsWith('running'));
      const out = stats.map(([n, v]) => [n, v.dataSync().slice() as Float32Array] as const);
      x.dispose();
      bn.dispose();
      return out;
    };
    const ref = await run('cpu');
    const before = statsSnapshot();
    const got = await run('onednn');
    expect(callsSince(before, 'MovingAverage')).toEqual({ native: 3, fallback: 0 });
    expect(got.map(([n]) => n)).toEqual(['running_mean', 'running_var']);
    // (the batch statistics themselves come from different kernels: equal up to rounding)
    got.forEach(([n, v], i) => expect(relErr(v, ref[i][1]), n).toBeLessThan(1e-5));
    // the statistics moved away from their initial zeros
    expect(firstDifference(got[0][1], new Float32Array(7))).not.toBe('');

    // The update itself, bit for bit: momentum 0.9 (BatchNorm's) and 0.97 (1 - m inexact in float32).
    for (const m of [0.9, 0.97]) {
      const refT = await (async () => {
        await tf.setBackend('cpu');
        return tf.tidy(() =>
          tf
            .add(tf.mul(tf.tensor(rand(33, 5)), m), tf.mul(tf.tensor(rand(33, 6)), 1 - m))
            .dataSync()
            .slice(),
        ) as Float32Array;
      })();
      await tf.setBackend('onednn');
      const t = tf.tidy(() => tf.variable(tf.tensor(rand(33, 5), [33]), false));
      const v = tf.tensor(rand(33, 6), [33]);
      const b = statsSnapshot();
      updateMovingAverages([t], [v], m);
      expect(callsSince(b, 'MovingAverage')).toEqual({ native: 1, fallback: 0 });
      expect(firstDifference(t.dataSync() as Float32Array, refT), `momentum ${m}`).toBe('');
      tf.dispose([t, v]);
    }
  });
});
