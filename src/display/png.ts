/** A minimal PNG encoder for grayscale images (data URLs for image grids; no native deps). */
import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/**
 * Encodes a height x width grayscale image as an 8-bit PNG. `pixels` are row-major, either
 * 0..255 integers (Uint8Array) or floats in [0, 1] (clamped). `scale` repeats each pixel
 * scale x scale times (crisp enlargement without relying on the viewer's smoothing).
 */
export function encodeGrayPng(pixels: ArrayLike<number>, height: number, width: number, scale = 1): Buffer {
  if (pixels.length !== height * width)
    throw new RangeError(`encodeGrayPng: ${pixels.length} pixels for ${height}x${width}`);
  const float = !(pixels instanceof Uint8Array || pixels instanceof Uint8ClampedArray);
  const H = height * scale,
    W = width * scale;
  const raw = Buffer.alloc(H * (W + 1));
  for (let y = 0; y < H; y++) {
    const row = y * (W + 1);
    raw[row] = 0; // filter: none
    const sy = Math.floor(y / scale);
    for (let x = 0; x < W; x++) {
      const v = pixels[sy * width + Math.floor(x / scale)];
      raw[row + 1 + x] = float ? Math.round(Math.min(1, Math.max(0, v)) * 255) : v;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(W, 0);
  ihdr.writeUInt32BE(H, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // colour type: grayscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export const pngDataUrl = (png: Buffer): string => `data:image/png;base64,${png.toString('base64')}`;
