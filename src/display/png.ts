/**
 * A minimal PNG encoder for grayscale images (data URLs for image grids, tensors shown as
 * pictures). Pure JavaScript on Uint8Array (deflate by fflate), so the plot specs that embed
 * images work in a browser as in Node.
 */
import { zlibSync } from 'fflate';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const td = concat([Uint8Array.from(type, (c) => c.charCodeAt(0)), data]);
  return concat([u32(data.length), td, u32(crc32(td))]);
}

/**
 * Encodes a height x width grayscale image as an 8-bit PNG. `pixels` are row-major, either
 * 0..255 integers (Uint8Array) or floats in [0, 1] (clamped). `scale` repeats each pixel
 * scale x scale times (crisp enlargement without relying on the viewer's smoothing).
 */
export function encodeGrayPng(pixels: ArrayLike<number>, height: number, width: number, scale = 1): Uint8Array {
  if (pixels.length !== height * width)
    throw new RangeError(`encodeGrayPng: ${pixels.length} pixels for ${height}x${width}`);
  const float = !(pixels instanceof Uint8Array || pixels instanceof Uint8ClampedArray);
  const H = height * scale,
    W = width * scale;
  const raw = new Uint8Array(H * (W + 1));
  for (let y = 0; y < H; y++) {
    const row = y * (W + 1);
    raw[row] = 0; // filter: none
    const sy = Math.floor(y / scale);
    for (let x = 0; x < W; x++) {
      const v = pixels[sy * width + Math.floor(x / scale)];
      raw[row + 1 + x] = float ? Math.round(Math.min(1, Math.max(0, v)) * 255) : v;
    }
  }
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, W);
  view.setUint32(4, H);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // colour type: grayscale
  return concat([
    Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlibSync(raw, { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** Base64 of bytes, in Node and in a browser. */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export const pngDataUrl = (png: Uint8Array): string => `data:image/png;base64,${toBase64(png)}`;
