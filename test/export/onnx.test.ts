/**
 * ONNX export (src/export/onnx.ts, tools/export.ts) checked by ONNX Runtime in Node
 * (onnxruntime-node, its own CPU kernels) and by ONNX's own checker (Debian's python3-onnx):
 * the seed network and `imagenet-resnet18` on 32 Fashion-MNIST test images agree with our logits
 * within 1e-4, folded and unfolded batch norm, every block kind and stem; the file's structure;
 * the CLI's options and errors.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResNet, resnetPreset, seedInitializers, tf } from '../../src/index';
import { PlainOrResidualNet } from '../../src/models/plain_vs_residual';
import type { ResNetConfig } from '../../src/models/resnet';
import type { SavableModule } from '../../src/io/model_artifacts';
import { Module } from '../../src/nn/module';
import { exportOnnx, onnxBytes, onnxExport } from '../../src/export/onnx';
import { decodeOnnxModel } from '../../src/export/onnx_proto';
import { loadDataFashionMnist } from '../../src/data/fashion_mnist';
import { registerOneDnnBackend } from '../../src/backend/onednn/register';
import { parseExportOptions, runExport } from '../../tools/export';
import { batchNorms, randomizeBatchNorms } from '../helpers/random_nets';
import { trainingRecipe } from '../../src/recipe';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const TOLERANCE = 1e-4;
const BACKEND = process.env.RESNET_TS_TEST_BACKEND ?? (registerOneDnnBackend().ok ? 'onednn' : 'cpu');

let dir = '';
/** 32 test images at 28x28 (NHWC) and 64 training images to calibrate batch norms with. */
let test28: tf.Tensor4D;
let train28: tf.Tensor4D;
let hasOnnxChecker = false;

