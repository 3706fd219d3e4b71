/**
 * A trained network as an ONNX inference graph (opset 13), for ONNX Runtime and every other
 * ONNX consumer: `await exportOnnx(net, 'file://fast.onnx')`, or `onnxBytes(net)` for the bytes.
 *
 * The graph computes what `net.apply(x, { training: false })` computes, layer by
 * layer: each module class below has an emitter that writes the same operations its forward runs
 * (a new module class needs one here, else the export names it and stops).
 *
 * - Input `input`: float32 [batch, C, H, W], ONNX's channels-first layout (ours is NHWC; transpose
 *   with `nhwcToNchw`), H, W, C the network's build shape; `batch` is symbolic. Output `logits`
 *   [batch, classes], before softmax.
 * - Batch norm is folded into the convolution before it (scale and shift merged into its weights
 *   and bias, computed in float64): one Conv per conv + BN pair, as inference engines do anyway.
 *   A batch norm that follows no convolution (pre-activation blocks, their head) stays a
 *   BatchNormalization node; `{ foldBatchNorm: false }` keeps every one as such.
 * - Padding is written out as ONNX's explicit `pads` (the networks pad symmetrically by a number of
 *   pixels), so no auto_pad convention is relied on.
 * - Dense after a feature map larger than 1x1: our flattening order is (h, w, c), so the graph
 *   transposes back to NHWC before Flatten and Gemm uses our weight matrix unchanged.
 */
import { Module, Sequential } from '../nn/module';
import { AvgPool2d, BatchNorm, Conv2d, Dense, GlobalAvgPool2d, MaxPool2d, Padding, ReLU } from '../nn/layers';
import { Bottleneck, PreActResidual, Residual } from '../models/residual';
import { ResNet } from '../models/resnet';
import { PlainBlock, PlainOrResidualNet } from '../models/plain_vs_residual';
import type { SavableModule } from '../io/model_artifacts';
import { weightFilesFor } from '../io/state_dict';
import { ONNX_FLOAT, OnnxAttributeValue, OnnxModel, OnnxNode, OnnxTensor, encodeOnnxModel } from './onnx_proto';

export const ONNX_OPSET = 13;
/** The IR version that goes with opset 13 (ONNX 1.8). */
export const ONNX_IR_VERSION = 7;
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'logits';

export interface OnnxExportOptions {
  /** Fold each batch norm into the convolution before it (default true). */
  foldBatchNorm?: boolean;
  /** A fixed batch size in the graph's input and output (default: symbolic `batch`). */
  batchSize?: number;
}

/** What an export wrote: for the CLI's report and for tests. */
export interface OnnxExportInfo {
  bytes: Uint8Array;
  nodes: number;
  /** Node count per op type, e.g. { Conv: 20, Relu: 17, ... }. */
  ops: Record<string, number>;
  initializers: number;
  parameters: number;
  foldedBatchNorms: number;
  keptBatchNorms: number;
  /** [batch, C, H, W]. */
  inputShape: (number | string)[];
  outputShape: (number | string)[];
}

/** A value flowing through the graph: its name and per-example shape [C, H, W] (or [features]). */
interface Value {
  name: string;
  shape: number[];
}

function float32Bytes(values: Float32Array): Uint8Array {
  // Typed arrays use the platform's byte order; every platform tfjs runs on is little-endian, as ONNX requires.
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
}

/** Explicit [begin, end] padding of one spatial axis. */
function axisPads(padding: Padding, path: string): [number, number] {
  if (padding === 'valid') return [0, 0];
  // tfjs's 'same' pads the end more when the total is odd; no network of this library uses it.
  if (padding === 'same') throw new Error(`ONNX export: 'same' padding ('${path}') is not supported`);
  return [padding, padding];
}

function outSize(size: number, k: number, stride: number, [a, b]: [number, number]): number {
  const out = Math.floor((size + a + b - k) / stride) + 1;
  if (out < 1) throw new Error(`ONNX export: a ${k}x${k} window does not fit a ${size}-pixel axis`);
  return out;
}

class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  readonly ops: Record<string, number> = {};
  parameters = 0;
  folded = 0;
  kept = 0;
  private count = 0;

  constructor(readonly fold: boolean) {}

  constant(name: string, dims: number[], values: Float32Array): string {
    this.initializers.push({ name, dims, dataType: ONNX_FLOAT, rawData: float32Bytes(values) });
    this.parameters += values.length;
    return name;
  }

  node(op: string, inputs: string[], attribute: Record<string, OnnxAttributeValue> = {}, path = ''): string {
    const output = `${path || op.toLowerCase()}:${op}:${this.count++}`;
    this.nodes.push({ opType: op, name: output, input: inputs, output: [output], attribute });
    this.ops[op] = (this.ops[op] ?? 0) + 1;
    return output;
  }
}

