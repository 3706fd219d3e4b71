/**
 * safetensors crossings with Debian's PyTorch (python3-torch, python3-torchvision 0.14), through
 * bench/torch_safetensors.py: ours -> file -> torchvision (load_state_dict strict=True) and
 * torchvision (seeded random init) -> file -> ours, for ResNet-18, ResNet-50 and ResNeXt-50 32x4d
 * on the `imagenet-*` presets, and the chapter's networks against their mirrors in
 * bench/torch_models.py. Each crossing compares eval-mode logits on the same fixed inputs
 * (batch 2) within 1e-4 (or, through ResNet-50's depth, three times PyTorch's own float32 error
 * against float64); the measured max |diff| is printed.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResNet, resnetPreset, seedInitializers, tf } from '../../src/index';
import type { ResNetConfig } from '../../src/models/resnet';
import { randomizeBatchNorms } from '../helpers/random_nets';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors';
import { findProjectRoot } from '../../src/project_root';
import { registerOneDnnBackend } from '../../src/backend/onednn/register';

const run = promisify(execFile);
const ROOT = findProjectRoot(__dirname);
const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(ROOT, 'bench', 'torch_safetensors.py');
const TOLERANCE = 1e-4;

let dir = '';
/** The native back end when it is built (4x faster here), else tfjs's cpu; RESNET_TS_TEST_BACKEND=cpu picks cpu. */
const BACKEND = process.env.RESNET_TS_TEST_BACKEND ?? (registerOneDnnBackend().ok ? 'onednn' : 'cpu');
beforeAll(async () => {
  await tf.setBackend(BACKEND);
  console.log(`safetensors crossings on the ${tf.getBackend()} back end`);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'safetensors-torch-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A fixed NHWC input batch, written where the Python side reads it. */
function input(shape: number[], seed: number): { x: tf.Tensor; file: string } {
  const x = tf.randomNormal(shape, 0, 1, 'float32', seed);
  const file = path.join(dir, `x-${shape.join('x')}-${seed}.safetensors`);
  fs.writeFileSync(file, encodeSafetensors([{ name: 'x', dtype: 'F32', shape, values: x.dataSync() as Float32Array }]));
  return { x, file };
}

async function torchLogits(
  args: string[],
): Promise<{ shape: number[]; logits: number[]; logits64: number[]; names: string[] }> {
  const { stdout } = await run(PYTHON, [SCRIPT, ...args], { cwd: ROOT, maxBuffer: 1 << 24 });
  return JSON.parse(stdout);
}

/** Our net, seeded, with batch norms made non-trivial: random affine, running stats of one random batch. */
function oursRandom(config: Partial<ResNetConfig>, inputShape: number[], seed: number): ResNet {
  seedInitializers(seed);
  const net = new ResNet(config).build(inputShape);
  seedInitializers(undefined);
  randomizeBatchNorms(net, seed);
  return net;
}

function ourLogits(net: ResNet, x: tf.Tensor): { shape: number[]; logits: number[] } {
  const y = net.apply(x);
  const r = { shape: y.shape, logits: Array.from(y.dataSync()) };
  y.dispose();
  return r;
}

const maxDiff = (a: number[], b: number[]) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const maxAbs = (a: number[]) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/**
 * Ours against PyTorch's float32 logits. Both round away from the exact (float64) logits of the
 * same weights; through ResNet-50's depth PyTorch's own float32 error already reaches ~1e-4, so
 * the bound is 1e-4 or three times PyTorch's own error, whichever is larger (a wrong name, layout
 * or transpose is off by the logits' own size, ~1).
 */
function agree(
  label: string,
  ours: { shape: number[]; logits: number[] },
  theirs: { shape: number[]; logits: number[]; logits64: number[] },
) {
  expect(ours.shape).toEqual(theirs.shape);
  const d = maxDiff(ours.logits, theirs.logits);
  const torchOwn = maxDiff(theirs.logits, theirs.logits64);
  const ours64 = maxDiff(ours.logits, theirs.logits64);
  console.log(
    `${label}: max |diff| of logits ${d.toExponential(2)}; vs float64 ours ${ours64.toExponential(2)}, ` +
      `torch's ${torchOwn.toExponential(2)} (max |logit| ${maxAbs(ours.logits).toFixed(2)})`,
  );
  // Logits of order 1, not all zero: the comparison means something.
  expect(maxAbs(ours.logits)).toBeGreaterThan(0.1);
  expect(d).toBeLessThan(Math.max(TOLERANCE, 3 * torchOwn));
  return d;
}

/** torchvision's nets and ours: resnet50 is torchvision's v1.5 (stride on the 3x3), resnet50-1x1 our preset as it is. */
const IMAGENET: { arch: string; config: () => Partial<ResNetConfig> }[] = [
  { arch: 'resnet18', config: () => resnetPreset('imagenet-resnet18') },
  { arch: 'resnet50', config: () => ({ ...resnetPreset('imagenet-resnet50'), bottleneckStride: '3x3' }) },
  { arch: 'resnet50-1x1', config: () => resnetPreset('imagenet-resnet50') },
  { arch: 'resnext50_32x4d', config: () => resnetPreset('imagenet-resnext50_32x4d') },
];

describe('safetensors between resnet-ts and torchvision (imagenet-* presets)', () => {
  for (const [i, { arch, config }] of IMAGENET.entries()) {
    it(`${arch}: ours -> safetensors -> torchvision (strict=True), same logits`, async () => {
      const { x, file: xFile } = input([2, 64, 64, 3], 10 + i);
      const net = oursRandom(config(), [64, 64, 3], 20 + i);
      const file = path.join(dir, `ours-${arch}.safetensors`);
      await net.save(`file://${file}`);
      const theirs = await torchLogits(['--arch', arch, '--load', file, '--input', xFile]);
      // The file holds exactly torchvision's state_dict, in its order.
      expect([...decodeSafetensors(new Uint8Array(fs.readFileSync(file))).tensors.keys()]).toEqual(theirs.names);
      agree(`ours -> ${arch}`, ourLogits(net, x), theirs);
      net.dispose();
      x.dispose();
    });

    it(`${arch}: torchvision (seeded) -> safetensors -> ours, same logits`, async () => {
      const { x, file: xFile } = input([2, 64, 64, 3], 30 + i);
      const file = path.join(dir, `torch-${arch}.safetensors`);
      const theirs = await torchLogits(['--arch', arch, '--seed', String(40 + i), '--save', file, '--input', xFile]);
      const net = new ResNet(config()).build([64, 64, 3]);
      await net.loadWeights(`file://${file}`);
      agree(`${arch} -> ours`, ourLogits(net, x), theirs);
      net.dispose();
      x.dispose();
    });
  }

  for (const dtype of ['F16', 'BF16']) {
    it(`resnet18: a torchvision state_dict in ${dtype} loads (as float32), same logits as torch's on those weights`, async () => {
      const { x, file: xFile } = input([2, 64, 64, 3], 50);
      const file = path.join(dir, `torch-resnet18-${dtype}.safetensors`);
      const theirs = await torchLogits([
        '--arch',
        'resnet18',
        '--seed',
        '5',
        '--save',
        file,
        '--dtype',
        dtype,
        '--input',
        xFile,
      ]);
      const dtypes = new Set(
        [...decodeSafetensors(new Uint8Array(fs.readFileSync(file))).tensors.values()].map((t) => t.dtype),
      );
      expect([...dtypes].sort()).toEqual([dtype, 'I64']);
      const net = new ResNet(resnetPreset('imagenet-resnet18')).build([64, 64, 3]);
      await net.loadWeights(`file://${file}`);
      agree(`resnet18 ${dtype} -> ours`, ourLogits(net, x), theirs);
      net.dispose();
      x.dispose();
    });
  }
});

/** The chapter's nets and bench/torch_models.py's resnet(): the seed's, and the small stem with a global pool. */
const CHAPTER: { label: string; config: Partial<ResNetConfig>; inputShape: number[] }[] = [
  { label: 'the seed network (96x96)', config: {}, inputShape: [96, 96, 1] },
  {
    label: "the 'small' stem with a global pool",
    config: { widths: [8, 8, 16, 16], depths: [1, 2, 1, 1], stem: 'small', headPool: 'global' },
    inputShape: [32, 32, 1],
  },
];

describe('safetensors between resnet-ts and its PyTorch mirrors (bench/torch_models.py)', () => {
  for (const [i, { label, config, inputShape }] of CHAPTER.entries()) {
    it(`${label}: ours -> torch and torch -> ours, same logits`, async () => {
      const { x, file: xFile } = input([2, ...inputShape], 60 + i);
      const ours = oursRandom(config, inputShape, 70 + i);
      const file = path.join(dir, `chapter-${i}.safetensors`);
      await ours.save(`file://${file}`);
      const args = ['--arch', 'chapter', '--config', JSON.stringify(config), '--input', xFile];
      const mirror = await torchLogits([...args, '--load', file]);
      expect([...decodeSafetensors(new Uint8Array(fs.readFileSync(file))).tensors.keys()]).toEqual(mirror.names);
      agree(`ours -> mirror (${label})`, ourLogits(ours, x), mirror);

      const back = path.join(dir, `chapter-${i}-torch.safetensors`);
      const theirs = await torchLogits([...args, '--seed', String(80 + i), '--save', back]);
      const net = new ResNet(config).build(inputShape);
      await net.loadWeights(`file://${back}`);
      agree(`mirror -> ours (${label})`, ourLogits(net, x), theirs);
      ours.dispose();
      net.dispose();
      x.dispose();
    });
  }
});
