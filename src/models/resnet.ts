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
import { BLOCK_CLASSES, BLOCK_KINDS, BlockKind, makeBlock } from './residual';
import { SaveOptions, checkConfigFields } from '../io/model_artifacts';
import { loadNetworkWeights, saveNetwork } from '../io/weights';
import type { LoadWeightsOptions } from '../io/state_dict';

/** b1's layouts (see ResNetConfig.stem) and b6's pools: the one list of each, for validation and the CLI. */
export const STEMS = ['seed', 'small', 'imagenet'] as const;
export const HEAD_POOLS = ['avg3', 'global'] as const;

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
  headPool: (typeof HEAD_POOLS)[number];
  /**
   * b1 and the start of b2. 'seed': a 7x7 stride-2 conv without padding, then b2 opens with a 3x3
   * stride-2 max pool (the chapter's layout). 'small': a 3x3 conv (padding 1) + BN + ReLU and no
   * max pool, so b2 runs at the input's full resolution (the CIFAR ResNets' stem, for small images).
   * 'imagenet': He et al. 2015's stem, a 7x7 stride-2 conv with padding 3 + BN + ReLU, then b2
   * opens with a 3x3 stride-2 max pool with padding 1 (224x224 -> 112 -> 56).
   */
  stem: (typeof STEMS)[number];
  /** Bottleneck nets: which conv of a downsampling block has stride 2 (see BlockOptions.bottleneckStride; default '3x3'). */
  bottleneckStride?: '1x1' | '3x3';
  /** Bottleneck nets: ResNeXt's grouped 3x3 conv (see BlockOptions.groups / widthPerGroup; default 1 and 64). */
  groups?: number;
  widthPerGroup?: number;
  /**
   * torchvision's layer set vs the seed's: `convBias` false drops every convolution's bias (the BN
   * after it shifts anyway), `shortcutBatchNorm` true puts a BN after each 1x1 projection shortcut
   * (as the paper does). Defaults true / false: the seed's. The ImageNet presets use torchvision's,
   * so their parameter counts are torchvision's to the parameter.
   */
  convBias?: boolean;
  shortcutBatchNorm?: boolean;
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

/** Every field of ResNetConfig: what a saved model's config may hold. */
const CONFIG_FIELDS = [
  'numClasses',
  'widths',
  'stemWidth',
  'depths',
  'block',
  'headPool',
  'stem',
  'bottleneckStride',
  'groups',
  'widthPerGroup',
  'convBias',
  'shortcutBatchNorm',
] as const satisfies readonly (keyof ResNetConfig)[];

