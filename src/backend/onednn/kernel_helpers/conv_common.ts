/** Maps tfjs's Conv2DInfo (pads from computeConv2DInfo) to the addon's convolution parameters. */
import { backend_util, Conv2DAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import { type ActivationArray, type ConvParams, type ConvPrecisionCode, type OneDnnAddon } from '../addon';
import { addon } from './native_kernel';
import type { Precision } from '../../precision';
import { OneDnnBackend } from '../backend';
import { chooseConvMethod, type ConvMethod, type ConvPass } from '../conv_method_choice';

export type { ConvMethod, ConvPass };

/** The attributes every convolution kernel passes on to computeConv2DInfo (gradients have no dilations). */
export type ConvAttrs = Pick<Conv2DAttrs, 'strides' | 'pad' | 'dataFormat' | 'dimRoundingMode'> &
  Partial<Pick<Conv2DAttrs, 'dilations'>>;

/** Attributes of the grouped-convolution kernels (src/ops/grouped_conv2d.ts). */
export interface GroupedConvAttrs {
  strides: number;
  pad: 'valid' | 'same' | number;
  groups: number;
}

/** tfjs's Conv2DInfo for an input and a filter shape: the one place the convolution kernels compute it. */
export function convInfo(
  inShape: readonly number[],
  filterShape: readonly number[],
  a: ConvAttrs,
): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    a.dilations ?? 1,
    a.pad,
    a.dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(a.dataFormat),
  );
}

/** What a convolution kernel adds to tfjs's Conv2DInfo. */
export interface ConvOptions {
  /** Fused relu (forward only). */
  relu?: boolean;
  groups?: number;
  /** bf16Stamp of the filter (forward and backward-data), 0 when unknown. */
  weightsStamp?: number;
  /** bf16Stamp of the input x (forward, backward-weights) and of the output gradient dy (backward passes). */
  srcStamp?: number;
  diffDstStamp?: number;
}

/**
 * Null when the configuration is outside the native path: NCHW data, filters whose input channels times
 * `groups` are not the input's channels (depthwise), or paddings that do not reproduce tfjs's output size
 * under oneDNN's floor division.
 */
export function convParams(ci: backend_util.Conv2DInfo, opts: ConvOptions = {}): ConvParams | null {
  const { relu = false, groups = 1, weightsStamp = 0, srcStamp = 0, diffDstStamp = 0 } = opts;
  if (ci.dataFormat !== 'channelsLast') return null;
  if (ci.filterShape[2] * groups !== ci.inChannels || ci.outChannels % groups !== 0) return null;
  const { top, left, bottom, right } = ci.padInfo;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return null;
  const okH =
    Math.floor((ci.inHeight + top + bottom - ci.effectiveFilterHeight) / ci.strideHeight) + 1 === ci.outHeight;
  const okW = Math.floor((ci.inWidth + left + right - ci.effectiveFilterWidth) / ci.strideWidth) + 1 === ci.outWidth;
  if (!okH || !okW || ci.outHeight <= 0 || ci.outWidth <= 0 || ci.batchSize <= 0) return null;
  return {
    batch: ci.batchSize,
    inHeight: ci.inHeight,
    inWidth: ci.inWidth,
    inChannels: ci.inChannels,
    outHeight: ci.outHeight,
    outWidth: ci.outWidth,
    outChannels: ci.outChannels,
    filterHeight: ci.filterHeight,
    filterWidth: ci.filterWidth,
    strideHeight: ci.strideHeight,
    strideWidth: ci.strideWidth,
    dilationHeight: ci.dilationHeight,
    dilationWidth: ci.dilationWidth,
    padTop: top,
    padLeft: left,
    padBottom: bottom,
    padRight: right,
    relu,
    groups,
    precision: PRECISION_CODE[precision],
    weightsStamp,
    srcStamp,
    diffDstStamp,
  };
}

/** native/src/bf16.h's ConvPrecision, value for value; test/native/conv_bf16.test.ts fails on a drift (emulated bf16 must round, fp32 must not). */
const PRECISION_CODE: Record<Precision, ConvPrecisionCode> = { fp32: 0, bf16: 1, 'bf16-emulated': 2 };
let precision: Precision = 'fp32';

