/**
 * Checkpoints: model weights (incl. batch-norm running averages), optimizer state and the
 * training position, so that `--resume` continues exactly where a run stopped.
 *
 * Layout of a checkpoint directory:
 *   checkpoint.json       manifest: format, model config, position, history, tensor index, sha256
 *   weights-<step>.bin    float32 little-endian values of every tensor in the index
 * The weights file is written under a temporary name and renamed; then the manifest is written
 * the same way. Renaming the manifest is the commit point, so a crash leaves the previous
 * checkpoint intact. Old weight files are removed after the commit.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Module } from '../nn/module';
import type { EpochRecord } from './history';

export const CHECKPOINT_FORMAT = 'resnet-ts-checkpoint/1';
const MANIFEST = 'checkpoint.json';

export interface TensorEntry {
  name: string;
  shape: number[];
  offset: number; // in float32 elements
}

/** Where training stands: the next batch to run and the running sums of the current epoch. */
export interface TrainPosition {
  epoch: number;
  batch: number;
  step: number;
  lossSum: number;
  correct: number;
  seen: number;
  seconds: number;
}

export interface CheckpointManifest {
  format: string;
  savedAt: string;
  /** Whatever the caller needs to rebuild the model and data (model config, CLI options). */
  meta: Record<string, unknown>;
  /** Per-example input shape the net was built for (absent in checkpoints of older versions). */
  inputShape?: number[];
  position: TrainPosition;
  history: EpochRecord[];
  variables: TensorEntry[];
  optimizer: { className: string; config: Record<string, unknown>; weights: TensorEntry[] };
  weightsFile: string;
  weightsSha256: string;
}

export class CheckpointError extends Error {
  constructor(dir: string, problem: string) {
    super(`checkpoint ${dir}: ${problem}`);
    this.name = 'CheckpointError';
  }
}

function writeAtomic(file: string, data: Uint8Array | string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

function pack(tensors: { name: string; tensor: tf.Tensor }[], start: number, chunks: Float32Array[]): TensorEntry[] {
  let offset = start;
  return tensors.map(({ name, tensor }) => {
    const values = tensor.dataSync() as Float32Array;
    chunks.push(values instanceof Float32Array ? values : Float32Array.from(values));
    const entry = { name, shape: tensor.shape, offset };
    offset += tensor.size;
    return entry;
  });
}

export async function saveCheckpoint(
  dir: string,
  net: Module,
  optimizer: tf.Optimizer,
  position: TrainPosition,
  history: EpochRecord[],
  meta: Record<string, unknown>,
): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const chunks: Float32Array[] = [];
  const variables = pack(
    net.namedVariables().map(([name, tensor]) => ({ name, tensor })),
    0,
    chunks,
  );
  const total = variables.reduce((n, v) => n + tf.util.sizeFromShape(v.shape), 0);
  const optWeights = await optimizer.getWeights();
  const optEntries = pack(
    optWeights.map((w) => ({ name: w.name, tensor: w.tensor })),
    total,
    chunks,
  );
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    bytes.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), at);
    at += c.byteLength;
  }

  const weightsFile = `weights-${position.step}.bin`;
  writeAtomic(path.join(dir, weightsFile), bytes);
  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT,
    savedAt: new Date().toISOString(),
    meta,
    ...(net.inputShape ? { inputShape: net.inputShape } : {}),
    position,
    history,
    variables,
    optimizer: {
      className: optimizer.getClassName(),
      config: optimizer.getConfig() as Record<string, unknown>,
      weights: optEntries,
    },
    weightsFile,
    weightsSha256: crypto.createHash('sha256').update(bytes).digest('hex'),
  };
  writeAtomic(path.join(dir, MANIFEST), JSON.stringify(manifest, null, 1));
  for (const f of fs.readdirSync(dir)) {
    if (/^weights-\d+\.bin$/.test(f) && f !== weightsFile) fs.rmSync(path.join(dir, f), { force: true });
  }
  return path.join(dir, MANIFEST);
}

export function hasCheckpoint(dir: string): boolean {
  return fs.existsSync(path.join(dir, MANIFEST));
}

