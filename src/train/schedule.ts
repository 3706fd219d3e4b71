/**
 * Learning-rate schedules: functions from the optimizer step (0-based) to a learning rate, so a
 * schedule can be plotted, tested at known steps and resumed at any step. `train()` applies one
 * by setting the optimizer's learning rate before each step.
 */

export type LearningRateSchedule = (step: number) => number;

/** The seed's schedule: one learning rate throughout. */
export function constantLr(lr: number): LearningRateSchedule {
  if (!(lr > 0)) throw new RangeError(`constantLr: learning rate must be > 0, got ${lr}`);
  return () => lr;
}

export interface OneCycleOptions {
  /** Peak learning rate. */
  maxLr: number;
  /** Steps of the whole run; the schedule ends (at its lowest value) at step totalSteps - 1. */
  totalSteps: number;
  /** Fraction of the steps spent rising to maxLr (default 0.25). */
  pctStart?: number;
  /** The start value is maxLr / divFactor (default 25, as PyTorch's OneCycleLR). */
  divFactor?: number;
  /** The final value is start / finalDivFactor (default 1e4, as PyTorch's OneCycleLR). */
  finalDivFactor?: number;
}

const cosineBetween = (from: number, to: number, t: number) => to + ((from - to) * (1 + Math.cos(Math.PI * t))) / 2;

/**
 * One-cycle schedule (Smith & Topin 2017) with cosine annealing in both phases, the same values as
 * PyTorch's `OneCycleLR(anneal_strategy='cos', three_phase=False)`: from maxLr/divFactor up to
 * maxLr at step pctStart*totalSteps - 1, then down to maxLr/divFactor/finalDivFactor at the last step.
 */
export function oneCycle(opts: OneCycleOptions): LearningRateSchedule {
  const { maxLr, totalSteps } = opts;
  const pctStart = opts.pctStart ?? 0.25;
  const initial = maxLr / (opts.divFactor ?? 25);
  const final = initial / (opts.finalDivFactor ?? 1e4);
  if (!(maxLr > 0)) throw new RangeError(`oneCycle: maxLr must be > 0, got ${maxLr}`);
  if (!Number.isInteger(totalSteps) || totalSteps < 2)
    throw new RangeError(`oneCycle: totalSteps must be an integer >= 2, got ${totalSteps}`);
  if (!(pctStart > 0 && pctStart < 1)) throw new RangeError(`oneCycle: pctStart must be in (0, 1), got ${pctStart}`);
  // PyTorch's phase boundary, kept fractional so the values agree with it step for step.
  const peakStep = pctStart * totalSteps - 1;
  if (!(peakStep > 0 && peakStep < totalSteps - 1))
    throw new RangeError(`oneCycle: pctStart ${pctStart} leaves no rise or no fall in ${totalSteps} steps`);
  const lastStep = totalSteps - 1;
  return (step) => {
    const s = Math.min(Math.max(step, 0), lastStep);
    if (s <= peakStep) return cosineBetween(initial, maxLr, s / peakStep);
    return cosineBetween(maxLr, final, (s - peakStep) / (lastStep - peakStep));
  };
}

export interface WarmupCosineOptions {
  peakLr: number;
  totalSteps: number;
  /** Linear warm-up from 0 to peakLr over these steps (default: 5% of the run). */
  warmupSteps?: number;
  /** Value at the last step (default 0). */
  finalLr?: number;
}

/** Linear warm-up, then cosine decay to finalLr at the last step. */
export function warmupCosine(opts: WarmupCosineOptions): LearningRateSchedule {
  const { peakLr, totalSteps } = opts;
  const warmup = opts.warmupSteps ?? Math.max(1, Math.round(0.05 * totalSteps));
  const finalLr = opts.finalLr ?? 0;
  if (!(peakLr > 0)) throw new RangeError(`warmupCosine: peakLr must be > 0, got ${peakLr}`);
  if (!Number.isInteger(totalSteps) || totalSteps <= warmup) {
    throw new RangeError(`warmupCosine: totalSteps (${totalSteps}) must be an integer above warmupSteps (${warmup})`);
  }
  const lastStep = totalSteps - 1;
  return (step) => {
    const s = Math.min(Math.max(step, 0), lastStep);
    if (s < warmup) return (peakLr * (s + 1)) / warmup;
    return cosineBetween(peakLr, finalLr, (s - warmup) / Math.max(1, lastStep - warmup));
  };
}

/** The schedule's value at every step (for plots and tests). */
export function scheduleValues(schedule: LearningRateSchedule, totalSteps: number): number[] {
  return Array.from({ length: totalSteps }, (_, s) => schedule(s));
}
