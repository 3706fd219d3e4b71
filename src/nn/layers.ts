/** The layers the chapter needs: convolution, batch norm, dense, pooling, activation, flatten. */
import * as tf from '@tensorflow/tfjs-core';
import { updateMovingAverages } from '../backend/in_place_updates';
import { batchNormTrain } from '../ops/batch_norm_train';
import { groupedConv2d } from '../ops/grouped_conv2d';
import { ForwardOptions, Module } from './module';
import { nextInitSeed, xavierUniform } from './init';

export type Padding = number | 'same' | 'valid';

export interface Conv2dOptions {
  kernelSize: number;
  strides?: number;
  /** Symmetric zero padding in pixels (the seed's `padding=1`), or tfjs's 'same' / 'valid'. */
  padding?: Padding;
  useBias?: boolean;
  /**
   * Grouped convolution (ResNeXt's cardinality): input and output channels are cut into `groups`
   * parts and part g of the output sees only part g of the input; weights [k, k, in / groups, out].
   */
  groups?: number;
}

/** 2-D convolution over NHWC input; weights are HWIO [k, k, in / groups, out]. */
export class Conv2d extends Module {
  readonly kernelSize: number;
  readonly strides: number;
  readonly padding: Padding;
  readonly useBias: boolean;
  readonly groups: number;
  /** Input channels, known from the first input. */
  private inChannels?: number;

  constructor(
    readonly channels: number,
    opts: Conv2dOptions,
  ) {
    super();
    this.kernelSize = opts.kernelSize;
    this.strides = opts.strides ?? 1;
    this.padding = opts.padding ?? 0;
    this.useBias = opts.useBias ?? true;
    this.groups = opts.groups ?? 1;
    if (!Number.isInteger(this.groups) || this.groups < 1 || channels % this.groups !== 0) {
      throw new Error(
        `Conv2d: groups must be a positive integer dividing the ${channels} output channels, got ${opts.groups}`,
      );
    }
  }

  forward(x: tf.Tensor): tf.Tensor {
    if (x.rank !== 4) throw new Error(`Conv2d expects NHWC input, got shape ${JSON.stringify(x.shape)}`);
    const inChannels = x.shape[3] as number;
    this.inChannels ??= inChannels;
    const k = this.kernelSize;
    const g = this.groups;
    if (inChannels % g !== 0) {
      throw new Error(
        `Conv2d with ${g} groups got input ${JSON.stringify(x.shape)}: ${inChannels} channels do not split`,
      );
    }
    const weight = this.variable('weight', () => xavierUniform([k, k, inChannels / g, this.channels], nextInitSeed()));
    const builtFor = (weight.shape[2] as number) * g;
    if (builtFor !== inChannels) {
      throw new Error(`Conv2d built for ${builtFor} input channels got input ${JSON.stringify(x.shape)}`);
    }
    const bias = this.useBias ? (this.variable('bias', () => tf.zeros([this.channels])) as tf.Tensor1D) : undefined;
    const pad = this.padding === 0 ? 'valid' : this.padding;
    const [x4, w4] = [x as tf.Tensor4D, weight as tf.Tensor4D];
    if (g > 1) return groupedConv2d(x4, w4, { strides: this.strides, pad, groups: g, bias });
    return tf.fused.conv2d({ x: x4, filter: w4, strides: this.strides, pad, bias });
  }

  /** Every output element sums k x k x (inChannels / groups) products. */
  protected ownMultiplyAdds([h, w, c]: number[]): number {
    return (h * w * c * this.kernelSize * this.kernelSize * (this.inChannels ?? 0)) / this.groups;
  }
}

export interface BatchNormOptions {
  /** Weight of the old value in the running averages (Gluon's default 0.9). */
  momentum?: number;
  epsilon?: number;
}

/** Batch normalisation over the last (channel) axis, with running averages for inference. */
export class BatchNorm extends Module {
  /** Mutable so that recalibrateBatchNorm can average exactly over its batches. */
  momentum: number;
  readonly epsilon: number;

  constructor(opts: BatchNormOptions = {}) {
    super();
    this.momentum = opts.momentum ?? 0.9;
    this.epsilon = opts.epsilon ?? 1e-5;
  }

  forward(x: tf.Tensor, opts: ForwardOptions): tf.Tensor {
    return this.normalize(x, opts, false);
  }