/** Reads and verifies a checkpoint; the weights are not applied yet (see restoreCheckpoint). */
export function readCheckpoint(dir: string): { manifest: CheckpointManifest; values: Float32Array } {
  const file = path.join(dir, MANIFEST);
  if (!fs.existsSync(file)) throw new CheckpointError(dir, `no ${MANIFEST} (nothing to resume from)`);
  let manifest: CheckpointManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CheckpointError(dir, `${MANIFEST} is not valid JSON: ${(e as Error).message}`);
  }
  if (manifest.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(dir, `format '${manifest.format}', expected '${CHECKPOINT_FORMAT}'`);
  }
  const weightsPath = path.join(dir, manifest.weightsFile);
  if (!fs.existsSync(weightsPath)) throw new CheckpointError(dir, `weights file ${manifest.weightsFile} is missing`);
  const bytes = fs.readFileSync(weightsPath);
  const sha = crypto.createHash('sha256').update(bytes).digest('hex');
  if (sha !== manifest.weightsSha256) {
    throw new CheckpointError(
      dir,
      `${manifest.weightsFile} is corrupt: sha256 ${sha}, manifest says ${manifest.weightsSha256}`,
    );
  }
  const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return { manifest, values };
}

function slice(values: Float32Array, e: TensorEntry): tf.Tensor {
  const size = tf.util.sizeFromShape(e.shape);
  return tf.tensor(values.subarray(e.offset, e.offset + size), e.shape, 'float32');
}

/**
 * Checkpoints written before every residual block called its shortcut projection 'shortcut' named
 * it 'conv3' (Residual, PreActResidual) or 'conv4' (Bottleneck): such entries are read under the
 * new name when the model has that variable and nothing else claims it.
 */
export function renameLegacyShortcuts(entries: TensorEntry[], model: Map<string, unknown>): TensorEntry[] {
  const names = new Set(entries.map((e) => e.name));
  return entries.map((e) => {
    if (model.has(e.name)) return e;
    const renamed = e.name.replace(/(^|\.)conv[34]\.(weight|bias)$/, '$1shortcut.$2');
    return renamed !== e.name && model.has(renamed) && !names.has(renamed) ? { ...e, name: renamed } : e;
  });
}

/**
 * Copies a checkpoint's weights into a model with the same architecture and its state into the
 * optimizer. Names and shapes must match exactly. An unbuilt net is built first, from
 * `inputShape` (no batch dimension) if given, else from the input shape the checkpoint records.
 */
export async function restoreCheckpoint(
  dir: string,
  net: Module,
  optimizer: tf.Optimizer | undefined,
  inputShape?: number[],
): Promise<CheckpointManifest> {
  const { manifest, values } = readCheckpoint(dir);
  if (!net.built) {
    const shape = inputShape ?? manifest.inputShape;
    if (!shape) {
      throw new CheckpointError(
        dir,
        `the ${net.constructor.name} is not built and the checkpoint records no input shape: ` +
          'pass inputShape to restoreCheckpoint or call .build(inputShape) first',
      );
    }
    net.build(shape);
  }
  const mine = new Map(net.namedVariables());
  manifest.variables = renameLegacyShortcuts(manifest.variables, mine);
  const missing = manifest.variables.filter((e) => !mine.has(e.name)).map((e) => e.name);
  const extra = [...mine.keys()].filter((n) => !manifest.variables.some((e) => e.name === n));
  if (missing.length || extra.length) {
    throw new CheckpointError(
      dir,
      `model does not match: missing in model [${missing.slice(0, 5)}], not in checkpoint [${extra.slice(0, 5)}]`,
    );
  }
  // Check everything before assigning anything: a refused restore leaves the model as it was.
  for (const e of manifest.variables) {
    const v = mine.get(e.name)!;
    if (JSON.stringify(v.shape) !== JSON.stringify(e.shape)) {
      throw new CheckpointError(
        dir,
        `${e.name} has shape ${JSON.stringify(e.shape)} in the checkpoint, ${JSON.stringify(v.shape)} in the model`,
      );
    }
  }
  if (optimizer && optimizer.getClassName() !== manifest.optimizer.className) {
    throw new CheckpointError(
      dir,
      `optimizer is ${optimizer.getClassName()}, checkpoint has ${manifest.optimizer.className}`,
    );
  }
  for (const e of manifest.variables) tf.tidy(() => mine.get(e.name)!.assign(slice(values, e)));
  if (optimizer) {
    const weights = manifest.optimizer.weights.map((e) => ({ name: e.name, tensor: slice(values, e) }));
    await optimizer.setWeights(weights);
  }
  return manifest;
}