export class ResNet extends Module {
  /** Its parameters all live in the blocks b1..b6. */
  protected readonly createsVariables = false;
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
      ...(opts.bottleneckStride ? { bottleneckStride: opts.bottleneckStride } : {}),
      ...(opts.groups !== undefined ? { groups: opts.groups } : {}),
      ...(opts.widthPerGroup !== undefined ? { widthPerGroup: opts.widthPerGroup } : {}),
      ...(opts.convBias !== undefined ? { convBias: opts.convBias } : {}),
      ...(opts.shortcutBatchNorm !== undefined ? { shortcutBatchNorm: opts.shortcutBatchNorm } : {}),
    };
    validateConfig(this.config);
    this.verbose = opts.verbose ?? false;
    this.log = opts.log ?? ((line) => console.log(line));
    const { widths, stemWidth, depths, block, numClasses, headPool, stem } = this.config;

    const useBias = this.config.convBias ?? true;
    const b1 =
      stem === 'seed'
        ? new Conv2d(stemWidth, { kernelSize: 7, strides: 2, useBias })
        : stem === 'imagenet'
          ? new Sequential(
              new Conv2d(stemWidth, { kernelSize: 7, strides: 2, padding: 3, useBias }),
              new BatchNorm(),
              new ReLU(),
            )
          : new Sequential(new Conv2d(stemWidth, { kernelSize: 3, padding: 1, useBias }), new BatchNorm(), new ReLU());
    const stage = (i: number, downsample: boolean, s = new Sequential()) => {
      const inChannels = i === 0 ? stemWidth : widths[i - 1];
      for (let j = 0; j < depths[i]; j++)
        s.add(
          makeBlock(block, widths[i], {
            sameShape: !(downsample && j === 0),
            inChannels: j === 0 ? inChannels : widths[i],
            convBias: this.config.convBias,
            shortcutBatchNorm: this.config.shortcutBatchNorm,
            ...(block === 'bottleneck'
              ? {
                  bottleneckStride: this.config.bottleneckStride,
                  groups: this.config.groups,
                  widthPerGroup: this.config.widthPerGroup,
                }
              : {}),
          }),
        );
      return s;
    };
    const pool = { seed: () => new MaxPool2d(3, 2), imagenet: () => new MaxPool2d(3, 2, 1), small: () => null }[stem]();
    const b2 = stage(0, false, pool ? new Sequential(pool) : new Sequential());
    const b6 = new Sequential();
    // Pre-activation nets end with the BN + ReLU their blocks leave out.
    if (block === 'preact') b6.add(new BatchNorm(), new ReLU());
    b6.add(headPool === 'avg3' ? new AvgPool2d(3) : new GlobalAvgPool2d(), new Dense(numClasses));
    this.blocks = [b1, b2, stage(1, true), stage(2, true), stage(3, true), b6];
    this.blocks.forEach((b, i) => this.addModule(`b${i + 1}`, b));
  }

  /** What rebuilds this network: its class and config (saved in model.json by `save`). */
  architecture(): { className: string; config: Record<string, unknown> } {
    return { className: 'ResNet', config: { ...this.config } };
  }

  /** A ResNet from a saved config; an unknown field is refused with its name (`source` labels the error). */
  static fromConfig(config: Record<string, unknown>, source = 'ResNet config'): ResNet {
    checkConfigFields('ResNet', config, CONFIG_FIELDS, source);
    return new ResNet(config as Partial<ResNetConfig>);
  }

  /**
   * Saves the network in TensorFlow.js's format: `await net.save('file://runs/fast/model')` writes
   * model.json and weights.bin there (Node); any tfjs URL or IOHandler works. `loadModel` reads it
   * back, in Node or in a browser. `{ quantize: 'float16' | 'uint8' }` stores smaller weights.
   * A `.safetensors` URL (`file://x.safetensors`) writes PyTorch's state_dict instead: torchvision's
   * names and layouts for the `imagenet-*` presets, bench/torch_models.py's for the chapter's nets.
   */
  save(handlerOrUrl: tf.io.IOHandler | string, opts: SaveOptions = {}): Promise<tf.io.SaveResult> {
    return saveNetwork(this, handlerOrUrl, opts);
  }

  /**
   * Loads weights into this network: `await net.loadWeights('file://resnet18.safetensors')` (a
   * torchvision state_dict for the `imagenet-*` presets; F32, F16 or BF16), or a model saved by
   * `save` in tfjs's format. Missing, unexpected or misshapen tensors are each named.
   */
  loadWeights(source: string | Uint8Array | ArrayBuffer, opts: LoadWeightsOptions = {}): Promise<void> {
    return loadNetworkWeights(this, source, opts);
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
  if (!BLOCK_KINDS.includes(c.block)) bad(`unknown block kind '${c.block}' (${BLOCK_KINDS.join(', ')})`);
  if (!HEAD_POOLS.includes(c.headPool)) bad(`unknown headPool '${c.headPool}' (${HEAD_POOLS.join(', ')})`);
  if (!STEMS.includes(c.stem)) bad(`unknown stem '${c.stem}' (${STEMS.join(', ')})`);
  if (c.bottleneckStride !== undefined && !['1x1', '3x3'].includes(c.bottleneckStride))
    bad(`unknown bottleneckStride '${c.bottleneckStride}'`);
  for (const k of ['groups', 'widthPerGroup'] as const) {
    const v = c[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) bad(`${k} must be a positive integer`);
    if (v !== undefined && c.block !== 'bottleneck') bad(`${k} applies to bottleneck blocks only`);
  }
}

