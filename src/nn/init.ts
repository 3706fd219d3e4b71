/** Weight initialisers. Seeds make a model's initial weights reproducible. */
import * as tf from '@tensorflow/tfjs-core';

/** Fan-in and fan-out of a conv filter [kh, kw, in, out] or a dense kernel [in, out]. */
export function fans(shape: number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 2) return { fanIn: shape[0], fanOut: shape[1] };
  if (shape.length === 4) {
    const receptive = shape[0] * shape[1];
    return { fanIn: shape[2] * receptive, fanOut: shape[3] * receptive };
  }
  throw new Error(`fans: unsupported weight shape ${JSON.stringify(shape)}`);
}

/**
 * Xavier (Glorot) uniform, as Gluon's `init.Xavier()` defaults to:
 * U(-a, a) with a = sqrt(6 / (fanIn + fanOut)) (Gluon's magnitude 3 with "avg" factor).
 */
export function xavierUniform(shape: number[], seed?: number): tf.Tensor {
  const { fanIn, fanOut } = fans(shape);
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return tf.randomUniform(shape, -limit, limit, 'float32', seed);
}

/** Hands out a different seed to each parameter, deterministically from one base seed. */
export class SeedSequence {
  private next: number;
  constructor(base: number) {
    this.next = base >>> 0;
  }
  take(): number {
    this.next = (Math.imul(this.next ^ (this.next >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return this.next;
  }
}

let seeds: SeedSequence | undefined;

/** Makes every parameter created from now on reproducible from `seed` (undefined: random). */
export function seedInitializers(seed: number | undefined): void {
  seeds = seed == null ? undefined : new SeedSequence(seed);
}

/** The seed for the next parameter to be created (undefined when unseeded). */
export function nextInitSeed(): number | undefined {
  return seeds?.take();
}