function variables(m: Module): Map<string, Float32Array> {
  return new Map(m.namedVariables().map(([n, v]) => [n, v.dataSync() as Float32Array]));
}

function child(m: Module, name: string, path: string): Module {
  const c = m.children().find(([n]) => n === name)?.[1];
  if (!c) throw new Error(`ONNX export: ${m.constructor.name} at '${path}' has no '${name}'`);
  return c;
}

const join = (path: string, name: string) => (path ? `${path}.${name}` : name);

/** Conv (and the batch norm after it, folded when `bn` is given and folding is on). */
function emitConv(g: GraphBuilder, conv: Conv2d, x: Value, path: string, bn?: [BatchNorm, string]): Value {
  const [c, h, w] = x.shape;
  const k = conv.kernelSize;
  const s = conv.strides;
  const vars = variables(conv);
  const weight = vars.get('weight')!; // HWIO [k, k, c / groups, out]
  const inPerGroup = c / conv.groups;
  const out = conv.channels;
  if (weight.length !== k * k * inPerGroup * out)
    throw new Error(`ONNX export: Conv2d '${path}' was built for other input channels than ${c}`);
  const bias = vars.get('bias');
  // Per output channel: y = conv(x) * scale + shift (scale 1, shift = bias without a batch norm).
  const scale = new Float64Array(out).fill(1);
  const shift = new Float64Array(out);
  if (bias) shift.set(bias);
  const foldBn = bn && g.fold;
  if (foldBn) {
    const b = variables(bn[0]);
    const [gamma, beta, mean, variance] = ['gamma', 'beta', 'running_mean', 'running_var'].map((n) => b.get(n)!);
    for (let o = 0; o < out; o++) {
      scale[o] = gamma[o] / Math.sqrt(variance[o] + bn[0].epsilon);
      shift[o] = (shift[o] - mean[o]) * scale[o] + beta[o];
    }
    g.folded++;
  }
  // HWIO -> OIHW, scaled.
  const oihw = new Float32Array(weight.length);
  for (let ky = 0; ky < k; ky++)
    for (let kx = 0; kx < k; kx++)
      for (let i = 0; i < inPerGroup; i++)
        for (let o = 0; o < out; o++)
          oihw[((o * inPerGroup + i) * k + ky) * k + kx] =
            weight[((ky * k + kx) * inPerGroup + i) * out + o] * scale[o];
  const inputs = [x.name, g.constant(`${path}.weight`, [out, inPerGroup, k, k], oihw)];
  if (bias || foldBn) inputs.push(g.constant(`${path}.bias`, [out], Float32Array.from(shift)));
  const pad = axisPads(conv.padding === 0 ? 'valid' : conv.padding, path); // the same on both axes
  const y = g.node(
    'Conv',
    inputs,
    {
      kernel_shape: [k, k],
      strides: [s, s],
      pads: [pad[0], pad[0], pad[1], pad[1]],
      group: conv.groups,
      dilations: [1, 1],
    },
    path,
  );
  const value = { name: y, shape: [out, outSize(h, k, s, pad), outSize(w, k, s, pad)] };
  return bn && !g.fold ? emitBatchNorm(g, bn[0], value, bn[1]) : value;
}

function emitBatchNorm(g: GraphBuilder, bn: BatchNorm, x: Value, path: string): Value {
  const b = variables(bn);
  const inputs = [
    x.name,
    ...['gamma', 'beta', 'running_mean', 'running_var'].map((n) => g.constant(`${path}.${n}`, [x.shape[0]], b.get(n)!)),
  ];
  g.kept++;
  return { name: g.node('BatchNormalization', inputs, { epsilon: { float: bn.epsilon } }, path), shape: x.shape };
}

const relu = (g: GraphBuilder, x: Value, path: string): Value => ({
  name: g.node('Relu', [x.name], {}, path),
  shape: x.shape,
});
const add = (g: GraphBuilder, a: Value, b: Value, path: string): Value => ({
  name: g.node('Add', [a.name, b.name], {}, path),
  shape: a.shape,
});