/** He et al. 2015, Table 1: the block kind and the blocks per stage of each depth. */
export const RESNET_TABLE1 = {
  18: { block: 'basic', depths: [2, 2, 2, 2] },
  34: { block: 'basic', depths: [3, 4, 6, 3] },
  50: { block: 'bottleneck', depths: [3, 4, 6, 3] },
  101: { block: 'bottleneck', depths: [3, 4, 23, 3] },
  152: { block: 'bottleneck', depths: [3, 8, 36, 3] },
} as const;
export type ResNetDepth = keyof typeof RESNET_TABLE1;

/**
 * ResNet-18/34/50/101/152 from Table 1. 'chapter': the seed's stem and head (96x96 Fashion-MNIST,
 * 10 classes); 'imagenet': the paper's setting (its stem, global average pool, 1000 classes, the
 * paper's stride on a bottleneck's first 1x1 conv, BN after projection shortcuts, no conv biases:
 * torchvision's layers; feed it 224x224x3). Bottleneck nets' stage
 * widths are their outputs, four times the inner 3x3 width.
 */
export function resnetOfDepth(depth: ResNetDepth, setting: 'chapter' | 'imagenet' = 'chapter'): Partial<ResNetConfig> {
  const row = RESNET_TABLE1[depth];
  if (!row) throw new Error(`ResNet depth ${depth} is not in Table 1 (18, 34, 50, 101, 152)`);
  const expansion = BLOCK_CLASSES[row.block].expansion;
  return {
    widths: [64, 128, 256, 512].map((w) => w * expansion) as ResNetConfig['widths'],
    stemWidth: 64,
    depths: [...row.depths],
    block: row.block,
    ...(setting === 'imagenet'
      ? {
          stem: 'imagenet',
          headPool: 'global',
          numClasses: 1000,
          ...(row.block === 'bottleneck' ? { bottleneckStride: '1x1' as const } : {}),
          convBias: false,
          shortcutBatchNorm: true,
        }
      : {}),
  };
}

/**
 * ResNeXt-50 (32x4d), Xie et al. 2017: ResNet-50's stages with 32 groups of 4 channels per 64 in
 * each bottleneck's 3x3 conv (inner widths 128, 256, 512, 1024), stride 2 on that 3x3 conv.
 * 'imagenet': the paper's 224x224x3 setting (4.2 billion multiply-adds, 25.0 M parameters).
 */
export function resnext50(setting: 'chapter' | 'imagenet' = 'chapter'): Partial<ResNetConfig> {
  return { ...resnetOfDepth(50, setting), bottleneckStride: '3x3', groups: 32, widthPerGroup: 4 };
}

const PRESETS: Record<string, () => Partial<ResNetConfig>> = {
  seed: () => ({ ...SEED_RESNET }),
  small: () => ({ widths: [16, 32, 64, 128] }),
  tiny: () => ({ widths: [8, 16, 32, 64], depths: [1, 1, 1, 1] }),
  ...Object.fromEntries(
    Object.keys(RESNET_TABLE1).flatMap((d) => [
      [`resnet${d}`, () => resnetOfDepth(Number(d) as ResNetDepth)],
      [`imagenet-resnet${d}`, () => resnetOfDepth(Number(d) as ResNetDepth, 'imagenet')],
    ]),
  ),
  resnext50_32x4d: () => resnext50(),
  'imagenet-resnext50_32x4d': () => resnext50('imagenet'),
};

/** Every preset's name (resnetPreset's argument; the export command's --preset). */
export const RESNET_PRESETS = Object.keys(PRESETS);

/**
 * Named presets: the seed's net, smaller ones for tests and quick runs, Table 1's depths
 * (`resnet18`..`resnet152` at the chapter's setting, `imagenet-resnet18`.. at the paper's) and
 * ResNeXt-50 32x4d (`resnext50_32x4d`, `imagenet-resnext50_32x4d`).
 */
export function resnetPreset(name: string): Partial<ResNetConfig> {
  const make = PRESETS[name];
  if (!make) throw new Error(`unknown model preset '${name}' (${Object.keys(PRESETS).join(', ')})`);
  return make();
}
