/**
 * Residual blocks. `Residual` is the chapter's block; `Bottleneck` and `PreActResidual` are the
 * chapter's exercises (deeper nets use bottlenecks; pre-activation moves BN and ReLU before the
 * convolutions, He et al. 2016, "Identity Mappings in Deep Residual Networks").
 *
 * The shortcut is the identity when shapes agree; otherwise a 1x1 convolution with the block's
 * stride makes it match (channels and halved height/width).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ForwardOptions, Module } from '../nn/module';
import { BatchNorm, Conv2d } from '../nn/layers';

export type BlockKind = 'basic' | 'bottleneck' | 'preact';

export interface BlockOptions {
  /** false: halve height and width (stride 2) and project the shortcut with a 1x1 conv. */
  sameShape?: boolean;
  /** Bottleneck only: width of the inner 3x3 conv is channels / expansion. */
  expansion?: number;
}

/** The seed's block: conv3x3 -> BN -> ReLU -> conv3x3 -> BN, plus the shortcut, then ReLU. */
export class Residual extends Module {
  readonly sameShape: boolean;
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm;
  private readonly conv2: Conv2d;
  private readonly bn2: BatchNorm;
  private readonly conv3?: Conv2d;

  constructor(readonly channels: number, opts: BlockOptions | boolean = {}) {
    super();
    this.sameShape = typeof opts === 'boolean' ? opts : opts.sameShape ?? true;
    const strides = this.sameShape ? 1 : 2;
    this.conv1 = this.addModule('conv1', new Conv2d(channels, { kernelSize: 3, padding: 1, strides }));
    this.bn1 = this.addModule('bn1', new BatchNorm());
    this.conv2 = this.addModule('conv2', new Conv2d(channels, { kernelSize: 3, padding: 1 }));
    this.bn2 = this.addModule('bn2', new BatchNorm());
    if (!this.sameShape) this.conv3 = this.addModule('conv3', new Conv2d(channels, { kernelSize: 1, strides }));
  }

  forward(x: tf.Tensor, opts: ForwardOptions): tf.Tensor {
    return tf.tidy(() => {
      let out = tf.relu(this.bn1.forward(this.conv1.forward(x), opts));
      out = this.bn2.forward(this.conv2.forward(out), opts);
      const shortcut = this.conv3 ? this.conv3.forward(x) : x;
      return tf.relu(tf.add(out, shortcut));
    });
  }
}

/**
 * Bottleneck block (torchvision's `Bottleneck`, exercise "deeper nets"): 1x1 reduce -> 3x3 -> 1x1
 * expand, each followed by BN, ReLU after the add. The output has `channels` channels; the 3x3
 * conv works on channels / expansion. The shortcut is projected whenever the shape changes.
 */
export class Bottleneck extends Module {
  readonly sameShape: boolean;
  private readonly convs: Conv2d[];
  private readonly bns: BatchNorm[];
  private projection?: Conv2d;
  private readonly strides: number;

  constructor(readonly channels: number, opts: BlockOptions = {}) {
    super();
    this.sameShape = opts.sameShape ?? true;
    this.strides = this.sameShape ? 1 : 2;
    const inner = Math.max(1, Math.round(channels / (opts.expansion ?? 4)));
    this.convs = [
      this.addModule('conv1', new Conv2d(inner, { kernelSize: 1 })),
      this.addModule('conv2', new Conv2d(inner, { kernelSize: 3, padding: 1, strides: this.strides })),
      this.addModule('conv3', new Conv2d(channels, { kernelSize: 1 })),
    ];
    this.bns = [this.addModule('bn1', new BatchNorm()), this.addModule('bn2', new BatchNorm()), this.addModule('bn3', new BatchNorm())];
  }

  forward(x: tf.Tensor, opts: ForwardOptions): tf.Tensor {
    // Project when the spatial size or the channel count changes (the first block of a stage).
    if (!this.projection && (!this.sameShape || x.shape[3] !== this.channels)) {
      this.projection = this.addModule('conv4', new Conv2d(this.channels, { kernelSize: 1, strides: this.strides }));
    }
    return tf.tidy(() => {
      let out = x;
      for (let i = 0; i < 3; i++) {
        out = this.bns[i].forward(this.convs[i].forward(out), opts);
        if (i < 2) out = tf.relu(out);
      }
      const shortcut = this.projection ? this.projection.forward(x) : x;
      return tf.relu(tf.add(out, shortcut));
    });
  }
}

/** Pre-activation block: BN -> ReLU -> conv3x3 -> BN -> ReLU -> conv3x3, plus the shortcut. */
export class PreActResidual extends Module {
  readonly sameShape: boolean;
  private readonly bn1: BatchNorm;
  private readonly conv1: Conv2d;
  private readonly bn2: BatchNorm;
  private readonly conv2: Conv2d;
  private readonly conv3?: Conv2d;

  constructor(readonly channels: number, opts: BlockOptions | boolean = {}) {
    super();
    this.sameShape = typeof opts === 'boolean' ? opts : opts.sameShape ?? true;
    const strides = this.sameShape ? 1 : 2;
    this.bn1 = this.addModule('bn1', new BatchNorm());
    this.conv1 = this.addModule('conv1', new Conv2d(channels, { kernelSize: 3, padding: 1, strides }));
    this.bn2 = this.addModule('bn2', new BatchNorm());
    this.conv2 = this.addModule('conv2', new Conv2d(channels, { kernelSize: 3, padding: 1 }));
    if (!this.sameShape) this.conv3 = this.addModule('conv3', new Conv2d(channels, { kernelSize: 1, strides }));
  }

  forward(x: tf.Tensor, opts: ForwardOptions): tf.Tensor {
    return tf.tidy(() => {
      const pre = tf.relu(this.bn1.forward(x, opts));
      let out = this.conv1.forward(pre);
      out = this.conv2.forward(tf.relu(this.bn2.forward(out, opts)));
      // The projection reads the pre-activated input, as in the paper's full pre-activation unit.
      const shortcut = this.conv3 ? this.conv3.forward(pre) : x;
      return tf.add(out, shortcut);
    });
  }
}

export function makeBlock(kind: BlockKind, channels: number, sameShape: boolean): Module {
  switch (kind) {
    case 'basic': return new Residual(channels, { sameShape });
    case 'bottleneck': return new Bottleneck(channels, { sameShape });
    case 'preact': return new PreActResidual(channels, { sameShape });
    default: throw new Error(`unknown residual block kind '${kind as string}' (basic, bottleneck, preact)`);
  }
}
