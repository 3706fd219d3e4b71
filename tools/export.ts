/**
 * `npm run export -- ...`: one of this library's networks written for the rest of the ecosystem:
 * an ONNX inference graph (src/export/onnx.ts; ONNX Runtime, TensorRT, OpenVINO ...) or
 * PyTorch's state_dict as safetensors (src/io/state_dict.ts; torchvision, `torchrun` with
 * tools/torch_ddp.py). The network comes from a preset, a recipe or a saved model; its weights
 * from --weights, a saved model, or a seeded initialisation (said so in the output).
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { tryGpu } from '../src/backend/select';
import { ResNet, RESNET_PRESETS, resnetPreset } from '../src/models/resnet';
import { seedInitializers } from '../src/nn/init';
import { loadModel } from '../src/io/load_model';
import type { SavableModule } from '../src/io/model_artifacts';
import { loadNetworkWeights, saveNetwork } from '../src/io/weights';
import { exportOnnx, ONNX_INPUT, ONNX_OPSET, ONNX_OUTPUT } from '../src/export/onnx';
import { RECIPE_NAMES, RecipeName, trainingRecipe } from '../src/recipe';
import '../src/io/file_handler'; // file:// for save, loadWeights and the ONNX file

export const HELP = `Usage: npm run export -- (--preset NAME | --recipe NAME | --model DIR) [options] --out FILE

Writes a network as an ONNX inference graph or as PyTorch's state_dict in safetensors.

The network (one of):
  --preset NAME        a model preset: ${RESNET_PRESETS.join(', ')}
  --recipe NAME        a training recipe's network: ${RECIPE_NAMES.join(', ')}
  --model DIR          a model saved by net.save() / npm start (e.g. runs/fast/model): its
                       architecture and weights
Options:
  --weights FILE       weights to load: a .safetensors file (torchvision's names for imagenet-*
                       presets) or a saved model's folder; without it (and without --model) the
                       network keeps its seeded initial weights
  --format F           onnx | safetensors (default: from --out's extension)
  --out FILE           where to write (atomically)
  --input-shape H,W,C  the image size the graph takes (default: the recipe's resize x resize x 1,
                       224,224,3 for imagenet-* presets, 96,96,1 otherwise, or the weights file's)
  --keep-batchnorm     onnx: keep BatchNormalization nodes (default: folded into the convolutions)
  --batch-size N       onnx: a fixed batch size (default: a symbolic 'batch' dimension)
  --seed N             seed of the initial weights (default 0)
  -h, --help           this text`;

export const EXPORT_FORMATS = ['onnx', 'safetensors'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOptions {
  source: { preset: string } | { recipe: RecipeName } | { model: string };
  weights?: string;
  format: ExportFormat;
  out: string;
  inputShape?: number[];
  keepBatchNorm: boolean;
  batchSize?: number;
  seed: number;
}

const FLAGS = {
  preset: { type: 'string' },
  recipe: { type: 'string' },
  model: { type: 'string' },
  weights: { type: 'string' },
  format: { type: 'string' },
  out: { type: 'string' },
  'input-shape': { type: 'string' },
  'keep-batchnorm': { type: 'boolean' },
  'batch-size': { type: 'string' },
  seed: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function positiveInt(name: string, v: string, min = 1): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

export function parseExportOptions(argv: string[]): ExportOptions | 'help' {
  const { values: v } = parseArgs({ args: argv, options: FLAGS, strict: true });
  if (v.help) return 'help';
  const given = (['preset', 'recipe', 'model'] as const).filter((k) => v[k] !== undefined);
  if (given.length !== 1)
    throw new Error(
      `give exactly one of --preset, --recipe, --model (got ${given.length ? given.map((k) => `--${k}`).join(', ') : 'none'})`,
    );
  let source: ExportOptions['source'];
  if (v.preset !== undefined) {
    if (!RESNET_PRESETS.includes(v.preset))
      throw new Error(`--preset must be one of ${RESNET_PRESETS.join(', ')}; got '${v.preset}'`);
    source = { preset: v.preset };
  } else if (v.recipe !== undefined) {
    if (!RECIPE_NAMES.includes(v.recipe as RecipeName))
      throw new Error(`--recipe must be one of ${RECIPE_NAMES.join(', ')}; got '${v.recipe}'`);
    source = { recipe: v.recipe as RecipeName };
  } else source = { model: v.model! };
  if (v.out === undefined) throw new Error('--out FILE is required (e.g. --out build/seed.onnx)');
  const ext = path.extname(v.out).slice(1);
  const format = v.format ?? ext;
  if (!EXPORT_FORMATS.includes(format as ExportFormat))
    throw new Error(
      v.format === undefined
        ? `--out '${v.out}': cannot tell the format from the extension; give --format ${EXPORT_FORMATS.join(' | ')} or end it in .onnx / .safetensors`
        : `--format must be one of ${EXPORT_FORMATS.join(', ')}; got '${v.format}'`,
    );
  if (format === 'safetensors' && (v['keep-batchnorm'] || v['batch-size'] !== undefined))
    throw new Error('--keep-batchnorm and --batch-size apply to --format onnx only');
  let inputShape: number[] | undefined;
  if (v['input-shape'] !== undefined) {
    inputShape = v['input-shape'].split(',').map((d) => Number(d));
    if (inputShape.length !== 3 || inputShape.some((d) => !Number.isInteger(d) || d < 1))
      throw new Error(`--input-shape must be H,W,C (three positive integers), got '${v['input-shape']}'`);
  }
  return {
    source,
    weights: v.weights,
    format: format as ExportFormat,
    out: v.out,
    inputShape,
    keepBatchNorm: v['keep-batchnorm'] ?? false,
    batchSize: v['batch-size'] === undefined ? undefined : positiveInt('batch-size', v['batch-size']),
    seed: v.seed === undefined ? 0 : positiveInt('seed', v.seed, 0),
  };
}

const fileUrl = (p: string) => `file://${path.resolve(p)}`;

/** The network the options name, with its weights. */
export async function exportedNetwork(
  o: ExportOptions,
  log: (l: string) => void = console.log,
): Promise<SavableModule> {
  let net: SavableModule;
  let defaultShape: number[];
  if ('model' in o.source) {
    net = (await loadModel(fileUrl(o.source.model))) as SavableModule;
    defaultShape = net.inputShape!;
    if (o.inputShape && JSON.stringify(o.inputShape) !== JSON.stringify(defaultShape))
      throw new Error(`--input-shape ${o.inputShape}: the model in ${o.source.model} was built for ${defaultShape}`);
  } else {
    seedInitializers(o.seed);
    if ('recipe' in o.source) {
      const r = trainingRecipe(o.source.recipe);
      net = new ResNet(r.model);
      defaultShape = [r.resize, r.resize, 1];
    } else {
      net = new ResNet(resnetPreset(o.source.preset));
      defaultShape = o.source.preset.startsWith('imagenet-') ? [224, 224, 3] : [96, 96, 1];
    }
    // A safetensors file records the shape its network was built for: loadWeights builds from it.
    const fromFile = o.weights?.endsWith('.safetensors') && !o.inputShape;
    if (!fromFile) net.build(o.inputShape ?? defaultShape);
  }
  if (o.weights) {
    await loadNetworkWeights(net, fileUrl(o.weights));
    log(`weights: ${o.weights}`);
  } else if (!('model' in o.source)) {
    log(`weights: none given, so the network's initial weights (seed ${o.seed}), untrained`);
  }
  return net;
}

