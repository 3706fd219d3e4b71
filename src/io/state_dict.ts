/**
 * Our networks' weights under PyTorch's `state_dict` names and layouts, in a safetensors file:
 * `net.save('file://x.safetensors')` writes one, `net.loadWeights('file://x.safetensors')` reads one.
 *
 * Names. A ResNet with the ImageNet stem (the `imagenet-*` presets) uses torchvision's names, so a
 * torchvision `state_dict` loads as it is and ours loads into torchvision with `strict=True`:
 *
 *   b1.0 (conv) conv1        b1.1 (BN) bn1          b{k}.{j} (a block) layer{k-1}.{j}  (b2: j-1, after its max pool)
 *   ...shortcut.0 / .1       ...downsample.0 / .1   b6's dense  fc
 *
 * The chapter's networks use the names of their PyTorch mirrors (bench/torch_models.py's
 * `resnet()`): one nn.Sequential of the stem's layers, b2's max pool, every block, the head's
 * layers and an nn.Flatten before the dense layer, each named by its index (`0.weight`,
 * `2.conv1.weight` ... `12.weight` for the seed's net); inside a block the names are ours
 * (conv1, bn1, conv2, bn2, shortcut). PlainOrResidualNet flattens the same way (stem, blocks, head).
 *
 * Layouts. Convolution weights go from our HWIO [k, k, in / groups, out] to PyTorch's OIHW
 * [out, in / groups, k, k]; a dense weight from [in, out] to [out, in], its inputs reordered from
 * our channels-last flattening (h, w, c) to PyTorch's (c, h, w) when the head sees more than 1x1.
 * Batch norm: gamma -> weight, beta -> bias, running_mean, running_var as they are, and PyTorch's
 * `num_batches_tracked` (int64) written as 0 and ignored on load.
 *
 * Loading checks the whole file before it assigns anything: each missing tensor, each unexpected
 * one and each shape that differs (PyTorch layout, as in the file) is named; F32, F16, BF16 and
 * F64 tensors are read as float32.
 *
 * Browser-safe: files are read and written through `registerWeightFiles` (file_handler.ts
 * registers Node's fs); http(s):// is read with fetch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Module, Sequential } from '../nn/module';
import { BatchNorm, Conv2d, Dense } from '../nn/layers';
import { ModelFormatError, SavableModule, SaveOptions } from './model_artifacts';
import { TensorToWrite, decodeSafetensors, encodeSafetensors, tensorAsFloat32 } from './safetensors';

export type NamingScheme = 'torchvision' | 'torch_models';

/** One of our variables and the PyTorch tensor it is. */
export interface StateDictEntry {
  /** Our variable's name (`namedVariables()`). */
  ours: string;
  /** Its name in the state_dict. */
  torch: string;
  variable: tf.Variable;
  layout: 'conv' | 'dense' | 'same';
  /** The state_dict's shape (PyTorch layout). */
  torchShape: number[];
  /** Dense weights: the per-example shape the dense layer flattens ([h, w, c] or [features]). */
  denseInput?: number[];
}

export interface StateDict {
  scheme: NamingScheme;
  entries: StateDictEntry[];
  /** `<bn>.num_batches_tracked` of every batch norm (int64 buffers we do not keep). */
  batchesTracked: string[];
}

type Leaf = Conv2d | BatchNorm | Dense;
const isLeaf = (m: Module): m is Leaf => m instanceof Conv2d || m instanceof BatchNorm || m instanceof Dense;

/** torchvision's order inside a block: conv1, bn1, conv2, bn2, conv3, bn3, then the rest (downsample). */
const blockOrder = (name: string) => {
  const m = /^(conv|bn)(\d+)$/.exec(name);
  return m ? 2 * Number(m[2]) + (m[1] === 'bn' ? 1 : 0) : Infinity;
};

/**
 * The modules that own variables, under their path (`b2.1.conv1`), in creation order, or with
 * `torchOrder` each module's children in torchvision's order (our Bottleneck creates its three
 * convolutions before its three batch norms).
 */
function leaves(m: Module, prefix: string, torchOrder: boolean, out: [string, Leaf][] = []): [string, Leaf][] {
  if (isLeaf(m)) out.push([prefix, m]);
  else {
    const children = m.children();
    if (torchOrder) children.sort(([a], [b]) => blockOrder(a) - blockOrder(b) || 0);
    for (const [n, c] of children) leaves(c, prefix ? `${prefix}.${n}` : n, torchOrder, out);
  }
  return out;
}

