/**
 * The safetensors format (Hugging Face's weights format, https://github.com/huggingface/safetensors),
 * read and written here, as no maintained npm package does both in Node
 * (npm's `safetensors` is a single 0.0.1 release, a browser UMD bundle):
 *
 *   8 bytes    N, the header's length, an unsigned little-endian 64-bit integer
 *   N bytes    a JSON object { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { string: string } }
 *   the rest   the tensors' bytes, little-endian, row-major; offsets count from the byte after the header
 *
 * `decodeSafetensors` checks everything a malformed file can get wrong and names it (the header
 * length past the end of the file, a dtype the format does not have, offsets outside the data or
 * not as long as dtype and shape say); `tensorAsFloat32` widens F16 / BF16 / F64 to float32.
 * `encodeSafetensors` writes F32 / F16 / I64 with the header padded with spaces to 8 bytes, as
 * the reference implementation does, so every tensor starts aligned.
 *
 * Browser-safe: no Node built-in here (the file:// side is in file_handler.ts).
 */
import { ModelFormatError, float16Bits } from './model_artifacts';

/** Bytes per element of every dtype the format defines (safetensors' `Dtype` enum). */
export const SAFETENSORS_DTYPES: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

/** The float dtypes read as weights (widened to float32). */
export const FLOAT_DTYPES = ['F32', 'F16', 'BF16', 'F64'] as const;

/** One tensor of a file: its dtype, shape and raw little-endian bytes (a view into the file). */
export interface SafeTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