export async function runExport(o: ExportOptions, log: (l: string) => void = console.log): Promise<void> {
  await tryGpu();
  const net = await exportedNetwork(o, log);
  const { className } = net.architecture();
  const shape = net.inputShape!;
  if (o.format === 'safetensors') {
    const r = await saveNetwork(net, fileUrl(o.out));
    log(`wrote ${o.out}: ${className} built for [${shape}] (NHWC), ${r.modelArtifactsInfo.weightDataBytes} bytes`);
    return;
  }
  const info = await exportOnnx(net, fileUrl(o.out), { foldBatchNorm: !o.keepBatchNorm, batchSize: o.batchSize });
  const ops = Object.entries(info.ops)
    .map(([op, n]) => `${op} ${n}`)
    .join(', ');
  log(
    `wrote ${o.out}: ONNX opset ${ONNX_OPSET}, ${info.bytes.byteLength} bytes, ${info.parameters} values in ` +
      `${info.initializers} initializers, ${info.nodes} nodes (${ops})`,
  );
  log(
    `  input '${ONNX_INPUT}' [${info.inputShape}] float32 NCHW, output '${ONNX_OUTPUT}' [${info.outputShape}]; ` +
      `batch norm: ${info.foldedBatchNorms} folded into convolutions, ${info.keptBatchNorms} kept`,
  );
}

if (require.main === module) {
  let opts: ExportOptions | 'help';
  try {
    opts = parseExportOptions(process.argv.slice(2));
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  if (opts === 'help') console.log(HELP);
  else
    runExport(opts).catch((e) => {
      console.error(`error: ${(e as Error).message}`);
      process.exit(1);
    });
}
