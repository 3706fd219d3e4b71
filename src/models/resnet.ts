/**
 * The chapter's ResNet, as six blocks b1..b6 (the seed's layout), with widths, depths and the
 * residual block kind configurable for smaller test nets and for the exercises.
 *
 *   b1  conv 7x7, stride 2, no padding                  (stem)
 *   b2  max pool 3x3 / 2, then `depths[0]` blocks at widths[0]
 *   b3  first block halves H and W (sameShape=false), then depths[1]-1 more, at widths[1]
 *   b4, b5  likewise at widths[2], widths[3]
 *   b6  average pool 3x3 (or global), then dense -> numClasses
 *
 * Shapes are NHWC (tfjs is channels-last); the seed printed MXNet's NCHW.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ForwardOptions, Module, Sequential } from '../nn/module';
import { AvgPool2d, BatchNorm, Conv2d, Dense, GlobalAvgPool2d, MaxPool2d, ReLU } from '../nn/layers';
import { BlockKind, makeBlock } from './residual';

export interface ResNetConfig {
  numClasses: number;
  /** Output channels of the four stages b2..b5. */
  widths: [number, number, number, number];
  /** Output channels of the stem b1 (the seed: 64, the same as widths[0]). */
  stemWidth: number;
  /** Residual blocks per stage b2..b5 (the seed: 2 each, i.e. ResNet-18). */
  depths: [number, number, number, number];
  block: BlockKind;
  /** b6's pooling: the seed's 3x3 average pool (for 96x96 inputs) or a global average. */
  headPool: 'avg3' | 'global';
  /**
   * b1 and the start of b2. 'seed': a 7x7 stride-2 conv without padding, then b2 opens with a 3x3
   * stride-2 max pool (the chapter's layout). 'small': a 3x3 conv (padding 1) + BN + ReLU and no
   * max pool, so b2 runs at the input's full resolution (the CIFAR ResNets' stem, for small images).
   */
  stem: 'seed' | 'small';
}

export const SEED_RESNET: ResNetConfig = {
  numClasses: 10,
  widths: [64, 128, 256, 512],
  stemWidth: 64,
  depths: [2, 2, 2, 2],
  block: 'basic',
  headPool: 'avg3',
  stem: 'seed',
};

export interface ResNetOptions extends Partial<ResNetConfig> {
  /** Print every block's output shape during forward, like the seed's `verbose=True`. */
  verbose?: boolean;
  /** Where verbose lines go (default console.log). */
  log?: (line: string) => void;
}

export class ResNet extends Module {
  /** Its parameters all live in the blocks b1..b6. */
  protected readonly createsVariables = false;
  readonly runsChildrenInOrder = true;
  readonly config: ResNetConfig;
  verbose: boolean;
  private readonly log: (line: string) => void;
  readonly blocks: Module[];

