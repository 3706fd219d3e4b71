/**
 * Grouped 2-D convolution (ResNeXt's "cardinality"; AlexNet's two-GPU split): the input channels and
 * the filters are cut into `groups` equal parts and part g of the output sees only part g of the
 * input. NHWC data; filters [kh, kw, inChannels / groups, outChannels], output channel o belongs to
 * group floor(o / (outChannels / groups)). tfjs's conv2d has no groups, so this is an op of its own:
 *
 *   ResnetGroupedConv2D               inputs {x, filter, bias?}, attrs {strides, pad, groups} -> y
 *   ResnetGroupedConv2DBackpropInput  inputs {dy, filter}, attrs {inputShape, strides, pad, groups} -> dx
 *   ResnetGroupedConv2DBackpropFilter inputs {x, dy}, attrs {filterShape, strides, pad, groups} -> dFilter
 *
 * The native back end runs them as oneDNN grouped convolutions; tfjs's 'cpu' back end gets the plain
 * loops below (correct and slow). On a back end with neither, the op is the split/concat composition
 * (one tfjs conv2d per group), which is also the tests' reference.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

export const GROUPED_CONV2D = 'ResnetGroupedConv2D';
export const GROUPED_CONV2D_BACKPROP_INPUT = 'ResnetGroupedConv2DBackpropInput';
export const GROUPED_CONV2D_BACKPROP_FILTER = 'ResnetGroupedConv2DBackpropFilter';

export type ConvPad = 'valid' | 'same' | number;

export interface GroupedConv2dOptions {
  strides?: number;
  pad?: ConvPad;
  groups: number;
  bias?: tf.Tensor1D;
}

function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) != null;
}

function check(x: tf.Tensor, filter: tf.Tensor, groups: number): void {
  const [kh, kw, icg, oc] = filter.shape;
  const problem =
    x.rank !== 4
      ? 'x must be NHWC (rank 4)'
      : filter.rank !== 4
        ? 'the filter must be [kh, kw, inChannels / groups, outChannels]'
        : !Number.isInteger(groups) || groups < 1
          ? 'groups must be a positive integer'
          : x.shape[3] !== icg * groups
            ? `x has ${x.shape[3]} channels, the filter expects ${icg} per group x ${groups} groups`
            : oc % groups !== 0
              ? `${oc} output channels do not split into ${groups} groups`
              : null;
  if (problem) {
    throw new Error(
      `groupedConv2d: ${problem} (x ${JSON.stringify(x.shape)}, filter ${JSON.stringify([kh, kw, icg, oc])}, ` +
        `groups ${groups})`,
    );
  }
}

/**
 * The reference: one tfjs conv2d per group on that group's channels, concatenated. Differentiable by
 * tfjs's own gradients; what back ends without the kernels run.
 */
export function groupedConv2dBySplit(x: tf.Tensor4D, filter: tf.Tensor4D, opts: GroupedConv2dOptions): tf.Tensor4D {
  const { strides = 1, pad = 'valid', groups, bias } = opts;
  check(x, filter, groups);
  return tf.tidy(() => {
    const xs = groups === 1 ? [x] : tf.split(x, groups, 3);
    const ws = groups === 1 ? [filter] : tf.split(filter, groups, 3);
    const ys = xs.map((xg, g) => tf.conv2d(xg as tf.Tensor4D, ws[g] as tf.Tensor4D, strides, pad));
    const y = ys.length === 1 ? ys[0] : tf.concat4d(ys, 3);
    return (bias ? tf.add(y, bias) : y) as tf.Tensor4D;
  });
}

/** Grouped convolution, differentiable in x, filter and bias. groups = 1 is tfjs's fused conv2d. */
export function groupedConv2d(x: tf.Tensor4D, filter: tf.Tensor4D, opts: GroupedConv2dOptions): tf.Tensor4D {
  const { strides = 1, pad = 'valid', groups, bias } = opts;
  check(x, filter, groups);
  if (groups === 1) return tf.fused.conv2d({ x, filter, strides, pad, bias });
  if (!hasKernel(GROUPED_CONV2D)) return groupedConv2dBySplit(x, filter, opts);
  const attrs = { strides, pad, groups };
  const run = (xIn: tf.Tensor4D, w: tf.Tensor4D, save: tf.GradSaveFunc, b?: tf.Tensor1D) => {
    const y = tf
      .engine()
      .runKernel(GROUPED_CONV2D, { x: xIn, filter: w, ...(b ? { bias: b } : {}) }, attrs) as tf.Tensor4D;
    save([xIn, w]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor4D, [sx, sw]: tf.Tensor[]) => {
        const dx = tf
          .engine()
          .runKernel(
            GROUPED_CONV2D_BACKPROP_INPUT,
            { dy, filter: sw },
            { ...attrs, inputShape: sx.shape },
          ) as tf.Tensor;
        const dw = tf
          .engine()
          .runKernel(GROUPED_CONV2D_BACKPROP_FILTER, { x: sx, dy }, { ...attrs, filterShape: sw.shape }) as tf.Tensor;
        return b ? [dx, dw, tf.sum(dy, [0, 1, 2])] : [dx, dw];
      },
    };
  };
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [a, w, b] = args.slice(0, -1) as tf.Tensor[];
    return run(a as tf.Tensor4D, w as tf.Tensor4D, save, b as tf.Tensor1D | undefined);
  }) as (...inputs: tf.Tensor[]) => tf.Tensor4D;
  return bias ? op(x, filter, bias) : op(x, filter);
}