function emitPool(g: GraphBuilder, m: MaxPool2d | AvgPool2d, x: Value, path: string): Value {
  const [c, h, w] = x.shape;
  const k = m.poolSize;
  const s = m.strides;
  const padding = m.padding === 0 ? 'valid' : m.padding;
  if (m instanceof AvgPool2d && padding !== 'valid')
    throw new Error(`ONNX export: padded average pooling ('${path}') is not supported`);
  const pad = axisPads(padding, path); // the same on both axes
  const op = m instanceof MaxPool2d ? 'MaxPool' : 'AveragePool';
  const y = g.node(
    op,
    [x.name],
    { kernel_shape: [k, k], strides: [s, s], pads: [pad[0], pad[0], pad[1], pad[1]] },
    path,
  );
  return { name: y, shape: [c, outSize(h, k, s, pad), outSize(w, k, s, pad)] };
}

function emitDense(g: GraphBuilder, d: Dense, x: Value, path: string): Value {
  let input = x.name;
  if (x.shape.length === 3 && x.shape[1] * x.shape[2] > 1)
    input = g.node('Transpose', [input], { perm: [0, 2, 3, 1] }, path); // back to NHWC: our flattening order
  if (x.shape.length !== 1) input = g.node('Flatten', [input], { axis: 1 }, path);
  const features = x.shape.reduce((a, b) => a * b, 1);
  const vars = variables(d);
  const weight = vars.get('weight')!;
  if (weight.length !== features * d.units)
    throw new Error(`ONNX export: Dense '${path}' was built for ${weight.length / d.units} inputs, not ${features}`);
  const inputs = [input, g.constant(`${path}.weight`, [features, d.units], weight)];
  if (d.useBias) inputs.push(g.constant(`${path}.bias`, [d.units], vars.get('bias')!));
  else inputs.push(g.constant(`${path}.bias`, [d.units], new Float32Array(d.units)));
  return { name: g.node('Gemm', inputs, {}, path), shape: [d.units] };
}

/** A list of layers run in order; a Conv2d directly followed by a BatchNorm is one folded Conv. */
function emitSequence(g: GraphBuilder, layers: [string, Module][], x: Value, path: string): Value {
  let v = x;
  for (let i = 0; i < layers.length; i++) {
    const [name, m] = layers[i];
    const next = layers[i + 1];
    if (m instanceof Conv2d && next?.[1] instanceof BatchNorm) {
      v = emitConv(g, m, v, join(path, name), [next[1], join(path, next[0])]);
      i++;
    } else v = emitModule(g, m, v, join(path, name));
  }
  return v;
}

/** The shortcut of a residual block: the input itself, or its 1x1 projection (+ batch norm). */
function emitShortcut(g: GraphBuilder, block: Module, x: Value, path: string): Value {
  const s = block.children().find(([n]) => n === 'shortcut')?.[1];
  if (!s) return x;
  return s instanceof Sequential
    ? emitSequence(g, s.children(), x, join(path, 'shortcut'))
    : emitModule(g, s, x, join(path, 'shortcut'));
}

function convBn(g: GraphBuilder, block: Module, i: number, x: Value, path: string): Value {
  const conv = child(block, `conv${i}`, path) as Conv2d;
  const bn = child(block, `bn${i}`, path) as BatchNorm;
  return emitConv(g, conv, x, join(path, `conv${i}`), [bn, join(path, `bn${i}`)]);
}

function emitModule(g: GraphBuilder, m: Module, x: Value, path: string): Value {
  if (m instanceof Conv2d) return emitConv(g, m, x, path);
  if (m instanceof BatchNorm) return emitBatchNorm(g, m, x, path);
  if (m instanceof ReLU) return relu(g, x, path);
  if (m instanceof MaxPool2d || m instanceof AvgPool2d) return emitPool(g, m, x, path);
  if (m instanceof GlobalAvgPool2d)
    return { name: g.node('GlobalAveragePool', [x.name], {}, path), shape: [x.shape[0], 1, 1] };
  if (m instanceof Dense) return emitDense(g, m, x, path);
  if (m instanceof Sequential) return emitSequence(g, m.children(), x, path);
  if (m instanceof Residual) {
    const y = convBn(g, m, 2, relu(g, convBn(g, m, 1, x, path), path), path);
    return relu(g, add(g, y, emitShortcut(g, m, x, path), path), path);
  }
  if (m instanceof Bottleneck) {
    let y = x;
    for (const i of [1, 2, 3]) {
      y = convBn(g, m, i, y, path);
      if (i < 3) y = relu(g, y, path);
    }
    return relu(g, add(g, y, emitShortcut(g, m, x, path), path), path);
  }
  if (m instanceof PreActResidual) {
    const pre = relu(g, emitBatchNorm(g, child(m, 'bn1', path) as BatchNorm, x, join(path, 'bn1')), path);
    let y = emitConv(g, child(m, 'conv1', path) as Conv2d, pre, join(path, 'conv1'));
    y = relu(g, emitBatchNorm(g, child(m, 'bn2', path) as BatchNorm, y, join(path, 'bn2')), path);
    y = emitConv(g, child(m, 'conv2', path) as Conv2d, y, join(path, 'conv2'));
    // As in its forward: a projection reads the pre-activated input.
    return add(g, y, emitShortcut(g, m, m.projects ? pre : x, path), path);
  }
  if (m instanceof PlainBlock) return relu(g, convBn(g, m, 2, relu(g, convBn(g, m, 1, x, path), path), path), path);
  if (m instanceof ResNet || m instanceof PlainOrResidualNet) return emitSequence(g, m.children(), x, path);
  throw new Error(`ONNX export: no ONNX form for a ${m.constructor.name} (at '${path || 'the top'}')`);
}