  constructor(numClassesOrOptions: number | ResNetOptions = {}, verbose = false) {
    super();
    const opts: ResNetOptions =
      typeof numClassesOrOptions === 'number' ? { numClasses: numClassesOrOptions, verbose } : numClassesOrOptions;
    this.config = {
      numClasses: opts.numClasses ?? SEED_RESNET.numClasses,
      widths: opts.widths ?? SEED_RESNET.widths,
      stemWidth: opts.stemWidth ?? (opts.widths ? opts.widths[0] : SEED_RESNET.stemWidth),
      depths: opts.depths ?? SEED_RESNET.depths,
      block: opts.block ?? SEED_RESNET.block,
      headPool: opts.headPool ?? SEED_RESNET.headPool,
      stem: opts.stem ?? SEED_RESNET.stem,
    };
    validateConfig(this.config);
    this.verbose = opts.verbose ?? false;
    this.log = opts.log ?? ((line) => console.log(line));
    const { widths, stemWidth, depths, block, numClasses, headPool, stem } = this.config;

    const b1 =
      stem === 'seed'
        ? new Conv2d(stemWidth, { kernelSize: 7, strides: 2 })
        : new Sequential(new Conv2d(stemWidth, { kernelSize: 3, padding: 1 }), new BatchNorm(), new ReLU());
    const stage = (i: number, downsample: boolean, s = new Sequential()) => {
      const inChannels = i === 0 ? stemWidth : widths[i - 1];
      for (let j = 0; j < depths[i]; j++)
        s.add(makeBlock(block, widths[i], !(downsample && j === 0), j === 0 ? inChannels : widths[i]));
      return s;
    };
    const b2 = stage(0, false, stem === 'seed' ? new Sequential(new MaxPool2d(3, 2)) : new Sequential());
    const b6 = new Sequential();
    // Pre-activation nets end with the BN + ReLU their blocks leave out.
    if (block === 'preact') b6.add(new BatchNorm(), new ReLU());
    b6.add(headPool === 'avg3' ? new AvgPool2d(3) : new GlobalAvgPool2d(), new Dense(numClasses));
    this.blocks = [b1, b2, stage(1, true), stage(2, true), stage(3, true), b6];
    this.blocks.forEach((b, i) => this.addModule(`b${i + 1}`, b));
  }

  forward(x: tf.Tensor, opts: ForwardOptions): tf.Tensor {
    let out = x;
    this.blocks.forEach((block, i) => {
      const next = block.forward(out, opts);
      if (out !== x) out.dispose();
      out = next;
      if (this.verbose) this.log(`block ${i + 1} output: ${JSON.stringify(out.shape)}`);
    });
    return out;
  }

  /** Output shape of every block for an input shape, without keeping any tensor. */
  blockShapes(inputShape: number[]): number[][] {
    return tf.tidy(() => {
      const shapes: number[][] = [];
      let out: tf.Tensor = tf.zeros(inputShape);
      for (const block of this.blocks) {
        out = block.forward(out, { training: false });
        shapes.push(out.shape);
      }
      return shapes;
    });
  }
}

function validateConfig(c: ResNetConfig): void {
  const bad = (what: string) => {
    throw new Error(`ResNet config: ${what} (got ${JSON.stringify(c)})`);
  };
  if (!Number.isInteger(c.numClasses) || c.numClasses < 2) bad('numClasses must be an integer >= 2');
  if (c.widths.length !== 4 || c.widths.some((w) => !Number.isInteger(w) || w < 1))
    bad('widths must be 4 positive integers');
  if (!Number.isInteger(c.stemWidth) || c.stemWidth < 1) bad('stemWidth must be a positive integer');
  if (c.depths.length !== 4 || c.depths.some((d) => !Number.isInteger(d) || d < 1))
    bad('depths must be 4 integers >= 1');
  if (!['basic', 'bottleneck', 'preact'].includes(c.block)) bad(`unknown block kind '${c.block}'`);
  if (!['avg3', 'global'].includes(c.headPool)) bad(`unknown headPool '${c.headPool}'`);
  if (!['seed', 'small'].includes(c.stem)) bad(`unknown stem '${c.stem}'`);
}

/** Named presets: the seed's net and smaller ones for tests and quick runs. */
export function resnetPreset(name: string): Partial<ResNetConfig> {
  switch (name) {
    case 'seed':
      return { ...SEED_RESNET };
    case 'small':
      return { widths: [16, 32, 64, 128] };
    case 'tiny':
      return { widths: [8, 16, 32, 64], depths: [1, 1, 1, 1] };
    case 'resnet34':
      return { depths: [3, 4, 6, 3] };
    case 'resnet50':
      return { widths: [256, 512, 1024, 2048], stemWidth: 64, depths: [3, 4, 6, 3], block: 'bottleneck' };
    default:
      throw new Error(`unknown model preset '${name}' (seed, small, tiny, resnet34, resnet50)`);
  }
}
