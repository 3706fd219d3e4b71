/**
 * Switching tfjs back ends inside synchronous test code. tf.setBackend is async in its signature,
 * but for the CPU back ends (cpu, onednn: no async init) it switches before it returns; this makes
 * that explicit and checks it, instead of leaving a floating promise.
 */
import * as tf from '@tensorflow/tfjs-core';

export function useBackendNow(name: string): void {
  void tf.setBackend(name); // switched synchronously (checked below); the promise only repeats it
  if (tf.getBackend() !== name) throw new Error(`could not select the ${name} back end synchronously`);
}
