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
 * It also stamps tensors for the bf16 convolutions, which keep a converted copy of each filter array: a
 * stamp names a tensor's values, and the in-place updates (which change values under the same array) give
 * the tensors they write a new one.
 */
import { BackendValues, DataType, TensorInfo } from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import type { InPlaceSgdUpdate, InPlaceUpdatesBackend } from '../in_place_updates';
import { loadAddon } from './addon';
import { config } from './config';
import { isPooled, release, retain } from './buffer_pool';
import { bump } from './kernel_helpers/native_kernel';

type DataId = object;
type Values = Parameters<MathBackendCPU['write']>[0];

interface Pending {
  compute: () => Float32Array;
  /** Input arrays the computation reads: kept alive (and out of the pool) until it runs or is dropped. */
  inputs: Float32Array[];
}

interface Entry {
  values: BackendValues;
  dtype: DataType;
  refCount: number;
  complexTensorInfos?: { real: { dataId: DataId }; imag: { dataId: DataId } };
  pending?: Pending;
}

/** Stamps are unique across back end instances: the native filter cache is one per process. */
let nextStamp = 1;

export class OneDnnBackend extends MathBackendCPU implements InPlaceUpdatesBackend {
  private readonly rawGet: (id: DataId) => Entry | undefined;
  private readonly stamps = new WeakMap<DataId, number>();
  /** Lazy outputs materialised / dropped unread (tests, profiling). */
  readonly lazyStats = { materialised: 0, dropped: 0 };

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
    this.lazyStats.materialised++;
  }

  /** A float32 tensor computed on first access of its values. */
  makeLazyTensorInfo(shape: number[], compute: () => Float32Array, inputs: Float32Array[]): TensorInfo {
    const dataId = super.write(null as unknown as Values, shape, 'float32');
    const e = this.rawGet(dataId)!;
    for (const v of inputs) retain(v);
    e.pending = { compute, inputs };
    return { dataId, shape, dtype: 'float32' as const };
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
      this.lazyStats.dropped++;
    } else {
      release(e.values);
    }
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
    if (t.dtype !== 'float32' || e == null || e.pending || e.refCount !== 1) return null;
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