// ---------------------------------------------------------------------------------------------
// Plain JS kernels for tfjs's 'cpu' back end (and the native back end's fallback): one loop nest, three uses.

type Attrs = { strides: number; pad: ConvPad; groups: number };

/** tfjs's convolution geometry for a grouped filter (computeConv2DInfo does not tie in- to filter channels). */
export function groupedConvInfo(xShape: number[], filterShape: number[], a: Attrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    1,
    a.pad,
  );
}

/**
 * Visits every (x element, filter element, output element) triple of the convolution:
 * f(xIndex, wIndex, yIndex). Output channel o of group g reads input channels g*icg .. g*icg + icg - 1.
 */
function forEachTap(ci: tf.backend_util.Conv2DInfo, groups: number, f: (xi: number, wi: number, yi: number) => void) {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = ci;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = ci;
  const icg = inChannels / groups,
    ocg = outChannels / groups;
  const { top, left } = ci.padInfo;
  for (let n = 0; n < batchSize; n++)
    for (let oy = 0; oy < outHeight; oy++)
      for (let ox = 0; ox < outWidth; ox++)
        for (let ky = 0; ky < filterHeight; ky++) {
          const iy = oy * strideHeight - top + ky;
          if (iy < 0 || iy >= inHeight) continue;
          for (let kx = 0; kx < filterWidth; kx++) {
            const ix = ox * strideWidth - left + kx;
            if (ix < 0 || ix >= inWidth) continue;
            const xRow = ((n * inHeight + iy) * inWidth + ix) * inChannels;
            const yRow = ((n * outHeight + oy) * outWidth + ox) * outChannels;
            const wTap = (ky * filterWidth + kx) * icg * outChannels;
            for (let o = 0; o < outChannels; o++) {
              const c0 = Math.floor(o / ocg) * icg;
              for (let i = 0; i < icg; i++) f(xRow + c0 + i, wTap + i * outChannels + o, yRow + o);
            }
          }
        }
}

function values(cpu: MathBackendCPU, t: tf.TensorInfo): Float32Array {
  return cpu.data.get(t.dataId).values as Float32Array;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function forwardCpu({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const cpu = backend as MathBackendCPU;
  const { x, filter, bias } = inputs as Record<string, tf.TensorInfo>;
  const a = attrs as unknown as Attrs;
  const ci = groupedConvInfo(x.shape, filter.shape, a);
  const xv = values(cpu, x),
    wv = values(cpu, filter);
  const y = new Float32Array(tf.util.sizeFromShape(ci.outShape));
  forEachTap(ci, a.groups, (xi, wi, yi) => (y[yi] += xv[xi] * wv[wi]));
  if (bias) {
    const bv = values(cpu, bias);
    for (let i = 0; i < y.length; i++) y[i] += bv[i % ci.outChannels];
  }
  return cpu.makeTensorInfo(ci.outShape, 'float32', y);
}

function backpropInputCpu({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const cpu = backend as MathBackendCPU;
  const { dy, filter } = inputs as Record<string, tf.TensorInfo>;
  const a = attrs as unknown as Attrs & { inputShape: number[] };
  const ci = groupedConvInfo(a.inputShape, filter.shape, a);
  const gv = values(cpu, dy),
    wv = values(cpu, filter);
  const dx = new Float32Array(tf.util.sizeFromShape(a.inputShape));
  forEachTap(ci, a.groups, (xi, wi, yi) => (dx[xi] += gv[yi] * wv[wi]));
  return cpu.makeTensorInfo(a.inputShape, 'float32', dx);
}

function backpropFilterCpu({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const cpu = backend as MathBackendCPU;
  const { x, dy } = inputs as Record<string, tf.TensorInfo>;
  const a = attrs as unknown as Attrs & { filterShape: number[] };
  const ci = groupedConvInfo(x.shape, a.filterShape, a);
  const xv = values(cpu, x),
    gv = values(cpu, dy);
  const dw = new Float32Array(tf.util.sizeFromShape(a.filterShape));
  forEachTap(ci, a.groups, (xi, wi, yi) => (dw[wi] += xv[xi] * gv[yi]));
  return cpu.makeTensorInfo(a.filterShape, 'float32', dw);
}

/** Registers the JS kernels for the 'cpu' back end (idempotent). */
export function registerGroupedConvCpuKernels(): void {
  const kernels: [string, (args: KernelArgs) => tf.TensorInfo][] = [
    [GROUPED_CONV2D, forwardCpu],
    [GROUPED_CONV2D_BACKPROP_INPUT, backpropInputCpu],
    [GROUPED_CONV2D_BACKPROP_FILTER, backpropFilterCpu],
  ];
  for (const [kernelName, f] of kernels) {
    if (tf.getKernel(kernelName, 'cpu') == null) {
      tf.registerKernel({ kernelName, backendName: 'cpu', kernelFunc: f as unknown as tf.KernelFunc });
    }
  }
}

registerGroupedConvCpuKernels();