  /**
   * tf.relu(this.forward(x, opts)), with the ReLU fused into the batch-norm op in training (the same
   * values and gradients; one pass less each way and no intermediate tensor). Blocks call this for
   * every "BN, then ReLU" they contain.
   */
  forwardRelu(x: tf.Tensor, opts: ForwardOptions): tf.Tensor {
    return this.noteRun(x, this.normalize(x, opts, true));
  }

  private normalize(x: tf.Tensor, opts: ForwardOptions, relu: boolean): tf.Tensor {
    const c = x.shape[x.rank - 1];
    const gamma = this.variable('gamma', () => tf.ones([c])) as tf.Variable<tf.Rank.R1>;
    const beta = this.variable('beta', () => tf.zeros([c])) as tf.Variable<tf.Rank.R1>;
    const runningMean = this.variable('running_mean', () => tf.zeros([c]), false);
    const runningVar = this.variable('running_var', () => tf.ones([c]), false);
    if (!opts.training) {
      const y = tf.batchNorm(x, runningMean, runningVar, beta, gamma, this.epsilon);
      if (!relu) return y;
      const r = tf.relu(y);
      y.dispose();
      return r;
    }
    const { y, mean, variance } = batchNormTrain(x, gamma, beta, this.epsilon, relu);
    updateMovingAverages([runningMean, runningVar], [mean, variance], this.momentum);
    mean.dispose();
    variance.dispose();
    return y;
  }
}

/** Fully connected layer; flattens its input first (like Gluon's Dense). */
export class Dense extends Module {
  /** Input features, known from the first input. */
  private inUnits?: number;

  constructor(
    readonly units: number,
    readonly useBias = true,
  ) {
    super();
  }

  forward(x: tf.Tensor): tf.Tensor {
    const flat = x.rank === 2 ? (x as tf.Tensor2D) : (tf.reshape(x, [x.shape[0], -1]) as tf.Tensor2D);
    const inUnits = flat.shape[1];
    this.inUnits ??= inUnits;
    const weight = this.variable('weight', () =>
      xavierUniform([inUnits, this.units], nextInitSeed()),
    ) as tf.Variable<tf.Rank.R2>;
    const bias = this.useBias ? this.variable('bias', () => tf.zeros([this.units])) : undefined;
    const out = tf.fused.matMul({ a: flat, b: weight, bias });
    if (flat !== x) flat.dispose();
    return out;
  }

  protected ownMultiplyAdds([units]: number[]): number {
    return units * (this.inUnits ?? 0);
  }
}

export class MaxPool2d extends Module {
  protected readonly createsVariables = false;
  constructor(
    readonly poolSize: number,
    readonly strides = poolSize,
    readonly padding: Padding = 0,
  ) {
    super();
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.maxPool(x as tf.Tensor4D, this.poolSize, this.strides, this.padding === 0 ? 'valid' : this.padding);
  }
}

/** Average pooling; stride defaults to the window, as in Gluon's AvgPool2D. */
export class AvgPool2d extends Module {
  protected readonly createsVariables = false;
  constructor(
    readonly poolSize: number,
    readonly strides = poolSize,
    readonly padding: Padding = 0,
  ) {
    super();
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.avgPool(x as tf.Tensor4D, this.poolSize, this.strides, this.padding === 0 ? 'valid' : this.padding);
  }
}

/** Averages each channel over the whole feature map: [N, H, W, C] -> [N, 1, 1, C]. */
export class GlobalAvgPool2d extends Module {
  protected readonly createsVariables = false;
  forward(x: tf.Tensor): tf.Tensor {
    // An average pool whose window is the whole map, not tf.mean: back ends have pooling kernels for
    // it (onednn: native AvgPool and AvgPoolGrad), while mean's gradient is a broadcasting multiply
    // that runs in JS. Measured on the fast recipe's head, [128, 4, 4, 128]: mean and its gradient
    // took ~35% of a training step.
    const [, h, w] = x.shape;
    return tf.avgPool(x as tf.Tensor4D, [h, w], 1, 'valid');
  }
}

export class ReLU extends Module {
  protected readonly createsVariables = false;
  forward(x: tf.Tensor): tf.Tensor {
    return tf.relu(x);
  }
}
