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

/** The schedule's value at every step (for plots and tests). */
export function scheduleValues(schedule: LearningRateSchedule, totalSteps: number): number[] {
  return Array.from({ length: totalSteps }, (_, s) => schedule(s));
}
