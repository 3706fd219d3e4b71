/** Grouped-convolution cases and a value-and-gradients runner shared by the JS and the native tests. */
import * as tf from '@tensorflow/tfjs-core';

import type { GroupedConv2dOptions } from '../../src/ops/grouped_conv2d';

/** [x shape, filter shape, groups, strides, pad, bias] */
export const GROUPED_CASES: [number[], number[], number, number, 'same' | 'valid' | number, boolean][] = [
  [[2, 6, 6, 4], [3, 3, 2, 6], 2, 1, 1, true],
  [[1, 7, 5, 8], [3, 3, 1, 8], 8, 2, 'same', false], // depthwise-like: one channel per group
  [[3, 5, 5, 32], [3, 3, 1, 64], 32, 1, 'valid', true], // 32 groups, two outputs each
  [[2, 4, 4, 64], [1, 1, 2, 64], 32, 2, 0, false], // 1x1, stride 2
  [[1, 9, 9, 6], [5, 5, 3, 4], 2, 2, 2, true], // 5x5, odd size
  [[2, 5, 5, 6], [3, 3, 6, 5], 1, 1, 1, true], // groups 1: tfjs's own conv
];

export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0,
    m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / Math.max(m, 1e-6);
}

/** Output and gradients (x, filter[, bias]) of sum(f(x, w, b) * dy). */
export function valueAndGrads(
  f: (x: tf.Tensor4D, w: tf.Tensor4D, o: GroupedConv2dOptions) => tf.Tensor4D,
  [xs, ws, groups, strides, pad, withBias]: (typeof GROUPED_CASES)[number],
): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.randomUniform(xs as [number, number, number, number], -1, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomUniform(ws as [number, number, number, number], -1, 1, 'float32', 2) as tf.Tensor4D;
    const b = tf.randomUniform([ws[3]], -1, 1, 'float32', 3) as tf.Tensor1D;
    const run = (xx: tf.Tensor, ww: tf.Tensor, bb?: tf.Tensor) =>
      f(xx as tf.Tensor4D, ww as tf.Tensor4D, { groups, strides, pad, bias: bb as tf.Tensor1D | undefined });
    const y = run(x, w, withBias ? b : undefined);
    const dy = tf.randomUniform(y.shape, -1, 1, 'float32', 4);
    const loss = (...a: tf.Tensor[]) => tf.sum(tf.mul(run(a[0], a[1], a[2]), dy));
    const grads = withBias ? tf.grads(loss)([x, w, b]) : tf.grads(loss)([x, w]);
    return [y, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}
