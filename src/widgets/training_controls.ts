/**
 * Stop and learning-rate controls for a training cell: pass them to train() as `steering`.
 *
 *   const controls = new TrainingControls({ learningRate: 0.05 });
 *   display(controls);
 *   await train({ ...options, steering: controls });
 *
 * Stop ends train() after the batch it is running (its history and, with `checkpointDir`, a
 * checkpoint are kept, as for an interrupt). The rate slider acts from the next step. With a
 * schedule (warm-up, one-cycle) it scales the schedule: the rate used is the scheduled rate times
 * slider / starting value, so the schedule's shape is kept and moving the slider to half the
 * starting value halves every later step; without a schedule, the slider's value is the rate.
 */
import type { BatchEvent } from '../train/history';
import type { TrainSteering } from '../train/steering';
import { Button, FloatLogSlider, HBox, Label } from './controls';

export interface TrainingControlsOptions {
  /** The learning rate the run starts with (the slider's starting value). */
  learningRate: number;
  /** The slider's range (default learningRate / 100 .. learningRate * 10). */
  min?: number;
  max?: number;
}

export class TrainingControls extends HBox implements TrainSteering {
  readonly stopButton: Button;
  readonly rate: FloatLogSlider;
  readonly status: Label;
  private stopFlag = false;
  private readonly initialRate: number;

  constructor(opts: TrainingControlsOptions) {
    const lr = opts.learningRate;
    if (!(typeof lr === 'number' && lr > 0 && Number.isFinite(lr)))
      throw new RangeError(`TrainingControls: learningRate must be a positive number, got ${String(lr)}`);
    const min = opts.min ?? lr / 100;
    const max = opts.max ?? lr * 10;
    if (!(min > 0 && min <= lr && lr <= max))
      throw new RangeError(`TrainingControls: need 0 < min <= learningRate <= max, got ${min}, ${lr}, ${max}`);
    const stopButton = new Button({
      description: 'Stop',
      icon: 'stop',
      button_style: 'danger',
      tooltip: 'stop after this batch',
    });
    const rate = new FloatLogSlider({
      value: lr,
      min: Math.log10(min),
      max: Math.log10(max),
      step: 0.05,
      description: 'learning rate',
      style: { description_width: 'initial' },
      continuous_update: false,
    });
    const status = new Label({ value: 'waiting for train()' });
    super([stopButton, rate, status]);
    this.stopButton = stopButton;
    this.rate = rate;
    this.status = status;
    this.initialRate = lr;
    stopButton.onClick(() => this.stop());
  }

  /** What the Stop button does. */
  stop(): void {
    this.stopFlag = true;
    this.stopButton.disabled = true;
    this.status.value = 'stopping after this batch';
  }

  get stopRequested(): boolean {
    return this.stopFlag;
  }

  learningRate(scheduled: number | undefined): number | undefined {
    const slider = this.rate.value;
    if (slider === this.initialRate) return scheduled;
    return scheduled === undefined ? slider : (scheduled * slider) / this.initialRate;
  }

  onBatch(e: BatchEvent): void {
    if (this.stopFlag) return;
    this.status.value = `epoch ${e.epoch + 1}, batch ${e.batch}/${e.numBatches}, loss ${e.loss.toFixed(3)}`;
  }

  onEnd(r: { steps: number; stopped: boolean }): void {
    this.status.value = `${r.stopped ? 'stopped' : 'finished'} after ${r.steps} steps`;
    this.stopButton.disabled = true;
  }
}
