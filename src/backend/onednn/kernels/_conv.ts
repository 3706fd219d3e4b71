/** Maps tfjs's Conv2DInfo (pads from computeConv2DInfo) to the addon's convolution parameters. */
import { backend_util } from '@tensorflow/tfjs-core';

import type { ConvParams } from '../addon';

/**
 * Null when the configuration is outside the native path: NCHW data, grouped/depthwise filters, or
 * paddings that do not reproduce tfjs's output size under oneDNN's floor division.
 */
export function convParams(ci: backend_util.Conv2DInfo, relu = false): ConvParams | null {
  if (ci.dataFormat !== 'channelsLast') return null;
  if (ci.filterShape[2] !== ci.inChannels) return null;
  const { top, left, bottom, right } = ci.padInfo;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return null;
  const okH = Math.floor((ci.inHeight + top + bottom - ci.effectiveFilterHeight) / ci.strideHeight) + 1 === ci.outHeight;
  const okW = Math.floor((ci.inWidth + left + right - ci.effectiveFilterWidth) / ci.strideWidth) + 1 === ci.outWidth;
  if (!okH || !okW || ci.outHeight <= 0 || ci.outWidth <= 0 || ci.batchSize <= 0) return null;
  return [ci.batchSize, ci.inHeight, ci.inWidth, ci.inChannels, ci.outHeight, ci.outWidth, ci.outChannels,
    ci.filterHeight, ci.filterWidth, ci.strideHeight, ci.strideWidth, ci.dilationHeight, ci.dilationWidth,
    top, left, bottom, right, relu ? 1 : 0];
}
