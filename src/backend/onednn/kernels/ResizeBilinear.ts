import { ResizeBilinear, ResizeBilinearAttrs } from '@tensorflow/tfjs-core';

import { addon, allocF32, f32, nativeKernel, output } from '../kernel_helpers/native_kernel';

/** Same arithmetic as tfjs cpu (double source coordinates), alignCorners / halfPixelCenters. */
export const resizeBilinearConfig = nativeKernel(ResizeBilinear, ({ inputs, backend, attrs }) => {
  const { images } = inputs;
  const { alignCorners, halfPixelCenters, size } = attrs as unknown as ResizeBilinearAttrs;
  const xv = f32(backend, images);
  if (!xv || images.shape.length !== 4) return null;
  const [n, h, w, c] = images.shape;
  const [nh, nw] = size;
  if (n * h * w * c === 0 || nh * nw === 0) return null;
  const y = allocF32(n * nh * nw * c);
  addon().resizeBilinear(xv, y, {
    batch: n,
    inHeight: h,
    inWidth: w,
    channels: c,
    outHeight: nh,
    outWidth: nw,
    alignCorners: !!alignCorners,
    halfPixelCenters: !!halfPixelCenters,
  });
  return output(backend, [n, nh, nw, c], y);
});
