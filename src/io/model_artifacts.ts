/**
 * A trained network in TensorFlow.js's own model format: `model.json` (the architecture, and
 * tfjs's `weightsManifest`: every weight's name, shape, dtype and shard) beside binary weight
 * shards, read and written through `tf.io` (its ModelArtifacts, IOHandlers, encodeWeights and
 * decodeWeights), so the files load anywhere tfjs runs: Node (`file://`) and a browser
 * (`http(s)://`, IndexedDB...).
 *
 * `modelTopology` holds this library's architecture, not a Keras one: `{ className: 'ResNet',
 * config, inputShape }`. Weights can be quantized as tfjs's converter does it (the manifest's
 * `quantization` field, dequantized by tfjs's own decodeWeights): `float16` halves the size,
 * `uint8` (per tensor, affine: min + scale * q) quarters it.
 *
 * Browser-safe: no Node built-in here (the file:// handler is in file_handler.ts, Node only).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Module } from '../nn/module';

export const MODEL_FORMAT = 'resnet-ts-model';
export const MODEL_FORMAT_VERSION = 1;
export const WEIGHTS_FILE = 'weights.bin';

export type Quantization = 'float16' | 'uint8';

/** What a model.json's modelTopology holds: the class, its constructor config, the input shape (no batch). */
export interface ModelTopology {
  format: typeof MODEL_FORMAT;
  version: number;
  className: string;
  config: Record<string, unknown>;
  inputShape: number[];
}

/** A network that can be saved: it names its class and the config that rebuilds it. */
export interface SavableModule extends Module {
  architecture(): { className: string; config: Record<string, unknown> };
}

export interface SaveOptions {
  /** Store the weights as float16 or uint8 (smaller files; see docs/measurements.md for the accuracy cost). */
  quantize?: Quantization;
}

/** A malformed or mismatched model (model.json, its manifest or its shards): says which and what. */
export class ModelFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFormatError';
  }
}

// --- float16 (IEEE half), as tfjs's decoder reads it ---
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** The IEEE 754 half-precision bits of x, rounded to nearest even (what the float16 weights store). */
export function float16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf, NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow: inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow: signed zero
    mant |= 0x800000; // subnormal half
    const shift = 14 - e;
    let h = mant >>> shift;
    if ((mant >>> (shift - 1)) & 1 && (mant & ((1 << (shift - 1)) - 1) || h & 1)) h++; // round to nearest even
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  // Round to nearest even; a carry runs into the exponent, up to infinity (0x7c00), as it should.
  if (mant & 0x1000 && (mant & 0xfff || h & 1)) h++;
  return sign | h;
}

interface EncodedWeight {
  spec: tf.io.WeightsManifestEntry;
  bytes: Uint8Array;
}

function encodeWeight(name: string, t: tf.Tensor, quantize: Quantization | undefined): EncodedWeight {
  const values = t.dataSync() as Float32Array;
  const base = { name, shape: [...t.shape], dtype: 'float32' as const };
  if (!quantize || t.dtype !== 'float32') {
    const copy = new Float32Array(values);
    return { spec: { ...base, dtype: t.dtype as 'float32' }, bytes: new Uint8Array(copy.buffer) };
  }
  if (quantize === 'float16') {
    const half = new Uint16Array(values.length);
    for (let i = 0; i < values.length; i++) half[i] = float16Bits(values[i]);
    return { spec: { ...base, quantization: { dtype: 'float16' } }, bytes: new Uint8Array(half.buffer) };
  }
  // uint8, affine per tensor (tfjs converter's scheme: value = min + scale * q).
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (values.length === 0) min = max = 0;
  const scale = max > min ? (max - min) / 255 : 1;
  const q = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) q[i] = Math.round((values[i] - min) / scale);
  return { spec: { ...base, quantization: { dtype: 'uint8', scale, min } }, bytes: q };
}

/** The ModelArtifacts of a built network: topology, weight specs and one buffer of weight data. */
export function modelArtifacts(net: SavableModule, opts: SaveOptions = {}): tf.io.ModelArtifacts {
  if (opts.quantize !== undefined && opts.quantize !== 'float16' && opts.quantize !== 'uint8')
    throw new RangeError(`save: quantize must be 'float16' or 'uint8', got ${JSON.stringify(opts.quantize)}`);
  const inputShape = net.inputShape;
  if (!net.built || !inputShape)
    throw new Error(`save: ${net.constructor.name} has not been built yet (build it, or train it, first)`);
  const encoded = net.namedVariables().map(([name, v]) => encodeWeight(name, v, opts.quantize));
  const total = encoded.reduce((n, e) => n + e.bytes.byteLength, 0);
  const data = new Uint8Array(total);
  let at = 0;
  for (const e of encoded) {
    data.set(e.bytes, at);
    at += e.bytes.byteLength;
  }
  const { className, config } = net.architecture();
  const topology: ModelTopology = {
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    className,
    config,
    inputShape: [...inputShape],
  };
  return {
    modelTopology: topology as unknown as tf.io.ModelArtifacts['modelTopology'],
    format: MODEL_FORMAT,
    generatedBy: 'resnet-ts',
    convertedBy: null,
    weightSpecs: encoded.map((e) => e.spec),
    weightData: data.buffer,
  };
}