/** ResNet with the ImageNet stem (and basic or bottleneck blocks) -> torchvision's names. */
function torchvisionName(path: string, leaf: Leaf): string | undefined {
  if (path === 'b1.0') return 'conv1';
  if (path === 'b1.1') return 'bn1';
  const block = /^b([2-5])\.(\d+)\.(.+)$/.exec(path);
  if (block) {
    const [, k, j, rest] = block;
    // b2 opens with the max pool (child 0); torchvision's layer1 holds the blocks only.
    const index = Number(j) - (k === '2' ? 1 : 0);
    const inner = rest.replace(/^shortcut\.(\d+)/, 'downsample.$1').replace(/^shortcut$/, 'downsample.0');
    return `layer${Number(k) - 1}.${index}.${inner}`;
  }
  if (/^b6\.\d+$/.test(path) && leaf instanceof Dense) return 'fc';
  return undefined;
}

/**
 * The mirror's flat nn.Sequential: `sections` in order, a Sequential's children one by one, an
 * nn.Flatten counted before each dense layer. Returns our module path -> its index.
 */
function flatIndices(sections: [string, Module][]): Map<string, number> {
  const index = new Map<string, number>();
  let i = 0;
  for (const [path, m] of sections) {
    const units: [string, Module][] =
      m instanceof Sequential ? m.children().map(([n, c]) => [`${path}.${n}`, c]) : [[path, m]];
    for (const [p, u] of units) {
      if (u instanceof Dense) i++; // the mirror's nn.Flatten
      index.set(p, i++);
    }
  }
  return index;
}

function flatName(path: string, index: Map<string, number>): string | undefined {
  for (const [unit, i] of index)
    if (path === unit || path.startsWith(`${unit}.`)) return `${i}${path.slice(unit.length)}`;
  return undefined;
}

/** Which names a network's weights take, and how each is laid out (see the file's header). */
export function stateDict(net: SavableModule): StateDict {
  const { className, config } = net.architecture();
  let scheme: NamingScheme;
  let rename: (path: string, leaf: Leaf) => string | undefined;
  if (className === 'ResNet' && config.stem === 'imagenet' && config.block !== 'preact') {
    scheme = 'torchvision';
    rename = torchvisionName;
  } else if (className === 'ResNet') {
    scheme = 'torch_models';
    const index = flatIndices(net.children());
    rename = (p) => flatName(p, index);
  } else if (className === 'PlainOrResidualNet') {
    scheme = 'torch_models';
    const [body] = net.children();
    const index = flatIndices(body[1].children().map(([n, c]) => [`${body[0]}.${n}`, c]));
    rename = (p) => flatName(p, index);
  } else {
    throw new Error(`safetensors: no PyTorch names for a ${className}`);
  }
  const entries: StateDictEntry[] = [];
  const batchesTracked: string[] = [];
  for (const [path, leaf] of leaves(net, '', scheme === 'torchvision')) {
    const torch = rename(path, leaf);
    if (torch === undefined) throw new Error(`safetensors: no PyTorch name for ${className}'s layer ${path}`);
    for (const [name, variable] of leaf.namedVariables()) {
      const ours = `${path}.${name}`;
      const s = variable.shape as number[];
      if (leaf instanceof Conv2d && name === 'weight')
        entries.push({
          ours,
          torch: `${torch}.weight`,
          variable,
          layout: 'conv',
          torchShape: [s[3], s[2], s[0], s[1]],
        });
      else if (leaf instanceof Dense && name === 'weight')
        entries.push({
          ours,
          torch: `${torch}.weight`,
          variable,
          layout: 'dense',
          torchShape: [s[1], s[0]],
          denseInput: leaf.inputShape ?? [s[0]],
        });
      else {
        const torchName = leaf instanceof BatchNorm ? ({ gamma: 'weight', beta: 'bias' }[name] ?? name) : name;
        entries.push({ ours, torch: `${torch}.${torchName}`, variable, layout: 'same', torchShape: [...s] });
      }
    }
    if (leaf instanceof BatchNorm) batchesTracked.push(`${torch}.num_batches_tracked`);
  }
  const counted = net.namedVariables().length;
  if (counted !== entries.length)
    throw new Error(`safetensors: ${className} has ${counted} variables, ${entries.length} have PyTorch names`);
  return { scheme, entries, batchesTracked };
}

