/** Maps tfjs's Conv2DInfo (pads from computeConv2DInfo) to the addon's convolution parameters. */
import { backend_util, Conv2DAttrs, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import { loadAddon, type ConvParams, type ConvPrecisionCode, type OneDnnAddon } from '../addon';
import { addon } from './native_kernel';
import { ConvAlgorithm, config } from '../config';
import type { Precision } from '../../precision';
import { OneDnnBackend } from '../backend';

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
  /** OneDnnBackend.weightsStamp of the filter (forward and backward-data), 0 when unknown. */
  weightsStamp?: number;
}

/**
 * Null when the configuration is outside the native path: NCHW data, filters whose input channels times
 * `groups` are not the input's channels (depthwise), or paddings that do not reproduce tfjs's output size
 * under oneDNN's floor division.
 */
export function convParams(ci: backend_util.Conv2DInfo, opts: ConvOptions = {}): ConvParams | null {
  const { relu = false, groups = 1, weightsStamp = 0 } = opts;
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

/** The filter's stamp for the bf16 filter cache (0 in fp32, which has none). */
export function filterStamp(backend: MathBackendCPU, filter: TensorInfo): number {
  return precision !== 'fp32' && backend instanceof OneDnnBackend ? backend.weightsStamp(filter.dataId) : 0;
}

/**
 * nativeKernel's options for the convolution kernels: in bf16 a native failure is an error, not a float32
 * JS fallback (which would quietly train in fp32, thousands of times slower).
 */
export const convKernelOptions = { strict: () => precision !== 'fp32' };

export type ConvPass = 'forward' | 'backwardData' | 'backwardWeights';

export type { ConvAlgorithm };
let mode: ConvAlgorithm = config.convAlgorithm;

/** Forces an algorithm (tests, benchmarks); returns the previous setting. */
export function setConvAlgorithm(m: ConvAlgorithm): ConvAlgorithm {
  const prev = mode;
  mode = m;
  return prev;
}

/** oneDNN's dnnl_cpu_isa_avx512_core bits (dnnl_types.h), set in every AVX-512 ISA it reports from Skylake on. */
const AVX512_CORE = 0x27;
let effectiveIsa: number | undefined;

/** oneDNN's effective ISA (`get_effective_cpu_isa`), read from the addon once; 0 when it is absent. */
export function cpuIsa(): number {
  return (effectiveIsa ??= loadAddon().addon?.info().isa ?? 0);
}

export function isAvx512(isa: number): boolean {
  return (isa & AVX512_CORE) === AVX512_CORE;
}

/** How a convolution pass is computed: oneDNN's direct kernels, im2col + GEMM, or Winograd F(2x2, 3x3). */
export type ConvMethod = 'direct' | 'gemm' | 'winograd';

/** Winograd F(2x2, 3x3) runs float32, ungrouped, undilated 3x3 stride-1 convolutions (conv_winograd.cc). */
export function winogradApplies(p: ConvParams): boolean {
  return (
    p.groups === 1 &&
    p.precision === 0 &&
    p.filterHeight === 3 &&
    p.filterWidth === 3 &&
    p.strideHeight === 1 &&
    p.strideWidth === 1 &&
    p.dilationHeight === 1 &&
    p.dilationWidth === 1
  );
}

/**
 * The method for one pass of one convolution. Which one wins depends on the ISA oneDNN runs (`npm run
 * bench:conv` measures every shape and pass of a recipe's step; docs/measurements.md has the tables):
 * - both: tiny output maps (the 3x3 maps of the seed's last stage, 4x4 of `fast`) go to GEMM (AVX-512,
 *   one thread: 39 vs 20 ms forward; AVX2, two threads: 131 vs 93 GFLOP/s).
 * - AVX-512: elsewhere direct (brgconv / jit) wins, but backward data with a single input channel (the 7x7
 *   stem) runs at 7 GFLOP/s direct and 2.4x faster as GEMM + col2im. (Winograd is not measured there.)
 * - AVX2: Winograd for 3x3 stride-1 layers of >= 64 channels in and out (>= 32 for filter gradients) and
 *   >= 4x4 maps: 1.1-2.2x faster than the better of the other two (2.25x fewer multiplications, and the
 *   filter gradient's GEMMs reduce over tiles instead of pixels). Otherwise GEMM once the GEMM is wide
 *   and deep (>= 128 output channels, >= 128 = kh*kw*ic reduction): 6x6 and 3x3 maps of 256-512 channels
 *   by 1.2-2.3x, the 11x11 1x1/2 shortcut by 2.8x, and filter gradients of reduction >= 576 (level or up
 *   to 20% faster); direct for the rest, the early narrow layers, where GEMM is up to 3x slower.
 * RESNET_ONEDNN_CONV=direct|gemm|winograd forces one where it can run (direct elsewhere). bf16 is direct.
 */
export function pickConvMethod(p: ConvParams, pass: ConvPass, isa = cpuIsa()): ConvMethod {
  if (p.groups !== 1 || p.precision !== 0) return 'direct'; // GEMM and Winograd are float32 without groups
  if (mode === 'direct') return 'direct';
  if (mode === 'gemm') return 'gemm';
  if (mode === 'winograd') return winogradApplies(p) ? 'winograd' : 'direct';
  const map = p.outHeight * p.outWidth;
  if (isAvx512(isa)) return map <= 16 || (pass === 'backwardData' && p.inChannels <= 4) ? 'gemm' : 'direct';
  const narrowest = Math.min(p.inChannels, p.outChannels);
  if (winogradApplies(p) && map >= 16 && narrowest >= (pass === 'backwardWeights' ? 32 : 64)) return 'winograd';
  if (map <= 16) return 'gemm';
  const reduction = p.filterHeight * p.filterWidth * p.inChannels;
  const gemm = (p.outChannels >= 128 && reduction >= 128) || (pass === 'backwardWeights' && reduction >= 576);
  return gemm ? 'gemm' : 'direct';
}

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

/** y = act(conv(x, w) + bias), by the method picked for its shape unless one is given. */
export function runConvForward(
  p: ConvParams,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  y: Float32Array,
  method = pickConvMethod(p, 'forward'),
) {
  addon()[CONV_ENTRY_POINTS.forward[method]](x, w, bias, y, p);
}

/** dx = conv^T(dy, w), by the method picked for its shape unless one is given. */
export function runConvBackwardData(
  p: ConvParams,
  dy: Float32Array,
  w: Float32Array,
  dx: Float32Array,
  method = pickConvMethod(p, 'backwardData'),
) {
  addon()[CONV_ENTRY_POINTS.backwardData[method]](dy, w, dx, p);
}

/** dw = corr(x, dy), by the method picked for its shape unless one is given. */
export function runConvBackwardWeights(
  p: ConvParams,
  x: Float32Array,
  dy: Float32Array,
  dw: Float32Array,
  method = pickConvMethod(p, 'backwardWeights'),
) {
  addon()[CONV_ENTRY_POINTS.backwardWeights[method]](x, dy, dw, p);
}
