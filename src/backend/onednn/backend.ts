/**
 * The 'onednn' back end object: MathBackendCPU (data live in JS typed arrays, so every JS cpu kernel works on
 * them) plus two things the native kernels need:
 *
 *  - pooled outputs (buffer_pool.ts): write/move count references to pooled buffers, disposeData recycles them,
 *    readSync copies pooled data so arrays handed to users are never recycled;
 *  - lazy outputs: a kernel may return a tensor whose values are computed on first access. Used for the
 *    input gradient of convolutions on network inputs: tfjs's fused conv2d gradient computes dx eagerly even
 *    when nothing needs it (the image batch is not trainable), and for the 7x7 stem that is ~4% of a step.
 *    Every read of tensor data goes through `data.get`, which materialises; disposal does not.
 *
 *  - bf16 activations: in the bf16 precisions the convolutions, batch norm and the residual add + ReLU write
 *    their outputs as bf16 bits (a Uint16Array, half the bytes), and the native kernels read those bits
 *    directly (`bf16Values`). The tensor is float32 to tfjs; its float32 values are widened from the bits
 *    (exact) on first read, like a lazy output, so every JS kernel and `dataSync` still sees float32.
 *
 * It also stamps tensors for the bf16 convolutions, which keep a converted copy of each filter array: a
 * stamp names a tensor's values, and the in-place updates (which change values under the same array) give
 * the tensors they write a new one.
 */
import { BackendValues, DataType, TensorInfo } from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import type { InPlaceSgdUpdate, InPlaceUpdatesBackend } from '../in_place_updates';
import { loadAddon } from './addon';
import { config } from './config';
import { allocF32, isPooled, release, retain } from './buffer_pool';
import { bump } from './kernel_helpers/native_kernel';

type DataId = object;
type Values = Parameters<MathBackendCPU['write']>[0];

interface Pending {
  compute: () => Float32Array;
  /** Input arrays the computation reads: kept alive (and out of the pool) until it runs or is dropped. */
  inputs: ArrayBufferView[];
}

interface Entry {
  values: BackendValues;
  dtype: DataType;
  refCount: number;
  complexTensorInfos?: { real: { dataId: DataId }; imag: { dataId: DataId } };
  pending?: Pending;
  /** The values as bf16 bits (exactly: the float32 values are these widened), for bf16 activations. */
  bf16?: Uint16Array;
}

/** Stamps are unique across back end instances: the native filter cache is one per process. */
let nextStamp = 1;

export class OneDnnBackend extends MathBackendCPU implements InPlaceUpdatesBackend {
  private readonly rawGet: (id: DataId) => Entry | undefined;
  private readonly stamps = new WeakMap<DataId, number>();
  /** Lazy outputs materialised / dropped unread (tests, profiling). */
  readonly lazyStats = { materialised: 0, dropped: 0 };
  /** bf16 activations created, and those whose float32 values something read (widened). */
  readonly bf16Stats = { created: 0, widened: 0 };

  constructor() {
    super();
    // MathBackendCPU prints "install tfjs-node" on first use; this back end is the native one.
    (this as unknown as { firstUse: boolean }).firstUse = false;
    const data = this.data as unknown as { get(id: DataId): Entry | undefined };
    const rawGet = data.get.bind(data);
    this.rawGet = rawGet;
    data.get = (id: DataId) => {
      const e = rawGet(id);
      if (e?.pending) this.materialise(e);
      return e;
    };
  }

  private materialise(e: Entry): void {
    const p = e.pending!;
    e.pending = undefined;
    e.values = p.compute();
    retain(e.values);
    for (const v of p.inputs) release(v);
    if (e.bf16) this.bf16Stats.widened++;
    else this.lazyStats.materialised++;
  }

  /** A float32 tensor computed on first access of its values. */
  makeLazyTensorInfo(shape: number[], compute: () => Float32Array, inputs: ArrayBufferView[]): TensorInfo {
    const dataId = super.write(null as unknown as Values, shape, 'float32');
    const e = this.rawGet(dataId)!;
    for (const v of inputs) retain(v);
    e.pending = { compute, inputs };
    return { dataId, shape, dtype: 'float32' as const };
  }

  /** A float32 tensor stored as bf16 bits (a bf16 activation); its float32 values are widened on first read. */
  makeBf16TensorInfo(shape: number[], bits: Uint16Array): TensorInfo {
    const dataId = super.write(null as unknown as Values, shape, 'float32');
    const e = this.rawGet(dataId)!;
    retain(bits);
    e.bf16 = bits;
    const widen = () => {
      const out = allocF32(bits.length);
      loadAddon().addon!.bf16Widen(bits, out);
      return out;
    };
    e.pending = { compute: widen, inputs: [] };
    this.bf16Stats.created++;
    return { dataId, shape, dtype: 'float32' as const };
  }