/** Our tensor in PyTorch's layout. */
function toTorch(e: StateDictEntry): tf.Tensor {
  const v = e.variable;
  if (e.layout === 'conv') return tf.transpose(v, [3, 2, 0, 1]);
  if (e.layout === 'dense') {
    const [inUnits, out] = v.shape;
    const d = e.denseInput!;
    if (d.length !== 3 || d[0] * d[1] === 1) return tf.transpose(v);
    // Rows flattened as (h, w, c) here, columns as (c, h, w) in PyTorch.
    return tf.reshape(tf.transpose(tf.reshape(v, [d[0], d[1], d[2], out]), [3, 2, 0, 1]), [out, inUnits]);
  }
  return v.clone();
}

/** A PyTorch-layout tensor in our layout (the inverse of toTorch). */
function fromTorch(e: StateDictEntry, t: tf.Tensor): tf.Tensor {
  if (e.layout === 'conv') return tf.transpose(t, [2, 3, 1, 0]);
  if (e.layout === 'dense') {
    const [out, inUnits] = t.shape;
    const d = e.denseInput!;
    if (d.length !== 3 || d[0] * d[1] === 1) return tf.transpose(t);
    return tf.reshape(tf.transpose(tf.reshape(t, [out, d[2], d[0], d[1]]), [2, 3, 1, 0]), [inUnits, out]);
  }
  return t.clone();
}

/** The bytes of a safetensors file of a built network's weights (F32, or F16 with `quantize: 'float16'`). */
export function safetensorsBytes(net: SavableModule, opts: SaveOptions = {}): Uint8Array {
  if (opts.quantize !== undefined && opts.quantize !== 'float16')
    throw new RangeError(
      `save: a safetensors file stores float32 or float16 (quantize: 'float16'), not ${JSON.stringify(opts.quantize)}`,
    );
  const inputShape = net.inputShape;
  if (!net.built || !inputShape)
    throw new Error(`save: ${net.constructor.name} has not been built yet (build it, or train it, first)`);
  const sd = stateDict(net);
  const dtype = opts.quantize === 'float16' ? 'F16' : 'F32';
  const tensors: TensorToWrite[] = sd.entries.map((e) => {
    const t = tf.tidy(() => toTorch(e));
    const values = t.dataSync() as Float32Array;
    t.dispose();
    return { name: e.torch, dtype, shape: e.torchShape, values };
  });
  // After its batch norm's tensors, as in a PyTorch state_dict: <bn>.num_batches_tracked, int64 0.
  for (const name of sd.batchesTracked) {
    const bn = name.slice(0, -'.num_batches_tracked'.length);
    const last = tensors.map((t) => t.name.startsWith(`${bn}.`)).lastIndexOf(true);
    tensors.splice(last + 1, 0, { name, dtype: 'I64', shape: [], values: [0] });
  }
  const { className, config } = net.architecture();
  return encodeSafetensors(tensors, {
    format: 'pt',
    generatedBy: 'resnet-ts',
    names: sd.scheme,
    className,
    config: JSON.stringify(config),
    inputShape: JSON.stringify(inputShape),
  });
}

/** Where a network's input shape comes from when it is loaded unbuilt: the file's, else ImageNet's. */
function buildShape(net: SavableModule, metadata: Record<string, string>, source: string): number[] {
  if (metadata.inputShape) {
    try {
      const s = JSON.parse(metadata.inputShape);
      if (Array.isArray(s) && s.every((d) => Number.isInteger(d) && d > 0)) return s;
    } catch {
      // fall through to the error below
    }
  }
  const { className, config } = net.architecture();
  if (className === 'ResNet' && config.stem === 'imagenet') return [224, 224, 3];
  throw new ModelFormatError(
    `${source}: the ${className} is not built and the file does not say its input shape; build it first (net.build([h, w, c]))`,
  );
}

export interface LoadWeightsOptions {
  /**
   * PyTorch names of tensors to leave out on both sides (PyTorch's `strict=False` for just these):
   * the network keeps its own values for them, and the file's are not read. Fine-tuning puts the
   * old head here (`except: ['fc.weight', 'fc.bias']`) to load a body under a new head.
   */
  except?: string[];
}

/**
 * Loads a safetensors file's weights into the network (built first from the file's input shape if
 * it is not). Nothing is assigned unless every tensor is there, expected and of the right shape.
 */