/** The ONNX model of a built network, with what it contains (see the file's header). */
export function onnxExport(net: SavableModule, opts: OnnxExportOptions = {}): OnnxExportInfo {
  const inputShape = net.inputShape;
  if (!net.built || !inputShape)
    throw new Error(`ONNX export: ${net.constructor.name} has not been built yet (build it, or train it, first)`);
  if (inputShape.length !== 3)
    throw new Error(`ONNX export: expects an image network (H, W, C), built for [${inputShape}]`);
  const batch = opts.batchSize ?? 'batch';
  if (typeof batch === 'number' && !(Number.isInteger(batch) && batch >= 1))
    throw new RangeError(`ONNX export: batchSize must be a positive integer, got ${batch}`);
  const [h, w, c] = inputShape;
  const g = new GraphBuilder(opts.foldBatchNorm ?? true);
  const out = emitModule(g, net, { name: ONNX_INPUT, shape: [c, h, w] }, '');
  if (out.shape.length !== 1) throw new Error(`ONNX export: the network ends in shape [${out.shape}], not logits`);
  // The last node's output gets the graph's output name.
  g.nodes[g.nodes.length - 1].output = [ONNX_OUTPUT];
  const { className, config } = net.architecture();
  const model: OnnxModel = {
    irVersion: ONNX_IR_VERSION,
    opsetVersion: ONNX_OPSET,
    producerName: 'resnet-ts',
    producerVersion: '0.1.0',
    docString: `${className} exported by resnet-ts: NCHW float32 input, logits out; batch norm ${g.fold ? 'folded into the convolutions' : 'kept'}`,
    graphName: className,
    nodes: g.nodes,
    initializers: g.initializers,
    inputs: [
      {
        name: ONNX_INPUT,
        shape: [batch, c, h, w],
        docString: 'images, NCHW float32 (as the network sees them: resized, in [0, 1])',
      },
    ],
    outputs: [{ name: ONNX_OUTPUT, shape: [batch, out.shape[0]], docString: 'logits (before softmax)' }],
    metadata: {
      className,
      config: JSON.stringify(config),
      inputShapeNHWC: JSON.stringify(inputShape),
      batchNorm: g.fold ? 'folded' : 'kept',
    },
  };
  return {
    bytes: encodeOnnxModel(model),
    nodes: g.nodes.length,
    ops: { ...g.ops },
    initializers: g.initializers.length,
    parameters: g.parameters,
    foldedBatchNorms: g.folded,
    keptBatchNorms: g.kept,
    inputShape: [batch, c, h, w],
    outputShape: [batch, out.shape[0]],
  };
}

/** The bytes of a built network's ONNX file. */
export function onnxBytes(net: SavableModule, opts: OnnxExportOptions = {}): Uint8Array {
  return onnxExport(net, opts).bytes;
}

/**
 * Writes a built network's ONNX file to a file:// URL (Node, after importing 'resnet-ts'),
 * atomically: the file is whole or absent, and an unwritable place is named in the error.
 */
export async function exportOnnx(
  net: SavableModule,
  url: string,
  opts: OnnxExportOptions = {},
): Promise<OnnxExportInfo> {
  if (!url.startsWith('file://'))
    throw new Error(`exportOnnx: '${url}': an ONNX file is written to a file:// URL (or get its bytes with onnxBytes)`);
  const info = onnxExport(net, opts);
  await weightFilesFor(url).write(url.slice('file://'.length), info.bytes);
  return info;
}
