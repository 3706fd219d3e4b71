/**
 * Registers the native back end 'onednn': a MathBackendCPU subclass (tensors stay in JS typed arrays, so
 * every JS cpu kernel works on them unchanged), every 'cpu' kernel copied over, then the native overrides.
 * Kernels the addon does not handle (or inputs it does not handle: int32, odd broadcasting, NCHW, ...) fall
 * back to the JS cpu kernel. Does NOT select the back end; src/backend/select.ts does.
 */
import {
  getKernel,
  getKernelsForBackend,
  KernelConfig,
  registerBackend,
  registerKernel,
  unregisterKernel,
} from '@tensorflow/tfjs-core';

import { loadAddon } from './addon';
import { config } from './config';
import { OneDnnBackend } from './backend';
import { addConfig } from './kernels/Add';
import { avgPoolConfig } from './kernels/AvgPool';
import { avgPoolGradConfig } from './kernels/AvgPoolGrad';
import { batchMatMulConfig } from './kernels/BatchMatMul';
import { castConfig } from './kernels/Cast';
import { reshapeConfig } from './kernels/Reshape';
import { conv2DConfig } from './kernels/Conv2D';
import { conv2DBackpropFilterConfig } from './kernels/Conv2DBackpropFilter';
import { conv2DBackpropInputConfig } from './kernels/Conv2DBackpropInput';
import { fusedConv2DConfig } from './kernels/FusedConv2D';
import { fusedMatMulConfig } from './kernels/_FusedMatMul';
import { maxPoolConfig } from './kernels/MaxPool';
import { maxPoolGradConfig } from './kernels/MaxPoolGrad';
import { maximumConfig } from './kernels/Maximum';
import { minimumConfig } from './kernels/Minimum';
import { multiplyConfig } from './kernels/Multiply';
import { realDivConfig } from './kernels/RealDiv';
import { reluConfig } from './kernels/Relu';
import { resizeBilinearConfig } from './kernels/ResizeBilinear';
import { batchNormTrainConfig } from './kernels/ResnetBatchNormTrain';
import { batchNormTrainGradConfig } from './kernels/ResnetBatchNormTrainGrad';
import { squaredDifferenceConfig } from './kernels/SquaredDifference';
import { stepConfig } from './kernels/Step';
import { subConfig } from './kernels/Sub';
import { sumConfig } from './kernels/Sum';
import { negConfig } from './kernels/Neg';
import { squareConfig } from './kernels/Square';
import { sqrtConfig } from './kernels/Sqrt';
import { rsqrtConfig } from './kernels/Rsqrt';
import { expConfig } from './kernels/Exp';
import { logConfig } from './kernels/Log';
import { absConfig } from './kernels/Abs';
import { fusedBatchNormConfig } from './kernels/FusedBatchNorm';
import { reluGradConfig } from './kernels/ResnetReluGrad';
import { addReluConfig } from './kernels/ResnetAddRelu';
import { groupedConv2DConfig } from './kernels/ResnetGroupedConv2D';
import { groupedConv2DBackpropInputConfig } from './kernels/ResnetGroupedConv2DBackpropInput';
import { groupedConv2DBackpropFilterConfig } from './kernels/ResnetGroupedConv2DBackpropFilter';
import { registerReluGradient } from './relu_grad';

export { OneDnnBackend };
export const ONEDNN_BACKEND = 'onednn';
/** Above 'cpu' (1), below tfjs-node (which registers higher). Selection is explicit anyway. */
export const ONEDNN_PRIORITY = 3;

/** The native kernels, in registration order. */
export const nativeKernelConfigs: KernelConfig[] = [
  conv2DConfig,
  fusedConv2DConfig,
  conv2DBackpropInputConfig,
  conv2DBackpropFilterConfig,
  groupedConv2DConfig,
  groupedConv2DBackpropInputConfig,
  groupedConv2DBackpropFilterConfig,
  batchNormTrainConfig,
  batchNormTrainGradConfig,
  fusedBatchNormConfig,
  addReluConfig,
  addConfig,
  subConfig,
  multiplyConfig,
  realDivConfig,
  maximumConfig,
  minimumConfig,
  squaredDifferenceConfig,
  reluConfig,
  stepConfig,
  negConfig,
  squareConfig,
  sqrtConfig,
  rsqrtConfig,
  expConfig,
  logConfig,
  absConfig,
  sumConfig,
  maxPoolConfig,
  maxPoolGradConfig,
  avgPoolConfig,
  avgPoolGradConfig,
  batchMatMulConfig,
  fusedMatMulConfig,
  resizeBilinearConfig,
  reluGradConfig,
  castConfig,
  reshapeConfig,
];

let state: { ok: boolean; reason: string } | undefined;

/**
 * Idempotent. Returns ok=false (and registers nothing) when the addon is not built or does not load.
 * Kernels registered for 'cpu' after this call are not copied (the native BN kernels are registered here).
 */
export function registerOneDnnBackend(): { ok: boolean; reason: string } {
  if (state) return state;
  const { addon, reason } = loadAddon();
  if (addon == null) return (state = { ok: false, reason });
  try {
    addon.info();
  } catch (e) {
    return (state = { ok: false, reason: `native addon unusable: ${(e as Error).message}` });
  }
  registerBackend(ONEDNN_BACKEND, () => new OneDnnBackend(), ONEDNN_PRIORITY);
  for (const k of getKernelsForBackend('cpu')) {
    if (getKernel(k.kernelName, ONEDNN_BACKEND) == null) registerKernel({ ...k, backendName: ONEDNN_BACKEND });
  }
  for (const k of nativeKernelConfigs) {
    if (getKernel(k.kernelName, ONEDNN_BACKEND) != null) unregisterKernel(k.kernelName, ONEDNN_BACKEND);
    registerKernel(k);
  }
  // Relu's gradient through the fused kernel on this back end (unchanged maths elsewhere).
  if (config.fusedReluGrad) registerReluGradient();
  const info = addon.info();
  return (state = { ok: true, reason: `oneDNN ${info.onednn}, ${info.threads} threads` });
}
