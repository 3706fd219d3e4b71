import { backend_util } from '@tensorflow/tfjs-core';

import type { PoolParams } from '../addon';

/** Null for dilated or channels-first pooling. */
export function poolParams(ci: backend_util.Conv2DInfo): PoolParams | null {
  if (ci.dataFormat !== 'channelsLast' || ci.dilationHeight !== 1 || ci.dilationWidth !== 1) return null;
  if (ci.outHeight <= 0 || ci.outWidth <= 0 || ci.batchSize <= 0 || ci.inChannels <= 0) return null;
  return [ci.batchSize, ci.inHeight, ci.inWidth, ci.inChannels, ci.outHeight, ci.outWidth, ci.filterHeight,
    ci.filterWidth, ci.strideHeight, ci.strideWidth, ci.padInfo.top, ci.padInfo.left];
}
