/** Loss and accuracy, the two numbers the chapter reports. */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Mean softmax cross-entropy of logits [N, K] against integer labels [N] (Gluon's
 * SoftmaxCrossEntropyLoss, averaged). With `labelSmoothing` e the target is (1 - e) on the label
 * plus e/K on every class, as PyTorch's `CrossEntropyLoss(label_smoothing=e)`.
 */
export function softmaxCrossEntropy(logits: tf.Tensor, labels: tf.Tensor1D, labelSmoothing = 0): tf.Scalar {
  if (!(labelSmoothing >= 0 && labelSmoothing < 1))
    throw new RangeError(`labelSmoothing must be in [0, 1), got ${labelSmoothing}`);
  return tf.tidy(() => {
    const k = logits.shape[logits.rank - 1];
    const oneHot = tf.oneHot(tf.cast(labels, 'int32'), k);
    return tf.losses.softmaxCrossEntropy(oneHot, logits as tf.Tensor2D, undefined, labelSmoothing) as tf.Scalar;
  });
}

/** Number of rows whose arg-max equals the label. */
export function countCorrect(logits: tf.Tensor, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(
    () => tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), tf.cast(labels, 'int32')), 'float32')) as tf.Scalar,
  );
}
