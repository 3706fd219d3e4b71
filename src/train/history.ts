/** What training records per epoch: the history `train` returns, checkpoints store and plots draw. */
export interface EpochRecord {
  epoch: number;
  loss: number;
  trainAcc: number;
  testAcc: number;
  /** Accuracy on the held-out validation images, when training had them. */
  validAcc?: number;
  seconds: number;
  imagesPerSecond: number;
}
