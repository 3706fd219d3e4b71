/**
 * IDX file parser (the MNIST / Fashion-MNIST container format), gzipped or raw.
 *
 * Layout: 4-byte magic `00 00 TT NN` (TT = element type, NN = number of dimensions),
 * then NN big-endian uint32 dimension sizes, then the payload in row-major order.
 * Only element type 0x08 (uint8) is supported, which is what (Fashion-)MNIST uses:
 * images are `0x00000803` (N x rows x cols), labels are `0x00000801` (N).
 *
 * Every problem is reported as an {@link IdxError} whose message starts with the file name.
 */
import * as fs from 'fs';
import * as zlib from 'zlib';

export class IdxError extends Error {
  /** `file`: the file (path or name) the problem is in; `problem`: what is wrong with it. */
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'IdxError';
  }
}

export interface IdxArray {
  data: Uint8Array;
  shape: number[];
}

/** Magic numbers of the two uint8 IDX kinds used by (Fashion-)MNIST. */
export const IDX_MAGIC_IMAGES = 0x00000803;
export const IDX_MAGIC_LABELS = 0x00000801;

export interface IdxExpect {
  /** Required magic number, e.g. {@link IDX_MAGIC_IMAGES}. */
  magic?: number;
  /** Required dimension sizes; `null` = any (e.g. `[null, 28, 28]`). Length must equal the rank. */
  dims?: readonly (number | null)[];
}

const TYPE_NAMES: Record<number, string> = {
  0x08: 'uint8',
  0x09: 'int8',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

const hex8 = (m: number) => '0x' + (m >>> 0).toString(16).padStart(8, '0');
const dimsStr = (d: readonly (number | null)[]) => d.map((x) => (x === null ? 'N' : String(x))).join('x');

/** True when the buffer starts with the gzip magic 0x1f 0x8b. */
export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/** Gunzips `buf` if it is gzip (by magic), otherwise returns it unchanged. */
export function maybeGunzip(buf: Uint8Array, file: string): Uint8Array {
  if (!isGzip(buf)) return buf;
  try {
    return zlib.gunzipSync(buf);
  } catch (e) {
    throw new IdxError(file, `corrupt gzip data: ${(e as Error).message}`);
  }
}

/**
 * Parses an IDX buffer (gzip is detected by its magic and decompressed first).
 * `file` is used only in error messages.
 */
export function parseIdx(buf: Uint8Array, file: string, expect: IdxExpect = {}): IdxArray {
  const raw = maybeGunzip(buf, file);
  if (raw.length < 4) {
    throw new IdxError(file, `truncated: ${raw.length} bytes, too short for the 4-byte IDX magic`);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const magic = view.getUint32(0, false);
  const type = raw[2];
  const ndim = raw[3];
  if (raw[0] !== 0 || raw[1] !== 0 || !(type in TYPE_NAMES) || ndim === 0) {
    throw new IdxError(file, `bad magic ${hex8(magic)}: not an IDX file (expected 0x000008NN)`);
  }
  if (type !== 0x08) {
    throw new IdxError(
      file,
      `unsupported element type 0x${type.toString(16)} (${TYPE_NAMES[type]}); only uint8 (0x08) is supported`,
    );
  }
  if (expect.magic !== undefined && magic !== expect.magic) {
    throw new IdxError(
      file,
      `bad magic ${hex8(magic)} (uint8, ${ndim}-D): expected ${hex8(expect.magic)} (uint8, ${expect.magic & 0xff}-D)`,
    );
  }
  const headerLen = 4 + 4 * ndim;
  if (raw.length < headerLen) {
    throw new IdxError(file, `truncated header: ${ndim}-D IDX needs ${headerLen} header bytes, found ${raw.length}`);
  }
  const shape: number[] = [];
  for (let i = 0; i < ndim; i++) shape.push(view.getUint32(4 + 4 * i, false));
  if (expect.dims) {
    const d = expect.dims;
    const ok = d.length === ndim && d.every((want, i) => want === null || want === shape[i]);
    if (!ok) throw new IdxError(file, `wrong dimensions: header says ${dimsStr(shape)}, expected ${dimsStr(d)}`);
  }
  const expected = shape.reduce((a, b) => a * b, 1);
  const found = raw.length - headerLen;
  if (found !== expected) {
    const what = `header says ${dimsStr(shape)} = ${expected} bytes, found ${found}`;
    if (found < expected) throw new IdxError(file, `truncated: ${what}`);
    throw new IdxError(file, `oversized: ${what} (${found - expected} extra)`);
  }
  return { data: raw.subarray(headerLen), shape };
}

/** Reads and parses an IDX file (gzipped or raw). Errors name the file as given. */
export function readIdx(file: string, expect: IdxExpect = {}): IdxArray {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new IdxError(file, `cannot read: ${(e as Error).message}`);
  }
  return parseIdx(buf, file, expect);
}

/** Builds an IDX buffer (uint8) -- the inverse of {@link parseIdx}; used for tests and tools. */
export function encodeIdx(data: Uint8Array, shape: readonly number[]): Uint8Array {
  const headerLen = 4 + 4 * shape.length;
  const out = new Uint8Array(headerLen + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x00000800 | shape.length, false);
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, headerLen);
  return out;
}