beforeAll(async () => {
  await tf.setBackend(BACKEND);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-export-'));
  const { trainIter, testIter } = await loadDataFashionMnist({ batchSize: 64, trainLimit: 64, testLimit: 32 });
  const [t] = [...testIter.epoch()];
  const [r] = [...trainIter.epoch()];
  test28 = t.x as tf.Tensor4D;
  train28 = r.x as tf.Tensor4D;
  tf.dispose([t.y, r.y]);
  hasOnnxChecker = await run(PYTHON, ['-c', 'import onnx'])
    .then(() => true)
    .catch(() => false);
  if (!hasOnnxChecker && process.env.CI) throw new Error('CI: python3-onnx is missing (tools/setup.sh installs it)');
});
afterAll(() => {
  tf.dispose([test28, train28]);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Images as a network of input shape [h, w, c] sees them: resized, grey replicated to c channels. */
function images(x: tf.Tensor4D, [h, w, c]: number[]): tf.Tensor4D {
  return tf.tidy(() => {
    const r = h === 28 && w === 28 ? x : tf.image.resizeBilinear(x, [h, w]);
    return (c === 1 ? r.clone() : tf.tile(r, [1, 1, 1, c])) as tf.Tensor4D;
  });
}

/** A seeded network with non-trivial batch norms calibrated on real training images. */
function calibrated<T extends SavableModule>(make: () => T, inputShape: number[], seed: number): T {
  seedInitializers(seed);
  const net = make().build(inputShape);
  seedInitializers(undefined);
  const calibration = images(train28.slice(0, 16), inputShape);
  randomizeBatchNorms(net, seed, calibration);
  calibration.dispose();
  return net;
}

async function onnxLogits(bytes: Uint8Array, xNhwc: tf.Tensor4D): Promise<{ dims: number[]; data: Float32Array }> {
  const session = await ort.InferenceSession.create(bytes);
  const nchw = tf.transpose(xNhwc, [0, 3, 1, 2]);
  const input = new ort.Tensor('float32', nchw.dataSync() as Float32Array, nchw.shape);
  nchw.dispose();
  const { logits } = await session.run({ input });
  await session.release();
  return { dims: [...logits.dims], data: logits.data as Float32Array };
}

/** Ours against ONNX Runtime on the same images: max |diff| of the logits, and the same predicted classes. */
async function agree(label: string, net: SavableModule, bytes: Uint8Array, x: tf.Tensor4D): Promise<number> {
  const y = net.apply(x, { training: false });
  const ours = y.dataSync() as Float32Array;
  const oursClass = Array.from(tf.tidy(() => tf.argMax(y, 1)).dataSync());
  const theirs = await onnxLogits(bytes, x);
  expect(theirs.dims).toEqual(y.shape);
  y.dispose();
  let d = 0;
  let big = 0;
  ours.forEach((v, i) => {
    d = Math.max(d, Math.abs(v - theirs.data[i]));
    big = Math.max(big, Math.abs(v));
  });
  const classes = y.shape[1]!;
  const theirClass = Array.from({ length: x.shape[0] }, (_, n) => {
    const row = theirs.data.subarray(n * classes, (n + 1) * classes);
    return row.indexOf(Math.max(...row));
  });
  console.log(`${label}: max |diff| of logits ${d.toExponential(2)} (max |logit| ${big.toFixed(2)})`);
  expect(big).toBeGreaterThan(0.1); // logits that are not all ~0: the comparison means something
  expect(d).toBeLessThan(TOLERANCE);
  expect(theirClass).toEqual(oursClass);
  return d;
}

/** ONNX's own checker (full_check: with shape inference) over the bytes, or a file already written. */
async function onnxCheck(bytesOrFile: Uint8Array | string, name = 'checked.onnx'): Promise<void> {
  if (!hasOnnxChecker) return; // required in CI (beforeAll)
  const file = typeof bytesOrFile === 'string' ? bytesOrFile : path.join(dir, name);
  if (typeof bytesOrFile !== 'string') fs.writeFileSync(file, bytesOrFile);
  const { stdout } = await run(PYTHON, [
    '-c',
    'import onnx, sys; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); print("ok", m.opset_import[0].version)',
    file,
  ]);
  expect(stdout.trim()).toBe('ok 13');
}

describe('ONNX export, run by ONNX Runtime', () => {
  it('the seed network on 32 test images: ORT within 1e-4 of ours, batch norm folded or kept', async () => {
    const net = calibrated(() => new ResNet(resnetPreset('seed')), [96, 96, 1], 3);
    const x = images(test28, [96, 96, 1]);
    const folded = onnxExport(net);
    expect(folded.ops).toEqual({ Conv: 20, MaxPool: 1, Relu: 16, Add: 8, AveragePool: 1, Flatten: 1, Gemm: 1 });
    expect([folded.foldedBatchNorms, folded.keptBatchNorms]).toEqual([16, 0]);
    // Batch norm's scale and shift fold away into the convolutions' weights and (existing) biases.
    const bnAffine = batchNorms(net).reduce((n, bn) => n + 2 * bn.namedVariables()[0][1].size, 0);
    expect(folded.parameters).toBe(net.numParameters() - bnAffine);
    await agree('seed, folded', net, folded.bytes, x);
    const kept = onnxExport(net, { foldBatchNorm: false });
    expect(kept.ops.BatchNormalization).toBe(16);
    await agree('seed, BatchNormalization kept', net, kept.bytes, x);
    await onnxCheck(folded.bytes, 'seed.onnx');
    x.dispose();
    net.dispose();
  });

  it('imagenet-resnet18 (224x224x3) on the same 32 images: ORT within 1e-4 of ours', async () => {
    const net = calibrated(() => new ResNet(resnetPreset('imagenet-resnet18')), [224, 224, 3], 5);
    const info = onnxExport(net);
    // torchvision's ResNet-18: 20 convolutions each with its batch norm folded, no conv biases of its own.
    expect(info.ops).toMatchObject({ Conv: 20, MaxPool: 1, Relu: 17, Add: 8, GlobalAveragePool: 1, Gemm: 1 });
    expect(info.foldedBatchNorms).toBe(20);
    expect(info.ops.Transpose).toBeUndefined(); // a 1x1 map flattens the same in both layouts
    const x = images(test28, [224, 224, 3]);
    await agree('imagenet-resnet18', net, info.bytes, x);
    await onnxCheck(info.bytes, 'resnet18.onnx');
    x.dispose();
    net.dispose();
  });

  // Every block kind, stem and shortcut: small widths at small sizes.
  const variants: [string, () => SavableModule, number[]][] = [
    [
      'preact, small stem (BatchNormalization kept where no conv precedes)',
      () => new ResNet({ ...tiny, block: 'preact', stem: 'small', headPool: 'global' }),
      [32, 32, 1],
    ],
    [
      'bottleneck, stride on the 1x1, BN after projections',
      () =>
        new ResNet({
          ...tiny,
          block: 'bottleneck',
          widths: [16, 32, 64, 128],
          bottleneckStride: '1x1',
          shortcutBatchNorm: true,
          convBias: false,
          headPool: 'global',
        }),
      [64, 64, 1],
    ],
    [
      'ResNeXt (grouped 3x3), imagenet stem',
      () =>
        new ResNet({
          ...tiny,
          block: 'bottleneck',
          widths: [32, 64, 128, 256],
          groups: 4,
          widthPerGroup: 8,
          stem: 'imagenet',
          headPool: 'global',
          convBias: false,
          shortcutBatchNorm: true,
          numClasses: 7,
        }),
      [64, 64, 3],
    ],
    [
      'basic blocks without conv biases, BN after projections',
      () => new ResNet({ ...tiny, stem: 'small', headPool: 'global', convBias: false, shortcutBatchNorm: true }),
      [32, 32, 1],
    ],
    [
      'plain 8-layer net',
      () => new PlainOrResidualNet({ depth: 8, shortcuts: false, widths: [8, 16, 16] }),
      [28, 28, 1],
    ],
    [
      'residual 8-layer net',
      () => new PlainOrResidualNet({ depth: 8, shortcuts: true, widths: [8, 16, 16] }),
      [28, 28, 1],
    ],
  ];
  const tiny: Partial<ResNetConfig> = { widths: [8, 16, 32, 64], depths: [1, 1, 1, 1] };
  it.each(variants)('%s: ORT within 1e-4 of ours, folded and kept', async (label, make, shape) => {
    const net = calibrated(make, shape, 11);
    const x = images(test28, shape);
    const folded = onnxExport(net);
    await agree(`${label}, folded`, net, folded.bytes, x);
    const kept = onnxExport(net, { foldBatchNorm: false });
    expect(kept.ops.BatchNormalization).toBe(folded.foldedBatchNorms + folded.keptBatchNorms);
    await agree(`${label}, kept`, net, kept.bytes, x);
    x.dispose();
    net.dispose();
  });

  it('a dense layer over a map larger than 1x1 reads it in our (h, w, c) order: Transpose before Flatten', async () => {
    // The seed's 3x3 average pool over a 6x6 map leaves 2x2: the dense layer sees 2 x 2 x 64 features.
    const net = calibrated(() => new ResNet({ ...tiny, stem: 'small' }), [48, 48, 1], 13);
    expect(net.blockShapes([1, 48, 48, 1])[4]).toEqual([1, 6, 6, 64]);
    const info = onnxExport(net);
    expect(info.ops.Transpose).toBe(1);
    const x = images(test28, [48, 48, 1]);
    await agree('dense over 2x2x64', net, info.bytes, x);
    x.dispose();
    net.dispose();
  });
});

describe('the ONNX file', () => {
  it('says what it is: opset 13, IR 7, input NCHW with a symbolic or fixed batch, logits out, metadata', () => {
    seedInitializers(1);
    const net = new ResNet(resnetPreset('tiny')).build([96, 96, 1]);
    seedInitializers(undefined);
    const m = decodeOnnxModel(onnxBytes(net)) as {
      ir_version: number;
      opset_import: { domain?: string; version: number }[];
      producer_name: string;
      graph: {
        input: { name: string; type: { tensor_type: { shape: { dim: Record<string, unknown>[] } } } }[];
        output: { name: string; type: { tensor_type: { shape: { dim: Record<string, unknown>[] } } } }[];
        node: { op_type: string; output: string[] }[];
        initializer: { name: string; dims: number[]; raw_data: Uint8Array }[];
      };
      metadata_props: { key: string; value: string }[];
    };
    expect(m.ir_version).toBe(7);
    expect(m.opset_import).toEqual([{ domain: '', version: 13 }]); // '': the default ai.onnx domain
    expect(m.producer_name).toBe('resnet-ts');
    expect(m.graph.input[0].name).toBe('input');
    expect(m.graph.input[0].type.tensor_type.shape.dim).toEqual([
      { dim_param: 'batch' },
      { dim_value: 1 },
      { dim_value: 96 },
      { dim_value: 96 },
    ]);
    expect(m.graph.output[0].name).toBe('logits');
    expect(m.graph.output[0].type.tensor_type.shape.dim).toEqual([{ dim_param: 'batch' }, { dim_value: 10 }]);
    expect(m.graph.node.at(-1)).toMatchObject({ op_type: 'Gemm', output: ['logits'] });
    // Weights in OIHW: the stem's 7x7 conv from 1 to 8 channels.
    const stem = m.graph.initializer.find((t) => t.name === 'b1.weight')!;
    expect(stem.dims).toEqual([8, 1, 7, 7]);
    expect(stem.raw_data.byteLength).toBe(8 * 49 * 4);
    const meta = Object.fromEntries(m.metadata_props.map((p) => [p.key, p.value]));
    expect(meta).toMatchObject({ className: 'ResNet', inputShapeNHWC: '[96,96,1]', batchNorm: 'folded' });
    expect(JSON.parse(meta.config)).toMatchObject({ widths: [8, 16, 32, 64], depths: [1, 1, 1, 1] });
    const fixed = decodeOnnxModel(onnxBytes(net, { batchSize: 4, foldBatchNorm: false })) as typeof m;
    expect(fixed.graph.input[0].type.tensor_type.shape.dim[0]).toEqual({ dim_value: 4 });
    expect(Object.fromEntries(fixed.metadata_props.map((p) => [p.key, p.value])).batchNorm).toBe('kept');
    net.dispose();
  });

  it('refuses what it cannot export, by name; a failed write leaves no file', async () => {
    expect(() => onnxBytes(new ResNet(resnetPreset('tiny')))).toThrow(/ONNX export: ResNet has not been built yet/);
    seedInitializers(1);
    const net = new ResNet(resnetPreset('tiny')).build([96, 96, 1]);
    seedInitializers(undefined);
    expect(() => onnxBytes(net, { batchSize: 0 })).toThrow(/batchSize must be a positive integer, got 0/);
    // A module class the exporter does not know is named with its place.
    class Scale extends Module {
      protected readonly createsVariables = false;
      forward(x: tf.Tensor): tf.Tensor {
        return tf.mul(x, 2);
      }
    }
    const odd = new ResNet(resnetPreset('tiny')).build([96, 96, 1]);
    (odd.blocks[5] as unknown as { add(m: Module): void }).add(new Scale());
    expect(() => onnxBytes(odd)).toThrow(/ONNX export: no ONNX form for a Scale \(at 'b6.2'\)/);
    await expect(exportOnnx(net, 'http://example.com/x.onnx')).rejects.toThrow(/written to a file:\/\/ URL/);
    // Under a regular file: mkdir -p finds a file where the folder should be (root can write anywhere else).
    const blocker = path.join(dir, 'not-a-dir');
    fs.writeFileSync(blocker, 'x');
    const target = path.join(blocker, 'net.onnx');
    await expect(exportOnnx(net, `file://${target}`)).rejects.toThrow(`${target}: cannot write it (EEXIST)`);
    expect(fs.readdirSync(dir).filter((f) => f.includes('net.onnx'))).toEqual([]);
    net.dispose();
    odd.dispose();
  });
});

describe('npm run export', () => {
  it('parses its options and names each mistake', () => {
    expect(parseExportOptions(['--preset', 'seed', '--out', 'x.onnx'])).toEqual({
      source: { preset: 'seed' },
      weights: undefined,
      format: 'onnx',
      out: 'x.onnx',
      inputShape: undefined,
      keepBatchNorm: false,
      batchSize: undefined,
      seed: 0,
    });
    expect(
      parseExportOptions(['--recipe', 'fast', '--out', 'w.bin', '--format', 'safetensors', '--seed', '3']),
    ).toMatchObject({ source: { recipe: 'fast' }, format: 'safetensors', seed: 3 });
    expect(
      parseExportOptions([
        '--model',
        'runs/fast/model',
        '--out',
        'f.onnx',
        '--input-shape',
        '28,28,1',
        '--keep-batchnorm',
        '--batch-size',
        '8',
      ]),
    ).toMatchObject({
      source: { model: 'runs/fast/model' },
      inputShape: [28, 28, 1],
      keepBatchNorm: true,
      batchSize: 8,
    });
    expect(parseExportOptions(['--help'])).toBe('help');
    const bad: [string[], RegExp][] = [
      [['--out', 'x.onnx'], /exactly one of --preset, --recipe, --model \(got none\)/],
      [['--preset', 'seed', '--recipe', 'fast', '--out', 'x.onnx'], /exactly one .* \(got --preset, --recipe\)/],
      [
        ['--preset', 'resnet19', '--out', 'x.onnx'],
        /--preset must be one of seed, .*imagenet-resnet18.*; got 'resnet19'/,
      ],
      [['--recipe', 'slow', '--out', 'x.onnx'], /--recipe must be one of seed, fast, tiny; got 'slow'/],
      [['--preset', 'seed'], /--out FILE is required/],
      [['--preset', 'seed', '--out', 'x.pt'], /--out 'x.pt': cannot tell the format from the extension/],
      [
        ['--preset', 'seed', '--out', 'x.onnx', '--format', 'pb'],
        /--format must be one of onnx, safetensors; got 'pb'/,
      ],
      [['--preset', 'seed', '--out', 'x.safetensors', '--keep-batchnorm'], /apply to --format onnx only/],
      [['--preset', 'seed', '--out', 'x.onnx', '--input-shape', '96,96'], /--input-shape must be H,W,C .* got '96,96'/],
      [['--preset', 'seed', '--out', 'x.onnx', '--batch-size', '0'], /--batch-size must be an integer >= 1, got '0'/],
      [['--preset', 'seed', '--out', 'x.onnx', '--sed', '1'], /Unknown option '--sed'/],
    ];
    for (const [argv, message] of bad) expect(() => parseExportOptions(argv), argv.join(' ')).toThrow(message);
  });

  it('safetensors out, the same weights back in, ONNX out: ORT equals the network it came from', async () => {
    const log: string[] = [];
    const st = path.join(dir, 'fast.safetensors');
    await runExport(parseExportOptions(['--recipe', 'fast', '--seed', '4', '--out', st]) as never, (l) => log.push(l));
    expect(log[0]).toMatch(/initial weights \(seed 4\), untrained/);
    expect(log[1]).toMatch(/wrote .*fast\.safetensors: ResNet built for \[28,28,1\] \(NHWC\)/);
    const onnxFile = path.join(dir, 'fast.onnx');
    log.length = 0;
    await runExport(parseExportOptions(['--recipe', 'fast', '--weights', st, '--out', onnxFile]) as never, (l) =>
      log.push(l),
    );
    expect(log[0]).toBe(`weights: ${st}`);
    expect(log[1]).toMatch(
      /wrote .*fast\.onnx: ONNX opset 13, \d+ bytes, \d+ values in 42 initializers, 48 nodes \(Conv 20, Relu 17, Add 8, GlobalAveragePool 1, Flatten 1, Gemm 1\)/,
    );
    expect(log[2]).toMatch(
      /input 'input' \[batch,1,28,28\] float32 NCHW, output 'logits' \[batch,10\]; batch norm: 17 folded/,
    );
    seedInitializers(4);
    const net = new ResNet(trainingRecipe('fast').model).build([28, 28, 1]);
    seedInitializers(undefined);
    await agree('npm run export, fast recipe', net, fs.readFileSync(onnxFile), test28);
    await onnxCheck(onnxFile);
    // Weights of another network are refused with the tensors named (nothing written).
    const wrong = path.join(dir, 'wrong.onnx');
    await expect(
      runExport(
        parseExportOptions(['--preset', 'imagenet-resnet18', '--weights', st, '--out', wrong]) as never,
        () => {},
      ),
    ).rejects.toThrow(/does not fit this ResNet \(torchvision names\): missing tensor\(s\): conv1.weight/);
    expect(fs.existsSync(wrong)).toBe(false);
    net.dispose();
  });
});
