/**
 * Training-mode batch normalisation as ONE fused op with its own gradient.
 *
 * Why not tf.moments + tf.batchNorm? Autodiff through that chain runs a dozen broadcasting
 * element-wise kernels over the whole activation, forward and backward. Here the forward pass and
 * the backward pass are one kernel each, so a back end can implement them as single passes
 * (the native oneDNN back end does). Back ends without the kernels get the same maths composed
 * from standard tfjs ops.
 *
 * BN followed by ReLU (every BN of a block but the one before the residual add) can be one op too:
 * `relu: true` makes y = max(BN(x), 0) in the same output pass, and the gradient masks dy by y > 0 inside
 * its own two passes, so neither the ReLU's output nor its gradient is ever a tensor of its own.
 *
 * Kernel contracts (normalisation over every axis but the last, i.e. NHWC or [N, C]):
 *   ResnetBatchNormTrain     inputs {x, scale, offset}, attrs {varianceEpsilon, relu}
 *                            -> [y, mean, variance]   (variance is biased: divided by the count)
 *   ResnetBatchNormTrainGrad inputs {dy, x, scale, mean, variance, y (only with relu)}, attrs {varianceEpsilon, relu}
 *                            -> [dx, dScale, dOffset]
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

export const BATCH_NORM_TRAIN = 'ResnetBatchNormTrain';
export const BATCH_NORM_TRAIN_GRAD = 'ResnetBatchNormTrainGrad';

export interface BatchNormTrainResult {
  y: tf.Tensor;
  /** Batch statistics, for the running averages; not differentiable. */
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) != null;
}

function reductionAxes(rank: number): number[] {
  return Array.from({ length: rank - 1 }, (_, i) => i);
}

/** Forward by composition, for back ends without the fused kernel. */
function composedForward(x: tf.Tensor, scale: tf.Tensor1D, offset: tf.Tensor1D, eps: number) {
  const { mean, variance } = tf.moments(x, reductionAxes(x.rank));
  const y = tf.batchNorm(x, mean, variance, offset, scale, eps);
  return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

/** Backward by composition: the textbook training-mode BN gradient. */
function composedBackward(
  dy: tf.Tensor,
  x: tf.Tensor,
  scale: tf.Tensor1D,
  mean: tf.Tensor1D,
  variance: tf.Tensor1D,
  eps: number,
): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  return tf.tidy(() => {
    const axes = reductionAxes(x.rank);
    const count = x.size / x.shape[x.rank - 1];
    const invStd = tf.rsqrt(tf.add(variance, eps));
    const xHat = tf.mul(tf.sub(x, mean), invStd);
    const dOffset = tf.sum(dy, axes) as tf.Tensor1D;
    const dScale = tf.sum(tf.mul(dy, xHat), axes) as tf.Tensor1D;
    // dx = scale * invStd / m * (m * dy - sum(dy) - xHat * sum(dy * xHat))
    const inner = tf.sub(tf.sub(tf.mul(dy, count), dOffset), tf.mul(xHat, dScale));
    const dx = tf.mul(inner, tf.div(tf.mul(scale, invStd), count));
    return [dx, dScale, dOffset];
  });
}

/**
 * Normalises `x` with its own batch statistics, then scales and shifts per channel (last axis);
 * with `relu`, also clamps at 0 (the same values as tf.relu of the result, in one op).
 * Differentiable in x, scale and offset.
 */
export function batchNormTrain(
  x: tf.Tensor,
  scale: tf.Tensor1D,
  offset: tf.Tensor1D,
  varianceEpsilon = 1e-5,
  relu = false,
): BatchNormTrainResult {
  const channels = x.shape[x.rank - 1];
  if (x.rank < 2 || scale.shape[0] !== channels || offset.shape[0] !== channels) {
    throw new Error(
      `batchNormTrain: expected x [..., C] with scale/offset [C]; got x ${JSON.stringify(x.shape)}, ` +
        `scale ${JSON.stringify(scale.shape)}, offset ${JSON.stringify(offset.shape)}`,
    );
  }
  let stats: { mean: tf.Tensor1D; variance: tf.Tensor1D } | undefined;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, s, o] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const fused = hasKernel(BATCH_NORM_TRAIN);
    const attrs = { varianceEpsilon, relu };
    let y: tf.Tensor, mean: tf.Tensor1D, variance: tf.Tensor1D;
    if (fused) {
      [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAIN, { x: xIn, scale: s, offset: o }, attrs) as [
        tf.Tensor,
        tf.Tensor1D,
        tf.Tensor1D,
      ];
    } else {
      ({ y, mean, variance } = composedForward(xIn, s as tf.Tensor1D, o as tf.Tensor1D, varianceEpsilon));
      if (relu) y = tf.relu(y);
    }
    // The forward function runs inside an engine tidy: keep the statistics for the caller.
    stats = { mean: tf.keep(mean), variance: tf.keep(variance) };
    save(relu ? [xIn, s, mean, variance, y] : [xIn, s, mean, variance]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, ss, sm, sv, sy] = saved;
        if (hasKernel(BATCH_NORM_TRAIN_GRAD)) {
          const inputs = { dy, x: sx, scale: ss, mean: sm, variance: sv, ...(relu ? { y: sy } : {}) };
          return tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, inputs, attrs) as tf.Tensor[];
        }
        const g = relu ? tf.mul(dy, tf.step(sy)) : dy;
        return composedBackward(g, sx, ss as tf.Tensor1D, sm as tf.Tensor1D, sv as tf.Tensor1D, varianceEpsilon);
      },
    };
  });
  const y = (op as (...inputs: tf.Tensor[]) => tf.Tensor)(x, scale, offset);
  return { y, ...stats! };
}

