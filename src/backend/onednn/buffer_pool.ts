/**
 * Recycling of kernel output storage.
 *
 * Fresh ArrayBuffers cost page faults plus the kernel's zeroing of new pages: for an 8 MB activation that is
 * ~5x the cost of a memory-bound kernel writing it. The native kernels therefore take their outputs from a
 * pool of exact-size ArrayBuffers, and OneDnnBackend returns a buffer to the pool when the last tensor
 * that uses it is disposed.
 *
 * Safety: every tensor created on the back end goes through `write()`, which counts references per pooled
 * buffer (so aliases such as the cpu Slice kernel's subarray views keep it alive); `readSync()` returns a
 * copy of pooled data, so arrays handed to users by dataSync()/data() are never recycled under them.
 */

import { config } from './config';

const free = new Map<number, ArrayBuffer[]>();
/** Live pooled buffers -> number of tensor data entries referring to them. */
const refs = new WeakMap<ArrayBuffer, { n: number }>();
let freeBytes = 0;

/** Upper bound on idle pooled bytes (RESNET_ONEDNN_POOL_MB, default 2048 MB). */
export const POOL_LIMIT_BYTES = config.bufferPoolLimitMb * 2 ** 20;

export const poolStats = { hits: 0, misses: 0, recycled: 0, dropped: 0 };

/** RESNET_ONEDNN_POOL=0 disables recycling (fresh, zero-filled buffers: for measurements). */
export const POOL_ENABLED = config.bufferPool;

/** Float32 storage for a kernel output; contents are arbitrary (kernels overwrite every element). */
export function allocF32(n: number): Float32Array {
  return new Float32Array(allocBuffer(n * 4));
}

/** bf16 storage (16-bit patterns) for an activation output of the bf16 precisions; contents arbitrary. */
export function allocBf16(n: number): Uint16Array {
  return new Uint16Array(allocBuffer(n * 2));
}

function allocBuffer(bytes: number): ArrayBuffer {
  if (bytes === 0 || !POOL_ENABLED) return new ArrayBuffer(bytes);
  const list = free.get(bytes);
  let ab = list?.pop();
  if (ab) {
    freeBytes -= bytes;
    poolStats.hits++;
  } else {
    ab = new ArrayBuffer(bytes);
    poolStats.misses++;
  }
  refs.set(ab, { n: 0 });
  return ab;
}

export function isPooled(ab: ArrayBufferLike): boolean {
  return refs.has(ab as ArrayBuffer);
}

/** A tensor data entry now refers to this storage. */
export function retain(values: unknown): void {
  const ab = (values as { buffer?: ArrayBuffer } | null)?.buffer;
  if (ab === undefined) return;
  const r = refs.get(ab);
  if (r) r.n++;
}

/** A tensor data entry referring to this storage was deleted. */
export function release(values: unknown): void {
  const ab = (values as { buffer?: ArrayBuffer } | null)?.buffer;
  if (ab === undefined) return;
  const r = refs.get(ab);
  if (!r || --r.n > 0) return;
  refs.delete(ab);
  if (freeBytes + ab.byteLength > POOL_LIMIT_BYTES) {
    poolStats.dropped++;
    return; // left to the GC
  }
  let list = free.get(ab.byteLength);
  if (!list) free.set(ab.byteLength, (list = []));
  list.push(ab);
  freeBytes += ab.byteLength;
  poolStats.recycled++;
}

export function pooledIdleBytes(): number {
  return freeBytes;
}