export function loadSafetensorsBytes(
  net: SavableModule,
  file: Uint8Array,
  source = 'safetensors',
  opts: LoadWeightsOptions = {},
): void {
  const { tensors, metadata } = decodeSafetensors(file, source);
  if (!net.built) net.build(buildShape(net, metadata, source));
  const full = stateDict(net);
  const left = new Set(opts.except ?? []);
  const unknown = [...left].filter((n) => !tensors.has(n) && !full.entries.some((e) => e.torch === n));
  if (unknown.length)
    throw new ModelFormatError(
      `${source}: except names ${unknown.map((n) => `'${n}'`).join(', ')}, in neither the file nor the network`,
    );
  const sd = { ...full, entries: full.entries.filter((e) => !left.has(e.torch)) };
  const expected = new Map(sd.entries.map((e) => [e.torch, e]));
  const ignored = new Set([...sd.batchesTracked, ...left]);
  const missing = sd.entries.filter((e) => !tensors.has(e.torch)).map((e) => e.torch);
  const unexpected = [...tensors.keys()].filter((n) => !expected.has(n) && !ignored.has(n));
  const problems: string[] = [];
  if (missing.length) problems.push(`missing tensor(s): ${missing.join(', ')}`);
  if (unexpected.length)
    problems.push(`unexpected tensor(s), the network has no such weight: ${unexpected.join(', ')}`);
  for (const e of sd.entries) {
    const t = tensors.get(e.torch);
    if (t && JSON.stringify(t.shape) !== JSON.stringify(e.torchShape))
      problems.push(`'${e.torch}' has shape [${t.shape.join(', ')}], expected [${e.torchShape.join(', ')}]`);
  }
  if (problems.length)
    throw new ModelFormatError(
      `${source}: does not fit this ${net.architecture().className} (${sd.scheme} names): ${problems.join('; ')}`,
    );
  const values = sd.entries.map((e) => tensorAsFloat32(tensors.get(e.torch)!, e.torch, source));
  const ours = sd.entries.map((e, i) => tf.tidy(() => fromTorch(e, tf.tensor(values[i], e.torchShape, 'float32'))));
  sd.entries.forEach((e, i) => e.variable.assign(ours[i]));
  tf.dispose(ours);
}

/** How safetensors files are read and written (Node's fs, registered by file_handler.ts). */
export interface WeightFiles {
  read(path: string): Promise<Uint8Array>;
  /** Atomically: the file is whole or absent. */
  write(path: string, bytes: Uint8Array): Promise<void>;
}
let weightFiles: WeightFiles | undefined;
export function registerWeightFiles(files: WeightFiles): void {
  weightFiles = files;
}

const FILE = 'file://';
/** The registered file system for a file:// URL (an error naming the URL where none is: a browser). */
export function weightFilesFor(url: string): WeightFiles {
  if (!weightFiles)
    throw new Error(`'${url}': file:// needs Node (import 'resnet-ts', whose entry registers the file system)`);
  return weightFiles;
}

/** Writes a built network as safetensors to a file:// URL (atomically); the result is tfjs's SaveResult. */
export async function saveSafetensors(
  net: SavableModule,
  url: string,
  opts: SaveOptions = {},
): Promise<tf.io.SaveResult> {
  if (!url.startsWith(FILE))
    throw new Error(
      `save: '${url}': a safetensors file is saved to a file:// URL (or get its bytes with safetensorsBytes)`,
    );
  const bytes = safetensorsBytes(net, opts);
  await weightFilesFor(url).write(url.slice(FILE.length), bytes);
  return {
    modelArtifactsInfo: {
      dateSaved: new Date(),
      modelTopologyType: 'JSON',
      weightDataBytes: bytes.byteLength,
    },
  };
}

/** Loads a safetensors file (file:// in Node, http(s)://, or its bytes) into the network. */
export async function loadSafetensors(
  net: SavableModule,
  source: string | Uint8Array | ArrayBuffer,
  opts: LoadWeightsOptions = {},
): Promise<void> {
  if (typeof source !== 'string') {
    loadSafetensorsBytes(
      net,
      source instanceof Uint8Array ? source : new Uint8Array(source),
      'safetensors bytes',
      opts,
    );
    return;
  }
  let bytes: Uint8Array;
  if (source.startsWith(FILE)) bytes = await weightFilesFor(source).read(source.slice(FILE.length));
  else if (/^https?:\/\//.test(source)) {
    const r = await fetch(source);
    if (!r.ok) throw new ModelFormatError(`${source}: HTTP ${r.status} ${r.statusText}`);
    bytes = new Uint8Array(await r.arrayBuffer());
  } else throw new Error(`loadWeights: '${source}' is neither file:// nor http(s)://`);
  loadSafetensorsBytes(net, bytes, source.startsWith(FILE) ? source.slice(FILE.length) : source, opts);
}