/** The convolutions' precision (src/backend/precision.ts; set by tryGpu); returns the previous one. */
export function setConvPrecision(p: Precision): Precision {
  const prev = precision;
  precision = p;
  return prev;
}

export function convPrecision(): Precision {
  return precision;
}

/**
 * A tensor's stamp for the bf16 conversion caches (conv.cc keeps the bf16 copy of each filter, input and
 * output gradient under it, so every pass that reads one converts it once); 0 in fp32, which converts nothing.
 */
export function bf16Stamp(backend: MathBackendCPU, t: TensorInfo): number {
  return precision !== 'fp32' && backend instanceof OneDnnBackend ? backend.weightsStamp(t.dataId) : 0;
}

/**
 * nativeKernel's options for the convolution kernels: in bf16 a native failure is an error, not a float32
 * JS fallback (which would quietly train in fp32, thousands of times slower).
 */
export const convKernelOptions = { strict: () => precision !== 'fp32' };

/** The addon entry point of each pass and method (conv.cc, conv_gemm.cc, conv_winograd.cc). */
export const CONV_ENTRY_POINTS = {
  forward: { direct: 'conv2dForward', gemm: 'conv2dForwardGemm', winograd: 'conv2dForwardWinograd' },
  backwardData: {
    direct: 'conv2dBackwardData',
    gemm: 'conv2dBackwardDataGemm',
    winograd: 'conv2dBackwardDataWinograd',
  },
  backwardWeights: {
    direct: 'conv2dBackwardWeights',
    gemm: 'conv2dBackwardWeightsGemm',
    winograd: 'conv2dBackwardWeightsWinograd',
  },
} as const satisfies Record<ConvPass, Record<ConvMethod, keyof OneDnnAddon>>;

/**
 * The arrays as float32 for Winograd, which runs float32 only: bf16 activations exist only in the bf16
 * precisions, where direct and GEMM run (chooseConvMethod), so a bf16 array here is a bug, said plainly.
 */
function floatArrays(m: ConvMethod, ...arrays: ActivationArray[]): Float32Array[] {
  if (m === 'winograd' && arrays.some((a) => !(a instanceof Float32Array)))
    throw new Error(`onednn: the ${m} convolution takes float32 arrays, got a bf16 activation (direct or gemm)`);
  return arrays as Float32Array[];
}

/** y = act(conv(x, w) + bias), by the method chosen for its shape (conv_method_choice.ts) unless one is given. */
export function runConvForward(
  p: ConvParams,
  x: ActivationArray,
  w: Float32Array,
  bias: Float32Array | null,
  y: ActivationArray,
  method?: ConvMethod,
) {
  const run = (m: ConvMethod) => {
    const [xf, yf] = floatArrays(m, x, y);
    addon()[CONV_ENTRY_POINTS.forward[m]](xf, w, bias, yf, p);
  };
  if (method) run(method);
  else chooseConvMethod(p, 'forward', run);
}

/** dx = conv^T(dy, w), by the method chosen for its shape unless one is given. */
export function runConvBackwardData(
  p: ConvParams,
  dy: ActivationArray,
  w: Float32Array,
  dx: ActivationArray,
  method?: ConvMethod,
) {
  const run = (m: ConvMethod) => {
    const [dyf, dxf] = floatArrays(m, dy, dx);
    addon()[CONV_ENTRY_POINTS.backwardData[m]](dyf, w, dxf, p);
  };
  if (method) run(method);
  else chooseConvMethod(p, 'backwardData', run);
}

/** dw = corr(x, dy), by the method chosen for its shape unless one is given. */
export function runConvBackwardWeights(
  p: ConvParams,
  x: ActivationArray,
  dy: ActivationArray,
  dw: Float32Array,
  method?: ConvMethod,
) {
  const run = (m: ConvMethod) => {
    const [xf, dyf] = floatArrays(m, x, dy);
    addon()[CONV_ENTRY_POINTS.backwardWeights[m]](xf, dyf, dw, p);
  };
  if (method) run(method);
  else chooseConvMethod(p, 'backwardWeights', run);
}
