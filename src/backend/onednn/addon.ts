/**
 * Loads the native oneDNN addon (native/build/Release/resnet_onednn.node) and describes its interface.
 * Everything here works on float32 typed arrays that the caller owns; outputs are written in place.
 */
import * as fs from 'fs';

import { config } from './config';

/**
 * One 2-D convolution, NHWC data and HWIO filters (names as in tfjs's Conv2DInfo). Read by name in
 * native/src/conv_params.cc (struct ConvParams); a missing field is a TypeError naming it.
 */
export interface ConvParams {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  /** 1 = no dilation */
  dilationHeight: number;
  dilationWidth: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
  /** Fused relu after the (biased) forward convolution; ignored by the backward passes. */
  relu: boolean;
  /** Grouped convolution (1: none): filters are [kh, kw, inChannels / groups, outChannels]. */
  groups: number;
  /** How the inputs are treated: CONV_PRECISION_CODE of the back end's precision (float32 arrays in and out). */
  precision: ConvPrecisionCode;
  /**
   * Names the filter's current values for the bf16 precisions, which keep the converted filter per array
   * under it (0: unknown, convert on every call). A new stamp whenever the values change.
   */
  weightsStamp: number;
  /** The same for the input x and the output gradient dy, whose bf16 copies the passes share (0 or absent: none). */
  srcStamp?: number;
  diffDstStamp?: number;
}

/** native/src/bf16.h ConvPrecision: 0 float32, 1 bf16 (oneDNN bf16 primitives), 2 bf16 rounding on float32 kernels. */
export type ConvPrecisionCode = 0 | 1 | 2;
/** One 2-D pooling window geometry, NHWC; read by name in native/src/pooling.cc. */
export interface PoolParams {
  batch: number;
  inHeight: number;
  inWidth: number;
  channels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}
/** a [batchA, m, k] (or [batchA, k, m] transposed) times b [batchB, k, n] (or [batchB, n, k]); read by name in matmul.cc. */
export interface MatMulParams {
  batchA: number;
  batchB: number;
  m: number;
  k: number;
  n: number;
  transposeA: boolean;
  transposeB: boolean;
  relu: boolean;
}

/** Bilinear resize of NHWC images (tfjs's ResizeBilinear attributes); read by name in resize.cc. */
export interface ResizeParams {
  batch: number;
  inHeight: number;
  inWidth: number;
  channels: number;
  outHeight: number;
  outWidth: number;
  alignCorners: boolean;
  halfPixelCenters: boolean;
}

/**
 * Element-wise op codes: native/src/eltwise.cc's `Bin` and `Un` enums, value for value. Tied by
 * behaviour: test/native/elementwise.test.ts runs every code against tfjs's own kernel for that op,
 * so a code that drifts on either side computes the wrong op and fails there.
 */
export const enum BinaryOp {
  Add = 0,
  Sub = 1,
  Mul = 2,
  Div = 3,
  Max = 4,
  Min = 5,
  SquaredDifference = 6,
}
export const enum UnaryOp {
  Relu = 0,
  Step = 1,
  Neg = 2,
  Square = 3,
  Sqrt = 4,
  Rsqrt = 5,
  Exp = 6,
  Log = 7,
  Abs = 8,
}

/**
 * An activation as the native kernels take it: float32 values, or bf16 bits in a Uint16Array (the bf16
 * precisions store convolution, batch-norm and residual outputs so between layers; see backend.ts).
 */
export type ActivationArray = Float32Array | Uint16Array;

