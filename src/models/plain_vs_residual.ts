/**
 * The two networks of He et al. 2015's degradation experiment (Section 4.2, the CIFAR-10 nets):
 * a 3x3 convolution to 16 channels with BN and ReLU, three stages of n blocks at 16, 32 and 64
 * channels (the second and third start by halving height and width), a global average pool and
 * a dense layer: 6n + 2 layers with weights. `shortcuts: true` builds each block as the chapter's
 * `Residual`; `shortcuts: false` builds the plain twin, the same two convolutions without the sum.
 *
 * The paper's residual CIFAR nets pad the shortcut with zeros when the width doubles (its
 * option A); these use the chapter's 1x1 projection (option B), so the residual net has two
 * small extra convolutions (16 -> 32 and 32 -> 64 channels), about 3k weights.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ForwardOptions, Module, Sequential } from '../nn/module';
import { BatchNorm, Conv2d, Dense, GlobalAvgPool2d, ReLU } from '../nn/layers';
import { Residual } from './residual';
import { SaveOptions, checkConfigFields } from '../io/model_artifacts';
import { loadNetworkWeights, saveNetwork } from '../io/weights';
import type { LoadWeightsOptions } from '../io/state_dict';

/** The chapter's block without its shortcut: conv3x3 -> BN -> ReLU -> conv3x3 -> BN -> ReLU. */
export class PlainBlock extends Module {
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm;
  private readonly conv2: Conv2d;
  private readonly bn2: BatchNorm;

  constructor(
    readonly channels: number,
    opts: { sameShape?: boolean } = {},
  ) {
    super();
    const strides = (opts.sameShape ?? true) ? 1 : 2;
    this.conv1 = this.addModule('conv1', new Conv2d(channels, { kernelSize: 3, padding: 1, strides }));
    this.bn1 = this.addModule('bn1', new BatchNorm());
    this.conv2 = this.addModule('conv2', new Conv2d(channels, { kernelSize: 3, padding: 1 }));
    this.bn2 = this.addModule('bn2', new BatchNorm());
  }

  forward(x: tf.Tensor, opts: ForwardOptions): tf.Tensor {
    return tf.tidy(() => {
      const out = this.bn1.forwardRelu(this.conv1.forward(x), opts);
      return this.bn2.forwardRelu(this.conv2.forward(out), opts);
    });
  }
}

export interface PlainOrResidualOptions {
  /** Layers with weights, 6n + 2: 8, 14, 20, 32, 44, 56, 110 ... */
  depth: number;
  /** true: residual blocks (the chapter's `Residual`); false: the plain twin. */
  shortcuts: boolean;
  numClasses?: number;
  /** Channels of the three stages (the paper's 16, 32, 64). */
  widths?: [number, number, number];
}

/** A 6n + 2 layer network of He et al.'s CIFAR experiment, plain or residual (see the file's header). */
export class PlainOrResidualNet extends Module {
  protected readonly createsVariables = false;
  /** Blocks per stage: (depth - 2) / 6. */
  readonly blocksPerStage: number;
  readonly shortcuts: boolean;
  readonly depth: number;
  private readonly body: Sequential;

  private readonly options: PlainOrResidualOptions;

  constructor(opts: PlainOrResidualOptions) {
    super();
    this.options = { ...opts };
    const n = (opts.depth - 2) / 6;
    if (!Number.isInteger(n) || n < 1) {
      throw new Error(
        `PlainOrResidualNet: depth must be 6n + 2 for a whole n >= 1 (8, 14, 20, 32, 44, 56, 110, ...); got ${opts.depth}`,
      );
    }
    const widths = opts.widths ?? [16, 32, 64];
    if (widths.length !== 3 || widths.some((w) => !Number.isInteger(w) || w < 1))
      throw new Error(`PlainOrResidualNet: widths must be 3 positive integers; got ${JSON.stringify(widths)}`);
    this.depth = opts.depth;
    this.blocksPerStage = n;
    this.shortcuts = opts.shortcuts;
    const block = (channels: number, sameShape: boolean, inChannels: number): Module =>
      opts.shortcuts ? new Residual(channels, { sameShape, inChannels }) : new PlainBlock(channels, { sameShape });
    const stem = new Sequential(new Conv2d(widths[0], { kernelSize: 3, padding: 1 }), new BatchNorm(), new ReLU());
    const stages = widths.map((w, i) => {
      const s = new Sequential();
      for (let j = 0; j < n; j++) s.add(block(w, !(i > 0 && j === 0), j === 0 && i > 0 ? widths[i - 1] : w));
      return s;
    });
    const head = new Sequential(new GlobalAvgPool2d(), new Dense(opts.numClasses ?? 10));
    this.body = this.addModule('net', new Sequential(stem, ...stages, head));
  }

  /** What rebuilds this network: its class and options (saved in model.json by `save`). */
  architecture(): { className: string; config: Record<string, unknown> } {
    return { className: 'PlainOrResidualNet', config: { ...this.options } };
  }

  /** A network from a saved config; an unknown field is refused with its name. */
  static fromConfig(config: Record<string, unknown>, source = 'PlainOrResidualNet config'): PlainOrResidualNet {
    checkConfigFields('PlainOrResidualNet', config, ['depth', 'shortcuts', 'numClasses', 'widths'], source);
    return new PlainOrResidualNet(config as unknown as PlainOrResidualOptions);
  }

  /** Saves the network in TensorFlow.js's format, or as safetensors for a `.safetensors` URL (see ResNet.save). */
  save(handlerOrUrl: tf.io.IOHandler | string, opts: SaveOptions = {}): Promise<tf.io.SaveResult> {
    return saveNetwork(this, handlerOrUrl, opts);
  }

  /** Loads weights from a safetensors file or a saved model (see ResNet.loadWeights). */
  loadWeights(source: string | Uint8Array | ArrayBuffer, opts: LoadWeightsOptions = {}): Promise<void> {
    return loadNetworkWeights(this, source, opts);
  }

  forward(x: tf.Tensor, opts: ForwardOptions): tf.Tensor {
    return this.body.forward(x, opts);
  }
}
