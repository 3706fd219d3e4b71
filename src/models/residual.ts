/**
 * Residual blocks. `Residual` is the chapter's block; `Bottleneck` and `PreActResidual` are the
 * chapter's exercises (deeper nets use bottlenecks; pre-activation moves BN and ReLU before the
 * convolutions, He et al. 2016, "Identity Mappings in Deep Residual Networks").
 *
 * The shortcut is the identity when shapes agree; otherwise a 1x1 convolution with the block's
 * stride makes it match (channels and halved height/width).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ForwardOptions, Module, Sequential } from '../nn/module';
import { BatchNorm, Conv2d } from '../nn/layers';
import type { Conv2dOptions } from '../nn/layers';
import { addRelu } from '../ops/add_relu';

/** The residual block kinds a ResNet can be built from (config validation and the CLI use this list). */
export const BLOCK_KINDS = ['basic', 'bottleneck', 'preact'] as const;
export type BlockKind = (typeof BLOCK_KINDS)[number];

export interface BlockOptions {
  /** false: halve height and width (stride 2) and project the shortcut with a 1x1 conv. */
  sameShape?: boolean;
  /**
   * Channels of the block's input, when known. A block whose input width differs from its output
   * width projects its shortcut even at the same spatial size (e.g. the first bottleneck block).
   * Unset: the input is taken to have `channels` channels unless `sameShape` is false.
   */
  inChannels?: number;
  /** Bottleneck only: width of the inner 3x3 conv is channels / expansion (times widthPerGroup/64 x groups). */
  expansion?: number;
  /**
   * Bottleneck only: ResNeXt's cardinality. The inner 3x3 conv is grouped into `groups` paths of
   * `widthPerGroup` channels per 64 of the plain bottleneck's inner width (torchvision's names and
   * formula: inner = floor(channels / expansion * widthPerGroup / 64) * groups). Defaults 1 and 64:
   * the plain bottleneck. ResNeXt-50 32x4d: groups 32, widthPerGroup 4.
   */
  groups?: number;
  widthPerGroup?: number;
  /**
   * Bottleneck only, when it downsamples: which conv has stride 2. '3x3' (default, torchvision's
   * "ResNet v1.5", slightly more accurate) or '1x1', the first conv, as in He et al. 2015 (whose
   * Table 1 FLOPs count it that way: ResNet-50 3.8 vs 4.1 billion multiply-adds).
   */
  bottleneckStride?: '1x1' | '3x3';
  /** Convolutions carry a bias (default true, as Gluon's Conv2D in the seed; torchvision's have none, BN's shift does that job). */
  convBias?: boolean;
  /** A batch norm after the 1x1 projection shortcut (the paper's and torchvision's; the seed's has none). */
  shortcutBatchNorm?: boolean;
}

/**
 * What the three blocks share: the shortcut. It is the identity when the block keeps the input's
 * shape, else a 1x1 convolution with the block's stride (followed by a BN with
 * `shortcutBatchNorm`), always the child module `shortcut` (added last, after the main branch's layers).
 */
abstract class ResidualBlock extends Module {
  readonly sameShape: boolean;
  protected readonly strides: number;
  private readonly convBias: boolean;
  private shortcutModule?: Module;

  constructor(
    readonly channels: number,
    opts: BlockOptions | boolean,
  ) {
    super();
    this.sameShape = typeof opts === 'boolean' ? opts : (opts.sameShape ?? true);
    this.strides = this.sameShape ? 1 : 2;
    this.convBias = typeof opts === 'boolean' ? true : (opts.convBias ?? true);
  }

  /** A convolution of this block (with or without bias, as the block's options say). */
  protected conv(channels: number, opts: Omit<Conv2dOptions, 'useBias'>): Conv2d {
    return new Conv2d(channels, { ...opts, useBias: this.convBias });
  }

  /** Creates the projection if the shape changes; each block calls it after its own layers. */
  protected addShortcut(opts: BlockOptions | boolean): void {
    const o = typeof opts === 'boolean' ? {} : opts;
    if (!this.sameShape || (o.inChannels !== undefined && o.inChannels !== this.channels)) {
      const projection = this.conv(this.channels, { kernelSize: 1, strides: this.strides });
      this.shortcutModule = this.addModule(
        'shortcut',
        o.shortcutBatchNorm ? new Sequential(projection, new BatchNorm()) : projection,
      );
    }
  }

  /** True when the shortcut is a 1x1 projection rather than the identity. */
  get projects(): boolean {
    return this.shortcutModule !== undefined;
  }

  /** The shortcut branch applied to `x`. */
  protected shortcut(x: tf.Tensor, opts: ForwardOptions): tf.Tensor {
    if (this.shortcutModule) return this.shortcutModule.forward(x, opts);
    if (x.shape[3] !== this.channels) {
      throw new Error(
        `${this.constructor.name}(${this.channels}): input has ${x.shape[3]} channels, so the identity ` +
          `shortcut cannot be added; pass { inChannels: ${x.shape[3]} } to project it with a 1x1 convolution`,
      );
    }
    return x;
  }
}

/** The seed's block: conv3x3 -> BN -> ReLU -> conv3x3 -> BN, plus the shortcut, then ReLU. */
export class Residual extends ResidualBlock {
  /** Output channels per channel of the block's inner convolutions (torchvision's `expansion`). */
  static readonly expansion = 1;
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm;
  private readonly conv2: Conv2d;
  private readonly bn2: BatchNorm;