export interface OneDnnAddon {
  info(): { onednn: string; threads: number; isa: number };
  /** y = float32(bf16(x)), rounding to nearest even (the rounding of every bf16 path). */
  bf16Round(x: Float32Array, y: Float32Array): void;
  /** Whether oneDNN creates a bf16 convolution here: its implementation name, or oneDNN's error. */
  bf16Support(): { conv: boolean; impl: string };
  /** y = float32(b): bf16 bits widened (exact); b and y of one length. */
  bf16Widen(b: Uint16Array, y: Float32Array): void;
  /**
   * The direct convolution passes. Activations may be bf16: native bf16 reads them as they are and writes a
   * bf16 y / dx straight from the primitive; the float32 primitives widen bf16 inputs and round into bf16 outputs.
   */
  conv2dForward(
    x: ActivationArray,
    w: Float32Array,
    bias: Float32Array | null,
    y: ActivationArray,
    p: ConvParams,
  ): void;
  conv2dBackwardData(dy: ActivationArray, w: Float32Array, dx: ActivationArray, p: ConvParams): void;
  conv2dBackwardWeights(x: ActivationArray, dy: ActivationArray, dw: Float32Array, p: ConvParams): void;
  /** Filters converted for the bf16 precisions so far (each (array, stamp) once, shared by the passes that read it). */
  convFilterConversions(): number;
  /** Inputs and output gradients converted for the bf16 precisions so far (each (array, stamp) once). */
  convActivationConversions(): number;
  /** im2col + GEMM (native/src/conv_gemm.cc): float32, or native bf16 with bf16 or float32 activations. */
  conv2dForwardGemm(
    x: ActivationArray,
    w: Float32Array,
    bias: Float32Array | null,
    y: ActivationArray,
    p: ConvParams,
  ): void;
  conv2dBackwardDataGemm(dy: ActivationArray, w: Float32Array, dx: ActivationArray, p: ConvParams): void;
  conv2dBackwardWeightsGemm(x: ActivationArray, dy: ActivationArray, dw: Float32Array, p: ConvParams): void;
  /** 3x3 stride-1 float32 convolutions by Winograd F(2x2, 3x3) (native/src/conv_winograd.cc). */
  conv2dForwardWinograd(
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    y: Float32Array,
    p: ConvParams,
  ): void;
  conv2dBackwardDataWinograd(dy: Float32Array, w: Float32Array, dx: Float32Array, p: ConvParams): void;
  conv2dBackwardWeightsWinograd(x: Float32Array, dy: Float32Array, dw: Float32Array, p: ConvParams): void;
  batchNormTrain(
    x: ActivationArray,
    scale: Float32Array,
    offset: Float32Array,
    y: ActivationArray,
    mean: Float32Array,
    variance: Float32Array,
    channels: number,
    eps: number,
    /** Fuse a ReLU: y = max(BN(x), 0). */
    relu?: boolean,
  ): void;
  batchNormTrainGrad(
    dy: ActivationArray,
    x: ActivationArray,
    scale: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    dx: ActivationArray,
    dScale: Float32Array,
    dOffset: Float32Array,
    channels: number,
    eps: number,
    /** The output of a forward that fused a ReLU: dy counts only where y > 0. */
    y?: ActivationArray | null,
  ): void;
  channelAffine(
    x: ActivationArray,
    a: Float32Array,
    b: Float32Array,
    y: ActivationArray,
    channels: number,
    relu?: boolean,
  ): void;
  maxPool(x: ActivationArray, y: ActivationArray, p: PoolParams): void;
  maxPoolGrad(dy: Float32Array, x: ActivationArray, dx: Float32Array, p: PoolParams): void;
  avgPool(x: ActivationArray, y: Float32Array, p: PoolParams): void;
  avgPoolGrad(dy: Float32Array, dx: Float32Array, p: PoolParams): void;
  /**
   * out[i] = a[i] op s[(i / inner) % s.length] (or s op b[i]): one operand has out's length, the other, s,
   * repeats; inner (default 1) is broadcastInner's count. The caller checks shapes.
   */
  binary(op: BinaryOp, a: ActivationArray, b: ActivationArray, out: Float32Array, inner?: number): void;
  unary(op: UnaryOp, x: ActivationArray, out: ActivationArray, alpha?: number): void;
  reluGrad(dy: ActivationArray, x: ActivationArray, out: ActivationArray): void;
  /** out = max(a + b, 0), operands of out's length. */
  addRelu(a: ActivationArray, b: ActivationArray, out: ActivationArray): void;
  sumLeading(x: ActivationArray, out: Float32Array, inner: number): void;
  sumTrailing(x: Float32Array, out: Float32Array, inner: number): void;
  matMul(a: Float32Array, b: Float32Array, bias: Float32Array | null, out: Float32Array, p: MatMulParams): void;
  resizeBilinear(x: Float32Array, y: Float32Array, p: ResizeParams): void;
  /**
   * The optimizer step in place over many variables (native/src/in_place.cc): params (and accums, null for
   * plain SGD) are updated; decays[k] is variable k's weight decay (0: none).
   */
  sgdUpdate(
    params: Float32Array[],
    grads: Float32Array[],
    accums: Float32Array[] | null,
    decays: number[],
    hyper: { learningRate: number; momentum: number; nesterov: boolean },
  ): void;
  /** targets[k] = targets[k] * momentum + values[k] * (1 - momentum), in place (native/src/in_place.cc). */
  movingAverage(targets: Float32Array[], values: Float32Array[], momentum: number): void;
}

export interface AddonLoad {
  addon: OneDnnAddon | null;
  /** Why the addon is absent ('' when loaded). */
  reason: string;
  path: string;
}

export const ADDON_PATH = config.addonPath;

let cached: AddonLoad | undefined;

/**
 * libgomp's spin count before an idle worker thread sleeps, unless the user chose a policy.
 * libgomp's default (300000, > 3 ms here) starves the JS thread when other processes want the cores; too
 * short a spin (10000, 0.1-0.3 ms) puts the worker to sleep between the kernels of a step, and the next
 * oneDNN call waits ~45 us for it. 100000 (~1-3 ms) measured best both idle and with two busy processes on
 * the two cores (docs/measurements.md, "The `fast` float32 step against PyTorch's").
 */
export const DEFAULT_GOMP_SPINCOUNT = '100000';

/** Sets GOMP_SPINCOUNT to the default when neither it nor OMP_WAIT_POLICY is set. */
export function boundOpenMpSpinning(env: Record<string, string | undefined>): void {
  if (env.GOMP_SPINCOUNT === undefined && env.OMP_WAIT_POLICY === undefined)
    env.GOMP_SPINCOUNT = DEFAULT_GOMP_SPINCOUNT;
}

/** Loads the addon once; never throws. */
export function loadAddon(): AddonLoad {
  if (cached) return cached;
  if (!fs.existsSync(ADDON_PATH)) {
    cached = {
      addon: null,
      path: ADDON_PATH,
      reason: `native addon not built (${ADDON_PATH} missing): apt-get install libdnnl-dev g++ && npm run build:native`,
    };
    return cached;
  }
  boundOpenMpSpinning(process.env); // read by libgomp when the addon loads it
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a native addon loads only through require
    const addon = require(ADDON_PATH) as OneDnnAddon;
    cached = { addon, reason: '', path: ADDON_PATH };
  } catch (e) {
    cached = { addon: null, path: ADDON_PATH, reason: `native addon failed to load: ${(e as Error).message}` };
  }
  return cached;
}

export { allocBf16, allocF32 } from './buffer_pool';