/** Saves through any tfjs IOHandler, or a URL tfjs has a handler for (file:// in Node, indexeddb:// ...). */
export async function saveModel(
  net: SavableModule,
  handlerOrUrl: tf.io.IOHandler | string,
  opts: SaveOptions = {},
): Promise<tf.io.SaveResult> {
  const handler = typeof handlerOrUrl === 'string' ? saveHandlerFor(handlerOrUrl) : handlerOrUrl;
  if (!handler.save) throw new Error('save: this IOHandler cannot save');
  return handler.save(modelArtifacts(net, opts));
}

function saveHandlerFor(url: string): tf.io.IOHandler {
  const handlers = tf.io.getSaveHandlers(url);
  if (handlers.length === 0)
    throw new Error(
      `save: no handler for '${url}' (file://path in Node, after importing 'resnet-ts'; indexeddb:// or downloads:// in a browser)`,
    );
  return handlers[0];
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, float16: 2, uint8: 1, uint16: 2 };

/** Bytes a manifest entry takes in the shards (quantized entries at their stored width). */
export function weightBytes(spec: tf.io.WeightsManifestEntry): number {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const stored = spec.quantization?.dtype ?? spec.dtype;
  const per = BYTES[stored];
  if (per === undefined) throw new ModelFormatError(`weight '${spec.name}': unsupported dtype '${stored}'`);
  return size * per;
}

/**
 * Checks loaded artifacts before anything is built: the topology is this library's, the weight
 * data is as long as the manifest says (a truncated shard is named by the weight it cuts).
 */
export function checkArtifacts(
  a: tf.io.ModelArtifacts,
  source: string,
): { topology: ModelTopology; specs: tf.io.WeightsManifestEntry[]; data: ArrayBuffer } {
  const t = a.modelTopology as unknown as Partial<ModelTopology> | undefined;
  if (!t || typeof t !== 'object' || t.format !== MODEL_FORMAT)
    throw new ModelFormatError(
      `${source}: modelTopology is not a ${MODEL_FORMAT} architecture (format ${JSON.stringify(t?.format)}); was it saved by net.save()?`,
    );
  if (t.version !== MODEL_FORMAT_VERSION)
    throw new ModelFormatError(
      `${source}: ${MODEL_FORMAT} version ${t.version}, this library reads version ${MODEL_FORMAT_VERSION}`,
    );
  if (typeof t.className !== 'string' || typeof t.config !== 'object' || t.config === null)
    throw new ModelFormatError(`${source}: modelTopology needs className and config`);
  if (!Array.isArray(t.inputShape) || !t.inputShape.every((d) => Number.isInteger(d) && d > 0))
    throw new ModelFormatError(
      `${source}: modelTopology.inputShape must be positive integers, got ${JSON.stringify(t.inputShape)}`,
    );
  const specs = a.weightSpecs ?? [];
  const data =
    a.weightData instanceof ArrayBuffer
      ? a.weightData
      : a.weightData
        ? concatBuffers(a.weightData as ArrayBuffer[])
        : new ArrayBuffer(0);
  let at = 0;
  for (const s of specs) {
    at += weightBytes(s);
    if (at > data.byteLength)
      throw new ModelFormatError(
        `${source}: the weight data ends at byte ${data.byteLength}, inside '${s.name}' (needs ${at}): a truncated shard?`,
      );
  }
  if (at !== data.byteLength)
    throw new ModelFormatError(`${source}: ${data.byteLength} bytes of weight data, the manifest describes ${at}`);
  return { topology: t as ModelTopology, specs, data };
}

function concatBuffers(parts: ArrayBuffer[]): ArrayBuffer {
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), at);
    at += p.byteLength;
  }
  return out.buffer;
}

/**
 * Puts decoded weights into a built network by name: every variable must have a weight of its
 * shape, and every weight a variable (each mismatch is named).
 */
export function assignWeights(net: Module, weights: tf.NamedTensorMap, source: string): void {
  const vars = new Map(net.namedVariables());
  const missing = [...vars.keys()].filter((n) => !(n in weights));
  const extra = Object.keys(weights).filter((n) => !vars.has(n));
  const problems: string[] = [];
  if (missing.length) problems.push(`missing weight(s): ${missing.join(', ')}`);
  if (extra.length) problems.push(`weight(s) the network does not have: ${extra.join(', ')}`);
  for (const [name, v] of vars) {
    const w = weights[name];
    if (w && JSON.stringify(w.shape) !== JSON.stringify(v.shape))
      problems.push(`'${name}' has shape [${w.shape.join(', ')}], the network's is [${v.shape.join(', ')}]`);
  }
  if (problems.length) throw new ModelFormatError(`${source}: ${problems.join('; ')}`);
  for (const [name, v] of vars) v.assign(weights[name]);
}

/** Refuses a config field the class does not know (a typo, or a file from another version), naming it. */
export function checkConfigFields(
  className: string,
  config: Record<string, unknown>,
  known: readonly string[],
  source: string,
): void {
  const unknown = Object.keys(config).filter((k) => !known.includes(k));
  if (unknown.length)
    throw new ModelFormatError(
      `${source}: unknown ${className} config field(s) ${unknown.join(', ')} (known: ${known.join(', ')})`,
    );
}