export interface SafetensorsFile {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

/** A tensor to write: F32 and F16 from float values, I64 from integers (e.g. num_batches_tracked). */
export interface TensorToWrite {
  name: string;
  dtype: 'F32' | 'F16' | 'I64';
  shape: number[];
  values: Float32Array | number[];
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HEADER_LENGTH_BYTES = 8;
const METADATA = '__metadata__';

const elements = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const fail = (source: string, what: string): never => {
  throw new ModelFormatError(`${source}: ${what}`);
};

/** The file's tensors and metadata, every header entry checked against the data it points into. */
export function decodeSafetensors(file: Uint8Array, source = 'safetensors'): SafetensorsFile {
  if (file.byteLength < HEADER_LENGTH_BYTES)
    fail(
      source,
      `${file.byteLength} bytes: too short for a safetensors file (its first 8 bytes are the header length)`,
    );
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const n = view.getBigUint64(0, true);
  const room = file.byteLength - HEADER_LENGTH_BYTES;
  if (n > BigInt(room))
    fail(
      source,
      `the header length is ${n} bytes, past the end of the file (${file.byteLength} bytes, so at most ${room}): not a safetensors file, or a truncated one`,
    );
  const headerLength = Number(n);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(8, 8 + headerLength)));
  } catch (e) {
    fail(source, `the ${headerLength}-byte header is not JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    fail(source, 'the header is not a JSON object of tensors');
  const data = file.subarray(HEADER_LENGTH_BYTES + headerLength);
  const tensors = new Map<string, SafeTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA) {
      if (typeof entry !== 'object' || entry === null || Object.values(entry).some((v) => typeof v !== 'string'))
        fail(source, `${METADATA} must map strings to strings, got ${JSON.stringify(entry)}`);
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (typeof e !== 'object' || e === null) fail(source, `tensor '${name}': its header entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = e!;
    if (typeof dtype !== 'string' || !(dtype in SAFETENSORS_DTYPES))
      fail(
        source,
        `tensor '${name}': unknown dtype ${JSON.stringify(dtype)} (safetensors has ${Object.keys(SAFETENSORS_DTYPES).join(', ')})`,
      );
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      fail(source, `tensor '${name}': shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isInteger(o) && o >= 0) ||
      offsets[0] > offsets[1]
    )
      fail(
        source,
        `tensor '${name}': data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offsets)}`,
      );
    const [begin, end] = offsets as [number, number];
    if (end > data.byteLength)
      fail(
        source,
        `tensor '${name}': data_offsets [${begin}, ${end}] lie outside the data (${data.byteLength} bytes after the header): a truncated file?`,
      );
    const need = elements(shape as number[]) * SAFETENSORS_DTYPES[dtype as string];
    if (end - begin !== need)
      fail(
        source,
        `tensor '${name}': data_offsets [${begin}, ${end}] hold ${end - begin} bytes, ${dtype} of shape [${(shape as number[]).join(', ')}] needs ${need}`,
      );
    tensors.set(name, { dtype: dtype as string, shape: [...(shape as number[])], bytes: data.subarray(begin, end) });
  }
  return { tensors, metadata };
}

/** float32 bits of an IEEE half. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** A float tensor's values as float32 (F16, BF16 and F64 converted); other dtypes are refused, naming the tensor. */
export function tensorAsFloat32(t: SafeTensor, name: string, source = 'safetensors'): Float32Array {
  const n = elements(t.shape);
  const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  switch (t.dtype) {
    case 'F32': {
      // A copy (aligned; Uint8Array's slice, since a Node Buffer's slice would share memory).
      if (LITTLE_ENDIAN) return new Float32Array(Uint8Array.prototype.slice.call(t.bytes).buffer, 0, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    }
    case 'F16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return new Float32Array(bits.buffer);
    }
    case 'F64': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    default:
      return fail(source, `tensor '${name}' is ${t.dtype}; a weight must be ${FLOAT_DTYPES.join(', ')}`);
  }
}

function tensorBytes(t: TensorToWrite): Uint8Array {
  const n = elements(t.shape);
  if (t.values.length !== n)
    throw new RangeError(
      `safetensors: '${t.name}' has ${t.values.length} values, shape [${t.shape.join(', ')}] needs ${n}`,
    );
  const out = new Uint8Array(n * SAFETENSORS_DTYPES[t.dtype]);
  const view = new DataView(out.buffer);
  if (t.dtype === 'F32') {
    if (LITTLE_ENDIAN) out.set(new Uint8Array(Float32Array.from(t.values).buffer));
    else for (let i = 0; i < n; i++) view.setFloat32(4 * i, t.values[i], true);
  } else if (t.dtype === 'F16') {
    for (let i = 0; i < n; i++) view.setUint16(2 * i, float16Bits(t.values[i]), true);
  } else {
    for (let i = 0; i < n; i++) {
      if (!Number.isSafeInteger(t.values[i]))
        throw new RangeError(`safetensors: '${t.name}' is I64, ${t.values[i]} is not an integer`);
      view.setBigInt64(8 * i, BigInt(t.values[i]), true);
    }
  }
  return out;
}

/** A safetensors file of the tensors (in the order given) and string metadata. */
export function encodeSafetensors(tensors: TensorToWrite[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header[METADATA] = metadata;
  const blobs: Uint8Array[] = [];
  let at = 0;
  for (const t of tensors) {
    if (t.name === METADATA || t.name in header)
      throw new RangeError(`safetensors: tensor name '${t.name}' twice or reserved`);
    if (!(t.dtype in SAFETENSORS_DTYPES) || !['F32', 'F16', 'I64'].includes(t.dtype))
      throw new RangeError(`safetensors: writes F32, F16 or I64, not ${t.dtype} ('${t.name}')`);
    const bytes = tensorBytes(t);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + bytes.byteLength] };
    blobs.push(bytes);
    at += bytes.byteLength;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  // Pad the header with spaces to a multiple of 8 (valid JSON), so that the data starts aligned.
  const padded = Math.ceil(json.byteLength / 8) * 8;
  if (padded !== json.byteLength) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(HEADER_LENGTH_BYTES + json.byteLength + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, HEADER_LENGTH_BYTES);
  let pos = HEADER_LENGTH_BYTES + json.byteLength;
  for (const b of blobs) {
    out.set(b, pos);
    pos += b.byteLength;
  }
  return out;
}

/** Whether a URL or path names a safetensors file (by its extension). */
export function isSafetensorsPath(url: string): boolean {
  return /\.safetensors$/i.test(url);
}
