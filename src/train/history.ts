/** What training reports after each batch (onBatch, a steering's onBatch, the live plot). */
export interface BatchEvent {
  epoch: number;
  /** Batches done in this epoch (1 after the first). */
  batch: number;
  numBatches: number;
  /** Mean loss over this batch. */
  loss: number;
  /** Examples in this batch, and how many of them the net classified correctly (before the update). */
  batchSize: number;
  correct: number;
  imagesPerSecond: number;
}

/** What training records per epoch: the history `train` returns, checkpoints store and plots draw. */
export interface EpochRecord {
  epoch: number;
  loss: number;
  trainAcc: number;
  testAcc: number;
  /** Accuracy on the held-out validation images, when training had them. */
  validAcc?: number;
  /** Training time of the epoch (steps only). */
  seconds: number;
  imagesPerSecond: number;
  /**
   * Wall-clock seconds from this train() call's start to the end of the epoch's evaluations
   * (training, checkpoints and evaluations; what a time-to-accuracy measurement needs).
   */
  wallSeconds?: number;
}
