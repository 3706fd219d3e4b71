/**
 * Light augmentation for small grey images, done on the uint8 source pixels while a batch is
 * assembled (before any resize): a random crop of the image padded with zeros by `padding`
 * pixels on each side (i.e. a shift of up to `padding` pixels), and a horizontal flip with
 * probability 1/2. Fashion-MNIST's classes do not change under either.
 */

export interface AugmentOptions {
  /** Largest shift in pixels, in each direction (0: none). */
  padding: number;
  /** Mirror left-right with probability 1/2. */
  flip: boolean;
}

export interface ImageTransform {
  dy: number;
  dx: number;
  flip: boolean;
}

/** Draws one image's transform from `rand` (uniform [0, 1)). */
export function drawTransform(rand: () => number, opts: AugmentOptions): ImageTransform {
  const p = opts.padding;
  const dy = p > 0 ? Math.floor(rand() * (2 * p + 1)) - p : 0;
  const dx = p > 0 ? Math.floor(rand() * (2 * p + 1)) - p : 0;
  const flip = opts.flip ? rand() < 0.5 : false;
  return { dy, dx, flip };
}

/**
 * Writes the transformed h x w image `src` (uint8) into `dst` at `offset`, scaled to [0, 1].
 * Output pixel (r, c) reads source pixel (r + dy, c' + dx), c' = w-1-c when flipped; pixels from
 * outside the source are 0 (the zero padding).
 */
export function transformInto(
  dst: Float32Array,
  offset: number,
  src: Uint8Array,
  h: number,
  w: number,
  t: ImageTransform,
): void {
  for (let r = 0; r < h; r++) {
    const sr = r + t.dy;
    const row = offset + r * w;
    if (sr < 0 || sr >= h) {
      dst.fill(0, row, row + w);
      continue;
    }
    for (let c = 0; c < w; c++) {
      const sc = (t.flip ? w - 1 - c : c) + t.dx;
      dst[row + c] = sc < 0 || sc >= w ? 0 : src[sr * w + sc] / 255;
    }
  }
}