// ---------------------------------------------------------------------------------------------
// Plain JS kernels for tfjs's 'cpu' back end: one pass for statistics, one for the output.

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function values(backend: MathBackendCPU, t: tf.TensorInfo): Float32Array {
  return backend.data.get(t.dataId).values as Float32Array;
}

/** JS reference of the fused forward kernel; exported for tests of other back ends. */
export function batchNormTrainForwardJs(
  x: Float32Array,
  c: number,
  scale: Float32Array,
  offset: Float32Array,
  eps: number,
  relu = false,
) {
  const m = x.length / c;
  const sum = new Float64Array(c);
  const sumSq = new Float64Array(c);
  for (let i = 0; i < x.length; i += c) {
    for (let j = 0; j < c; j++) {
      const v = x[i + j];
      sum[j] += v;
      sumSq[j] += v * v;
    }
  }
  const mean = new Float32Array(c);
  const variance = new Float32Array(c);
  const a = new Float32Array(c);
  const b = new Float32Array(c);
  for (let j = 0; j < c; j++) {
    const mu = sum[j] / m;
    const v = Math.max(sumSq[j] / m - mu * mu, 0);
    mean[j] = mu;
    variance[j] = v;
    a[j] = scale[j] / Math.sqrt(v + eps);
    b[j] = offset[j] - mu * a[j];
  }
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i += c) {
    for (let j = 0; j < c; j++) y[i + j] = x[i + j] * a[j] + b[j];
  }
  if (relu) for (let i = 0; i < y.length; i++) if (!(y[i] > 0) && !Number.isNaN(y[i])) y[i] = 0;
  return { y, mean, variance };
}

/** JS reference of the fused backward kernel; `y`: the output of a forward with relu (dy counts where y > 0). */
export function batchNormTrainBackwardJs(
  dyIn: Float32Array,
  x: Float32Array,
  c: number,
  scale: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  eps: number,
  y?: Float32Array,
) {
  const dy = y ? dyIn.map((g, i) => (y[i] > 0 ? g : 0)) : dyIn;
  const m = x.length / c;
  const invStd = new Float64Array(c);
  for (let j = 0; j < c; j++) invStd[j] = 1 / Math.sqrt(variance[j] + eps);
  const dOffset64 = new Float64Array(c);
  const dScale64 = new Float64Array(c);
  for (let i = 0; i < x.length; i += c) {
    for (let j = 0; j < c; j++) {
      const g = dy[i + j];
      dOffset64[j] += g;
      dScale64[j] += g * (x[i + j] - mean[j]) * invStd[j];
    }
  }
  const dx = new Float32Array(x.length);
  for (let i = 0; i < x.length; i += c) {
    for (let j = 0; j < c; j++) {
      const xHat = (x[i + j] - mean[j]) * invStd[j];
      dx[i + j] = ((scale[j] * invStd[j]) / m) * (m * dy[i + j] - dOffset64[j] - xHat * dScale64[j]);
    }
  }
  return { dx, dScale: Float32Array.from(dScale64), dOffset: Float32Array.from(dOffset64) };
}

function forwardKernelCpu({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const cpu = backend as MathBackendCPU;
  const { x, scale, offset } = inputs as { x: tf.TensorInfo; scale: tf.TensorInfo; offset: tf.TensorInfo };
  const c = x.shape[x.shape.length - 1];
  const r = batchNormTrainForwardJs(
    values(cpu, x),
    c,
    values(cpu, scale),
    values(cpu, offset),
    attrs!.varianceEpsilon as number,
    attrs!.relu === true,
  );
  return [
    cpu.makeTensorInfo(x.shape, 'float32', r.y),
    cpu.makeTensorInfo([c], 'float32', r.mean),
    cpu.makeTensorInfo([c], 'float32', r.variance),
  ];
}

function backwardKernelCpu({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const cpu = backend as MathBackendCPU;
  const { dy, x, scale, mean, variance, y } = inputs as Record<string, tf.TensorInfo>;
  const c = x.shape[x.shape.length - 1];
  const relu = attrs!.relu === true;
  if (relu && y == null) throw new Error(`${BATCH_NORM_TRAIN_GRAD}: attrs.relu needs the forward output as inputs.y`);
  const r = batchNormTrainBackwardJs(
    values(cpu, dy),
    values(cpu, x),
    c,
    values(cpu, scale),
    values(cpu, mean),
    values(cpu, variance),
    attrs!.varianceEpsilon as number,
    relu ? values(cpu, y) : undefined,
  );
  return [
    cpu.makeTensorInfo(x.shape, 'float32', r.dx),
    cpu.makeTensorInfo([c], 'float32', r.dScale),
    cpu.makeTensorInfo([c], 'float32', r.dOffset),
  ];
}

/** Registers the JS kernels for the 'cpu' back end (idempotent). */
export function registerBatchNormCpuKernels(): void {
  if (tf.getKernel(BATCH_NORM_TRAIN, 'cpu') == null) {
    tf.registerKernel({
      kernelName: BATCH_NORM_TRAIN,
      backendName: 'cpu',
      kernelFunc: forwardKernelCpu as tf.KernelFunc,
    });
  }
  if (tf.getKernel(BATCH_NORM_TRAIN_GRAD, 'cpu') == null) {
    tf.registerKernel({
      kernelName: BATCH_NORM_TRAIN_GRAD,
      backendName: 'cpu',
      kernelFunc: backwardKernelCpu as tf.KernelFunc,
    });
  }
}

registerBatchNormCpuKernels();