  constructor(channels: number, opts: BlockOptions | boolean = {}) {
    super(channels, opts);
    this.conv1 = this.addModule('conv1', this.conv(channels, { kernelSize: 3, padding: 1, strides: this.strides }));
    this.bn1 = this.addModule('bn1', new BatchNorm());
    this.conv2 = this.addModule('conv2', this.conv(channels, { kernelSize: 3, padding: 1 }));
    this.bn2 = this.addModule('bn2', new BatchNorm());
    this.addShortcut(opts);
  }

  forward(x: tf.Tensor, opts: ForwardOptions): tf.Tensor {
    return tf.tidy(() => {
      let out = this.bn1.forwardRelu(this.conv1.forward(x), opts);
      out = this.bn2.forward(this.conv2.forward(out), opts);
      return addRelu(out, this.shortcut(x, opts));
    });
  }
}

/**
 * Bottleneck block (torchvision's `Bottleneck`, exercise "deeper nets"): 1x1 reduce -> 3x3 -> 1x1
 * expand, each followed by BN, ReLU after the add. With `groups` > 1 the 3x3 conv is grouped: the
 * ResNeXt block (Xie et al. 2017), many narrow paths in the cost of one wide one. The output has `channels` channels; the 3x3
 * conv works on channels / expansion. The first block of a stage changes the width, so it needs
 * `inChannels` (the ResNet builder passes it).
 */
export class Bottleneck extends ResidualBlock {
  /** The output is this many times as wide as the inner 3x3 convolution (the default of `opts.expansion`). */
  static readonly expansion = 4;
  private readonly convs: Conv2d[];
  private readonly bns: BatchNorm[];

  constructor(channels: number, opts: BlockOptions = {}) {
    super(channels, opts);
    const groups = opts.groups ?? 1;
    const plain = Math.max(1, Math.round(channels / (opts.expansion ?? Bottleneck.expansion)));
    const inner =
      groups === 1 && (opts.widthPerGroup ?? 64) === 64
        ? plain
        : Math.floor((plain * (opts.widthPerGroup ?? 64)) / 64) * groups;
    if (inner < groups) throw new Error(`Bottleneck(${channels}): ${groups} groups leave no channels per group`);
    const first = opts.bottleneckStride === '1x1';
    this.convs = [
      this.addModule('conv1', this.conv(inner, { kernelSize: 1, strides: first ? this.strides : 1 })),
      this.addModule(
        'conv2',
        this.conv(inner, { kernelSize: 3, padding: 1, strides: first ? 1 : this.strides, groups }),
      ),
      this.addModule('conv3', this.conv(channels, { kernelSize: 1 })),
    ];
    this.bns = [
      this.addModule('bn1', new BatchNorm()),
      this.addModule('bn2', new BatchNorm()),
      this.addModule('bn3', new BatchNorm()),
    ];
    this.addShortcut(opts);
  }

  forward(x: tf.Tensor, opts: ForwardOptions): tf.Tensor {
    return tf.tidy(() => {
      let out = x;
      for (let i = 0; i < 3; i++) {
        const z = this.convs[i].forward(out);
        out = i < 2 ? this.bns[i].forwardRelu(z, opts) : this.bns[i].forward(z, opts);
      }
      return addRelu(out, this.shortcut(x, opts));
    });
  }
}

/** Pre-activation block: BN -> ReLU -> conv3x3 -> BN -> ReLU -> conv3x3, plus the shortcut. */
export class PreActResidual extends ResidualBlock {
  static readonly expansion = 1;
  private readonly bn1: BatchNorm;
  private readonly conv1: Conv2d;
  private readonly bn2: BatchNorm;
  private readonly conv2: Conv2d;

  constructor(channels: number, opts: BlockOptions | boolean = {}) {
    super(channels, opts);
    this.bn1 = this.addModule('bn1', new BatchNorm());
    this.conv1 = this.addModule('conv1', this.conv(channels, { kernelSize: 3, padding: 1, strides: this.strides }));
    this.bn2 = this.addModule('bn2', new BatchNorm());
    this.conv2 = this.addModule('conv2', this.conv(channels, { kernelSize: 3, padding: 1 }));
    this.addShortcut(opts);
  }

  forward(x: tf.Tensor, opts: ForwardOptions): tf.Tensor {
    return tf.tidy(() => {
      const pre = this.bn1.forwardRelu(x, opts);
      let out = this.conv1.forward(pre);
      out = this.conv2.forward(this.bn2.forwardRelu(out, opts));
      // A projection reads the pre-activated input, as in the paper's full pre-activation unit.
      return tf.add(out, this.shortcut(this.projects ? pre : x, opts));
    });
  }
}

/** The block class of each kind (its static `expansion` says how wide its output is per inner channel). */
export const BLOCK_CLASSES = { basic: Residual, bottleneck: Bottleneck, preact: PreActResidual } as const;

/** A block of the given kind; options a kind does not use (groups on a basic block) are refused by name. */
export function makeBlock(kind: BlockKind, channels: number, opts: BlockOptions = {}): Module {
  const { groups, widthPerGroup, bottleneckStride, expansion, ...common } = opts;
  const bottleneckOnly = { groups, widthPerGroup, bottleneckStride, expansion };
  switch (kind) {
    case 'bottleneck':
      return new Bottleneck(channels, opts);
    case 'basic':
    case 'preact': {
      const misplaced = Object.entries(bottleneckOnly).filter(([, v]) => v !== undefined);
      if (misplaced.length)
        throw new Error(
          `makeBlock('${kind}'): ${misplaced.map(([k]) => k).join(', ')} apply to bottleneck blocks only`,
        );
      return kind === 'basic' ? new Residual(channels, common) : new PreActResidual(channels, common);
    }
    default:
      throw new Error(`unknown residual block kind '${kind as string}' (${BLOCK_KINDS.join(', ')})`);
  }
}
