/**
 * The update half of a training step: L2 weight decay on the chosen variables, then the optimizer.
 *
 * For tfjs's own SGD and momentum (incl. Nesterov) optimizers, on a back end that can do it in place
 * (src/backend/in_place_updates.ts: `onednn`), the whole update is one native call that writes the
 * variables and the momentum accumulators where they are; the numbers are those of tfjs's optimizers,
 * bit for bit, and the optimizer's state (accumulators, iteration count, getWeights for checkpoints)
 * is kept exactly as tfjs keeps it. Any other optimizer or back end runs tfjs's applyGradients.
 */
import * as tf from '@tensorflow/tfjs-core';

import { hasInPlaceUpdates } from '../backend/in_place_updates';

export interface OptimizerStepOptions {
  /** grad += weightDecay * variable before the update, for the variables `decayed` selects. */
  weightDecay?: number;
  /** Names (tf.Variable.name) of the variables to decay; default: none. */
  decayed?: ReadonlySet<string>;
}

/** tfjs's SGD/momentum optimizers' fields this relies on (tfjs-core 4.22, pinned in package.json). */
interface SgdInternals {
  learningRate: number;
  c: tf.Scalar;
  incrementIterations(): void;
}
interface MomentumInternals extends SgdInternals {
  m: tf.Scalar;
  useNesterov: boolean;
  accumulations: ({ originalName: string; variable: tf.Variable } | undefined)[];
}

/** Applies weight decay and the optimizer's update for `grads` (gradients of registered variables, by name). */
export function applyOptimizerStep(
  optimizer: tf.Optimizer,
  grads: tf.NamedTensorMap,
  opts: OptimizerStepOptions = {},
): void {
  const decay = opts.weightDecay ?? 0;
  if (inPlaceStep(optimizer, grads, decay, opts.decayed)) return;
  if (decay && opts.decayed) {
    for (const name of Object.keys(grads)) {
      if (!opts.decayed.has(name)) continue;
      const g = grads[name];
      const v = tf.engine().registeredVariables[name];
      grads[name] = tf.tidy(() => tf.add(g, tf.mul(v, decay)));
      g.dispose();
    }
  }
  optimizer.applyGradients(grads);
}

function inPlaceStep(
  optimizer: tf.Optimizer,
  grads: tf.NamedTensorMap,
  decay: number,
  decayed: ReadonlySet<string> | undefined,
): boolean {
  const backend = tf.backend();
  if (!hasInPlaceUpdates(backend)) return false;
  // Exactly tfjs's classes: a subclass may change the rule.
  const proto = Object.getPrototypeOf(optimizer);
  const isMomentum = proto === tf.MomentumOptimizer.prototype;
  if (!isMomentum && proto !== tf.SGDOptimizer.prototype) return false;
  const names = Object.keys(grads);
  const params = names.map((n) => tf.engine().registeredVariables[n]);
  if (params.some((p) => p == null) || names.some((n) => grads[n] == null)) return false;

  const o = optimizer as unknown as MomentumInternals;
  let accums: tf.Tensor[] | null = null;
  if (isMomentum) {
    if (!Array.isArray(o.accumulations)) return false;
    // Created as tfjs creates them, by position in the gradient map (its checkpoint order).
    names.forEach((name, i) => {
      o.accumulations[i] ??= {
        originalName: `${name}/momentum`,
        variable: tf.tidy(() => tf.zerosLike(params[i]).variable(false)),
      };
    });
    accums = names.map((_, i) => o.accumulations[i]!.variable);
  }
  const done = backend.sgdUpdateInPlace({
    params,
    grads: names.map((n) => grads[n]),
    accums,
    decays: names.map((n) => (decay && decayed?.has(n) ? decay : 0)),
    learningRate: o.learningRate,
    // tfjs multiplies by its float32 scalar m (fixed at construction), not by a later setMomentum value.
    momentum: isMomentum ? o.m.dataSync()[0] : 0,
    nesterov: isMomentum && o.useNesterov,
  });
  if (done) o.incrementIterations();
  return done;
}
