/**
 * Steering a running train() from outside the loop (a notebook's Stop button and learning-rate
 * control, see widgets/training_controls.ts): train() asks after every batch whether to stop and,
 * before every step, which learning rate to use. Any object with these members steers; the
 * training loop knows nothing about widgets.
 */
import type { BatchEvent } from './history';

export interface TrainSteering {
  /** True once someone asked training to stop; train() stops after the current batch. */
  readonly stopRequested: boolean;
  /**
   * The learning rate of the next step, given the one the schedule gives (undefined without a
   * schedule: the optimizer's own). Returning undefined keeps the optimizer's rate.
   */
  learningRate?(scheduled: number | undefined): number | undefined;
  /** After every batch (progress shown beside the controls). */
  onBatch?(e: BatchEvent): void;
  /** When train() returns, with `stopped` true if it stopped early. */
  onEnd?(r: { steps: number; stopped: boolean }): void;
}