  /** The bf16 bits of a bf16 activation (without widening it), else null. */
  bf16Values(t: TensorInfo): Uint16Array | null {
    return this.rawGet(t.dataId)?.bf16 ?? null;
  }

  override write(values: Values, shape: number[], dtype: DataType): DataId {
    const id = super.write(values, shape, dtype);
    retain(values);
    return id;
  }

  /** A number naming the tensor's current values (new after an in-place update), never 0. */
  weightsStamp(dataId: DataId): number {
    let s = this.stamps.get(dataId);
    if (s == null) this.stamps.set(dataId, (s = nextStamp++));
    return s;
  }

  private restamp(ts: TensorInfo[]): void {
    for (const t of ts) this.stamps.delete(t.dataId);
  }

  override move(dataId: DataId, values: Values, shape: number[], dtype: DataType, refCount: number): void {
    this.stamps.delete(dataId);
    // (has() first: DataStorage.get of an id this back end lacks moves it here, which calls move again)
    const old = this.data.has(dataId) ? this.rawGet(dataId) : undefined;
    if (old?.bf16) release(old.bf16); // the entry is replaced by float32 values
    super.move(dataId, values, shape, dtype, refCount);
    retain(values);
  }

  // Reference counting without materialising (MathBackendCPU's versions read through data.get).
  override refCount(dataId: DataId): number {
    return this.rawGet(dataId)?.refCount ?? 0;
  }

  override incRef(dataId: DataId): void {
    const e = this.rawGet(dataId);
    if (e) e.refCount++;
  }

  override decRef(dataId: DataId): void {
    const e = this.rawGet(dataId);
    if (e) e.refCount--;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const e = this.rawGet(dataId);
    if (e == null) return true;
    e.refCount--;
    if (!force && e.refCount > 0) return false;
    if (e.complexTensorInfos != null) {
      this.disposeData(e.complexTensorInfos.real.dataId, true);
      this.disposeData(e.complexTensorInfos.imag.dataId, true);
    }
    this.data.delete(dataId);
    if (e.pending) {
      for (const v of e.pending.inputs) release(v);
      e.pending = undefined;
      if (!e.bf16) this.lazyStats.dropped++;
    } else {
      release(e.values);
    }
    if (e.bf16) release(e.bf16);
    return true;
  }

  /** The optimizer step in one native call (native/src/in_place.cc); counted in callStats as 'SgdUpdate'. */
  sgdUpdateInPlace(u: InPlaceSgdUpdate): boolean {
    const addon = config.inPlaceUpdates ? loadAddon().addon : null;
    const params = u.params.map((t) => this.ownedF32(t));
    const grads = u.grads.map((t) => this.readF32(t));
    const accums = u.accums ? u.accums.map((t) => this.ownedF32(t)) : null;
    if (addon == null || !allSet(params) || !allSet(grads) || (accums && !allSet(accums))) {
      bump('SgdUpdate', false);
      return false;
    }
    this.restamp(u.params);
    addon.sgdUpdate(params, grads, accums, u.decays, {
      learningRate: u.learningRate,
      momentum: u.momentum,
      nesterov: u.nesterov,
    });
    bump('SgdUpdate', true);
    return true;
  }

  /** Batch norm's running statistics in one native call; counted in callStats as 'MovingAverage'. */
  movingAverageInPlace(targets: TensorInfo[], values: TensorInfo[], momentum: number): boolean {
    const addon = config.inPlaceUpdates ? loadAddon().addon : null;
    const ts = targets.map((t) => this.ownedF32(t));
    const vs = values.map((t) => this.readF32(t));
    if (addon == null || !allSet(ts) || !allSet(vs)) {
      bump('MovingAverage', false);
      return false;
    }
    this.restamp(targets);
    addon.movingAverage(ts, vs, momentum);
    bump('MovingAverage', true);
    return true;
  }

  /** The values of a tensor that may be written in place: float32, computed, referenced by it alone (not by a clone). */
  private ownedF32(t: TensorInfo): Float32Array | null {
    const e = this.rawGet(t.dataId);
    // (not a bf16 activation either: an update in place would leave its bits stale)
    if (t.dtype !== 'float32' || e == null || e.pending || e.bf16 || e.refCount !== 1) return null;
    return e.values instanceof Float32Array ? e.values : null;
  }

  private readF32(t: TensorInfo): Float32Array | null {
    if (t.dtype !== 'float32') return null;
    const v = this.data.get(t.dataId)?.values;
    return v instanceof Float32Array ? v : null;
  }

  override readSync(dataId: DataId): BackendValues {
    const v = super.readSync(dataId);
    return ArrayBuffer.isView(v) && isPooled(v.buffer) ? (v as Float32Array).slice() : v;
  }
}

const allSet = (xs: (Float32Array | null)[]): xs is Float32Array[] => xs.every((x) => x != null);
