/**
 * The native back end's environment switches, read here and nowhere else (documented in README.md,
 * "Native back end switches"). Read once, when this module loads.
 */
import * as os from 'os';
import * as path from 'path';

import { findProjectRoot } from '../../project_root';

export type ConvAlgorithm = 'auto' | 'direct' | 'gemm' | 'winograd';

export interface OneDnnConfig {
  /** RESNET_ONEDNN_ADDON: path of the compiled addon. */
  addonPath: string;
  /** RESNET_ONEDNN_CONV: convolution algorithm (auto picks per shape). */
  convAlgorithm: ConvAlgorithm;
  /** RESNET_ONEDNN_CONV_MEASURE=0: methods by the hand-written rules instead of measured per shape. */
  convMeasure: boolean;
  /**
   * RESNET_ONEDNN_CONV_CACHE: folder of the measured choices (default $XDG_CACHE_HOME or ~/.cache, then
   * resnet-ts/conv-methods); `off`: keep them in memory only.
   */
  convMethodCache: string | null;
  /** RESNET_ONEDNN_LAZY=0: input gradients of few-channel convolutions are computed eagerly. */
  lazyInputGradient: boolean;
  /** RESNET_ONEDNN_POOL=0: kernel outputs get fresh buffers (no recycling). */
  bufferPool: boolean;
  /** RESNET_ONEDNN_POOL_MB: upper bound on idle pooled bytes, in MiB. */
  bufferPoolLimitMb: number;
  /** RESNET_ONEDNN_FUSED_RELU_GRAD=0: Relu's gradient is tfjs's mul(dy, step(x)). */
  fusedReluGrad: boolean;
  /**
   * RESNET_ONEDNN_IN_PLACE=0: the optimizer step and batch norm's running statistics run as tfjs's
   * kernels (new tensors per variable) instead of native in-place updates.
   */
  inPlaceUpdates: boolean;
}

function convAlgorithm(v: string | undefined): ConvAlgorithm {
  const s = (v ?? 'auto').toLowerCase();
  if (s === 'auto' || s === 'direct' || s === 'gemm' || s === 'winograd') return s;
  console.warn(`RESNET_ONEDNN_CONV=${v} ignored: use auto, direct, gemm or winograd`);
  return 'auto';
}

function megabytes(v: string | undefined, dflt: number): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (Number.isFinite(n) && n >= 0) return n;
  console.warn(`RESNET_ONEDNN_POOL_MB=${v} ignored: expected a number of MiB >= 0`);
  return dflt;
}

function convMethodCache(env: NodeJS.ProcessEnv): string | null {
  const v = env.RESNET_ONEDNN_CONV_CACHE;
  if (v === 'off') return null;
  if (v) return path.resolve(v);
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'resnet-ts', 'conv-methods');
}

/** The switches as `env` sets them (exported for tests). */
export function readConfig(env: NodeJS.ProcessEnv = process.env): OneDnnConfig {
  return {
    addonPath:
      env.RESNET_ONEDNN_ADDON ||
      path.join(findProjectRoot(__dirname), 'native', 'build', 'Release', 'resnet_onednn.node'),
    convAlgorithm: convAlgorithm(env.RESNET_ONEDNN_CONV),
    convMeasure: env.RESNET_ONEDNN_CONV_MEASURE !== '0',
    convMethodCache: convMethodCache(env),
    lazyInputGradient: env.RESNET_ONEDNN_LAZY !== '0',
    bufferPool: env.RESNET_ONEDNN_POOL !== '0',
    bufferPoolLimitMb: megabytes(env.RESNET_ONEDNN_POOL_MB, 2048),
    fusedReluGrad: env.RESNET_ONEDNN_FUSED_RELU_GRAD !== '0',
    inPlaceUpdates: env.RESNET_ONEDNN_IN_PLACE !== '0',
  };
}

export const config: Readonly<OneDnnConfig> = Object.freeze(readConfig());
