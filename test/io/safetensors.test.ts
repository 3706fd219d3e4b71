/**
 * The safetensors format (src/io/safetensors.ts) and our networks' PyTorch names in it
 * (src/io/state_dict.ts): bytes written then read back, F16 / BF16 / F64 widened to float32,
 * every malformed file refused with a message naming the problem, `net.save('file://x.safetensors')`
 * and `net.loadWeights(...)` round trips bit for bit, torchvision's and the mirror's names and
 * layouts, and each missing, unexpected or misshapen tensor named. (The crossings with PyTorch
 * itself are in safetensors_torch.test.ts.)
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlainOrResidualNet, ResNet, resnetPreset, seedInitializers, tf } from '../../src/index';
import { ModelFormatError, float16Bits } from '../../src/io/model_artifacts';
import {
  SafeTensor,
  TensorToWrite,
  decodeSafetensors,
  encodeSafetensors,
  tensorAsFloat32,
} from '../../src/io/safetensors';
import { stateDict } from '../../src/io/state_dict';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'safetensors-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A file written by hand: 8-byte length, the header as given, then `data`. */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), headerLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

const f32bytes = (v: number[]) => new Uint8Array(new Float32Array(v).buffer);

describe('the safetensors format', () => {
  it('writes the layout of the spec: u64 LE header length, a padded JSON header, little-endian data', () => {
    const file = encodeSafetensors(
      [
        { name: 'a', dtype: 'F32', shape: [2, 3], values: new Float32Array([1, 2, 3, 4, 5, -6.5]) },
        { name: 'n', dtype: 'I64', shape: [], values: [7] },
        { name: 'h', dtype: 'F16', shape: [2], values: [1, -2] },
      ],
      { format: 'pt' },
    );
    const view = new DataView(file.buffer);
    const n = Number(view.getBigUint64(0, true));
    expect(n % 8).toBe(0); // padded with spaces, so the data starts 8-byte aligned
    const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n)));
    expect(header).toEqual({
      __metadata__: { format: 'pt' },
      a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
      n: { dtype: 'I64', shape: [], data_offsets: [24, 32] },
      h: { dtype: 'F16', shape: [2], data_offsets: [32, 36] },
    });
    const data = 8 + n;
    expect(file.byteLength).toBe(data + 36);
    expect(view.getFloat32(data + 20, true)).toBe(-6.5);
    expect(view.getBigInt64(data + 24, true)).toBe(7n);
    expect(view.getUint16(data + 32, true)).toBe(0x3c00); // 1.0 in half
    expect(view.getUint16(data + 34, true)).toBe(0xc000); // -2.0
  });

  it('reads back what it writes: names, dtypes, shapes, metadata and values', () => {
    const values = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i) * 1e3);
    const { tensors, metadata } = decodeSafetensors(
      encodeSafetensors(
        [
          { name: 'w', dtype: 'F32', shape: [2, 3, 4], values },
          { name: 'empty', dtype: 'F32', shape: [0, 3], values: [] },
          { name: 'steps', dtype: 'I64', shape: [], values: [0] },
        ],
        { format: 'pt', note: 'x' },
      ),
    );
    expect(metadata).toEqual({ format: 'pt', note: 'x' });
    expect([...tensors.keys()]).toEqual(['w', 'empty', 'steps']);
    expect(tensors.get('w')!.shape).toEqual([2, 3, 4]);
    expect(tensorAsFloat32(tensors.get('w')!, 'w')).toEqual(values);
    expect(tensorAsFloat32(tensors.get('empty')!, 'empty')).toEqual(new Float32Array(0));
    expect(tensors.get('steps')).toMatchObject({ dtype: 'I64', shape: [] });
  });

  it('reads F16, BF16 and F64 as float32 (normal, subnormal, signed zero, infinities, NaN)', () => {
    const halves = [0x3c00, 0xc000, 0x3555, 0x0001, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x7bff];
    const h = new Uint8Array(new Uint16Array(halves).buffer);
    const asF16 = tensorAsFloat32({ dtype: 'F16', shape: [halves.length], bytes: h }, 'h');
    expect(Array.from(asF16)).toEqual([1, -2, 0.333251953125, 2 ** -24, -0, Infinity, -Infinity, NaN, 65504]);
    // bfloat16: the top 16 bits of a float32.
    const floats = [1, -2.5, 3.140625, 1e-30, -Infinity];
    const f32 = new Uint32Array(new Float32Array(floats).buffer);
    const bf = new Uint8Array(Uint16Array.from(f32, (b) => b >>> 16).buffer);
    const asBf16 = tensorAsFloat32({ dtype: 'BF16', shape: [floats.length], bytes: bf }, 'b');
    expect(Array.from(asBf16)).toEqual(
      Array.from(new Float32Array(Uint32Array.from(f32, (b) => b & 0xffff0000).buffer)),
    );
    expect(asBf16[2]).toBe(3.140625); // exact in bf16
    const d = new Uint8Array(new Float64Array([0.1, -1e300]).buffer);
    expect(Array.from(tensorAsFloat32({ dtype: 'F64', shape: [2], bytes: d }, 'd'))).toEqual([
      Math.fround(0.1),
      -Infinity,
    ]);
    // Our float16 writer and this reader agree.
    const file = encodeSafetensors([{ name: 'q', dtype: 'F16', shape: [3], values: [0.1, -3, 1e5] }]);
    const q = decodeSafetensors(file).tensors.get('q')!;
    expect(Array.from(tensorAsFloat32(q, 'q'))).toEqual([0.0999755859375, -3, Infinity]);
    expect(float16Bits(0.1)).toBe(0x2e66);
  });

  it('reads a tensor that is not 4-byte aligned in the file', () => {
    const data = new Uint8Array(3 + 8);
    data.set(f32bytes([1.5, -2]), 3);
    const file = rawFile({ t: { dtype: 'F32', shape: [2], data_offsets: [3, 11] } }, data);
    const t = decodeSafetensors(file).tensors.get('t')!;
    expect(Array.from(tensorAsFloat32(t, 't'))).toEqual([1.5, -2]);
  });

  const malformed: [string, Uint8Array, RegExp][] = [
    ['a file shorter than 8 bytes', new Uint8Array(5), /x\.safetensors: 5 bytes: too short for a safetensors file/],
    [
      'a header length past the end of the file',
      rawFile({}, new Uint8Array(0), 1000n),
      /x\.safetensors: the header length is 1000 bytes, past the end of the file \(10 bytes, so at most 2\)/,
    ],
    [
      'a header length of 2^64 - 1',
      rawFile({}, new Uint8Array(0), 2n ** 64n - 1n),
      /the header length is 18446744073709551615 bytes, past the end of the file/,
    ],
    ['a header that is not JSON', rawFile('{"a": '), /x\.safetensors: the 6-byte header is not JSON/],
    ['a header that is a list', rawFile('[1, 2]'), /the header is not a JSON object of tensors/],
    [
      'an unknown dtype',
      rawFile({ w: { dtype: 'F31', shape: [1], data_offsets: [0, 4] } }, f32bytes([1])),
      /tensor 'w': unknown dtype "F31" \(safetensors has BOOL, .*BF16.*\)/,
    ],
    [
      'a missing dtype',
      rawFile({ w: { shape: [1], data_offsets: [0, 4] } }, f32bytes([1])),
      /tensor 'w': unknown dtype undefined/,
    ],
    [
      'a negative dimension',
      rawFile({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32bytes([1])),
      /tensor 'w': shape must be a list of non-negative integers, got \[-1\]/,
    ],
    [
      'data_offsets past the end of the data',
      rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32bytes([1])),
      /tensor 'w': data_offsets \[0, 8\] lie outside the data \(4 bytes after the header\): a truncated file\?/,
    ],
    [
      'data_offsets backwards',
      rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, f32bytes([1, 2])),
      /tensor 'w': data_offsets must be \[begin, end\] with 0 <= begin <= end, got \[4,0\]/,
    ],
    [
      'data_offsets not as long as dtype and shape say',
      rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32bytes([1, 2])),
      /tensor 'w': data_offsets \[0, 8\] hold 8 bytes, F32 of shape \[3\] needs 12/,
    ],
    [
      'metadata that is not strings',
      rawFile({ __metadata__: { epochs: 3 } }),
      /__metadata__ must map strings to strings, got \{"epochs":3\}/,
    ],
  ];
  for (const [what, file, message] of malformed)
    it(`refuses ${what}, saying so`, () => {
      expect(() => decodeSafetensors(file, 'x.safetensors')).toThrow(ModelFormatError);
      expect(() => decodeSafetensors(file, 'x.safetensors')).toThrow(message);
    });

  it('refuses to read an integer tensor as a weight, naming it', () => {
    const t: SafeTensor = { dtype: 'I64', shape: [1], bytes: new Uint8Array(8) };
    expect(() => tensorAsFloat32(t, 'fc.weight', 'x.safetensors')).toThrow(
      "x.safetensors: tensor 'fc.weight' is I64; a weight must be F32, F16, BF16, F64",
    );
  });

  it('refuses to write a tensor whose values do not fill its shape, or an unsupported dtype', () => {
    expect(() => encodeSafetensors([{ name: 'a', dtype: 'F32', shape: [2, 2], values: [1, 2, 3] }])).toThrow(
      "safetensors: 'a' has 3 values, shape [2, 2] needs 4",
    );
    expect(() =>
      encodeSafetensors([{ name: 'a', dtype: 'BF16', shape: [1], values: [1] } as unknown as TensorToWrite]),
    ).toThrow('safetensors: writes F32, F16 or I64, not BF16');
    expect(() =>
      encodeSafetensors([
        { name: 'a', dtype: 'F32', shape: [1], values: [1] },
        { name: 'a', dtype: 'F32', shape: [1], values: [1] },
      ]),
    ).toThrow("tensor name 'a' twice");
  });
});

/** A small ResNet with torchvision's layers (ImageNet stem, bottlenecks with BN on the shortcut). */
function tinyImagenet(seed = 3): ResNet {
  seedInitializers(seed);
  const net = new ResNet({
    ...resnetPreset('imagenet-resnet50'),
    widths: [16, 32, 32, 64],
    stemWidth: 8,
    depths: [2, 1, 1, 1],
    numClasses: 5,
  }).build([32, 32, 3]);
  seedInitializers(undefined);
  for (const [name, v] of net.namedVariables())
    if (/running|gamma|beta/.test(name)) v.assign(tf.randomUniform(v.shape, 0.5, 1.5, 'float32', name.length));
  return net;
}
const x3 = () => tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 9);
const logits = (net: ResNet | PlainOrResidualNet, x: tf.Tensor) => Array.from(net.apply(x).dataSync());
const weights = (net: ResNet | PlainOrResidualNet) =>
  net.namedVariables().map(([n, v]) => [n, Array.from(v.dataSync())]);
const readFile = (f: string) => decodeSafetensors(new Uint8Array(fs.readFileSync(f)), f);

describe("net.save('file://x.safetensors') and net.loadWeights", () => {
  it('round trips an imagenet-style ResNet bit for bit, atomically, with metadata', async () => {
    const net = tinyImagenet();
    const file = path.join(tmp(), 'sub', 'net.safetensors');
    const r = await net.save(`file://${file}`);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['net.safetensors']); // no temp file left
    expect(r.modelArtifactsInfo.weightDataBytes).toBe(fs.statSync(file).size);
    const { tensors, metadata } = readFile(file);
    expect(metadata).toMatchObject({
      format: 'pt',
      generatedBy: 'resnet-ts',
      names: 'torchvision',
      className: 'ResNet',
    });
    expect(JSON.parse(metadata.inputShape)).toEqual([32, 32, 3]);
    expect(tensors.get('bn1.num_batches_tracked')).toEqual({ dtype: 'I64', shape: [], bytes: new Uint8Array(8) });
    const other = new ResNet(net.config).build([32, 32, 3]);
    expect(logits(other, x3())).not.toEqual(logits(net, x3()));
    await other.loadWeights(`file://${file}`);
    expect(weights(other)).toEqual(weights(net));
    expect(logits(other, x3())).toEqual(logits(net, x3()));
    // Unbuilt: built from the file's input shape first.
    const fresh = new ResNet(net.config);
    await fresh.loadWeights(`file://${file}`);
    expect(fresh.inputShape).toEqual([32, 32, 3]);
    expect(weights(fresh)).toEqual(weights(net));
    // From bytes (as a browser would, after fetching them).
    const fromBytes = new ResNet(net.config);
    await fromBytes.loadWeights(fs.readFileSync(file));
    expect(weights(fromBytes)).toEqual(weights(net));
  });

  it('writes float16 with quantize, refuses uint8', async () => {
    const net = tinyImagenet();
    const file = path.join(tmp(), 'half.safetensors');
    await net.save(`file://${file}`, { quantize: 'float16' });
    const dtypes = new Set([...readFile(file).tensors.values()].map((t) => t.dtype));
    expect([...dtypes].sort()).toEqual(['F16', 'I64']);
    const back = new ResNet(net.config);
    await back.loadWeights(`file://${file}`);
    const a = logits(net, x3());
    const b = logits(back, x3());
    const d = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    expect(d).toBeGreaterThan(0);
    expect(d).toBeLessThan(0.05);
    await expect(net.save(`file://${file}`, { quantize: 'uint8' })).rejects.toThrow(
      'a safetensors file stores float32 or float16 (quantize: \'float16\'), not "uint8"',
    );
  });

  it("uses torchvision's names, order and layouts (OIHW convolutions, [out, in] dense)", async () => {
    const net = tinyImagenet();
    const file = path.join(tmp(), 'tv.safetensors');
    await net.save(`file://${file}`);
    const { tensors } = readFile(file);
    const names = [...tensors.keys()];
    const bn = (p: string) =>
      ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].map((s) => `${p}.${s}`);
    const block = (p: string, down: boolean) => [
      ...[1, 2, 3].flatMap((i) => [`${p}.conv${i}.weight`, ...bn(`${p}.bn${i}`)]),
      ...(down ? [`${p}.downsample.0.weight`, ...bn(`${p}.downsample.1`)] : []),
    ];
    expect(names).toEqual([
      'conv1.weight',
      ...bn('bn1'),
      ...block('layer1.0', true),
      ...block('layer1.1', false),
      ...block('layer2.0', true),
      ...block('layer3.0', true),
      ...block('layer4.0', true),
      'fc.weight',
      'fc.bias',
    ]);
    const vars = new Map(net.namedVariables());
    // conv1: ours HWIO [7, 7, 3, 8] -> OIHW [8, 3, 7, 7].
    const conv = vars.get('b1.0.weight')!;
    expect(conv.shape).toEqual([7, 7, 3, 8]);
    expect(tensors.get('conv1.weight')!.shape).toEqual([8, 3, 7, 7]);
    const w = tensorAsFloat32(tensors.get('conv1.weight')!, 'conv1.weight');
    const c = conv.arraySync() as number[][][][];
    for (const [o, i, h, k] of [
      [0, 0, 0, 0],
      [5, 2, 6, 1],
      [7, 1, 3, 4],
    ])
      expect(w[((o * 3 + i) * 7 + h) * 7 + k]).toBe(c[h][k][i][o]);
    // fc: ours [64, 5] -> [5, 64]; batch norm gamma -> weight, beta -> bias.
    expect(tensors.get('fc.weight')!.shape).toEqual([5, 64]);
    const fc = vars.get('b6.1.weight')!.arraySync() as number[][];
    expect(tensorAsFloat32(tensors.get('fc.weight')!, 'fc.weight')[3 * 64 + 17]).toBe(fc[17][3]);
    expect(Array.from(tensorAsFloat32(tensors.get('bn1.weight')!, 'bn1.weight'))).toEqual(
      Array.from(vars.get('b1.1.gamma')!.dataSync()),
    );
    expect(Array.from(tensorAsFloat32(tensors.get('layer1.0.downsample.1.bias')!, 'b'))).toEqual(
      Array.from(vars.get('b2.1.shortcut.1.beta')!.dataSync()),
    );
  });

  it("the seed's network takes bench/torch_models.py's names (one nn.Sequential, an nn.Flatten before the dense layer)", () => {
    const net = new ResNet(resnetPreset('seed')).build([96, 96, 1]);
    const names = stateDict(net).entries.map((e) => e.torch);
    expect(names.slice(0, 3)).toEqual(['0.weight', '0.bias', '2.conv1.weight']);
    expect(names).toContain('4.shortcut.weight'); // b3's first block projects (index 4: conv, pool, two b2 blocks)
    expect(names).toContain('2.bn2.running_var');
    expect(names.slice(-2)).toEqual(['12.weight', '12.bias']); // pool 10, flatten 11, linear 12
    expect(stateDict(net).batchesTracked).toContain('9.bn1.num_batches_tracked');
  });

  it("reorders a dense layer's inputs from (h, w, c) to PyTorch's (c, h, w) when the head sees more than 1x1", async () => {
    seedInitializers(4);
    const net = new ResNet({ widths: [4, 4, 8, 8], depths: [1, 1, 1, 1] }).build([192, 192, 1]); // 6x6 -> avg3 -> 2x2x8
    seedInitializers(undefined);
    const e = stateDict(net).entries.find((x) => x.torch === '8.weight')!;
    expect(e.denseInput).toEqual([2, 2, 8]);
    const file = path.join(tmp(), 'head.safetensors');
    await net.save(`file://${file}`);
    const torchW = tensorAsFloat32(readFile(file).tensors.get('8.weight')!, '8.weight'); // [10, 32]: (c, h, w)
    const ours = e.variable.arraySync() as number[][]; // [32, 10]: (h, w, c)
    for (const [o, c, h, w] of [
      [0, 0, 0, 1],
      [9, 7, 1, 0],
      [4, 3, 1, 1],
    ])
      expect(torchW[o * 32 + c * 4 + h * 2 + w]).toBe(ours[(h * 2 + w) * 8 + c][o]);
    const back = new ResNet(net.config).build([192, 192, 1]);
    await back.loadWeights(`file://${file}`);
    expect(weights(back)).toEqual(weights(net));
  });

  it('round trips a PlainOrResidualNet, plain and residual', async () => {
    for (const shortcuts of [true, false]) {
      seedInitializers(6);
      const net = new PlainOrResidualNet({ depth: 8, shortcuts, widths: [4, 8, 8] }).build([16, 16, 1]);
      seedInitializers(undefined);
      const file = path.join(tmp(), `plain-${shortcuts}.safetensors`);
      await net.save(`file://${file}`);
      const names = [...readFile(file).tensors.keys()];
      expect(names[0]).toBe('0.weight');
      expect(names).toContain(shortcuts ? '4.shortcut.weight' : '4.conv1.weight');
      expect(names.slice(-2)).toEqual(['8.weight', '8.bias']); // stem 0-2, blocks 3-5, pool 6, flatten 7, linear 8
      const back = new PlainOrResidualNet({ depth: 8, shortcuts, widths: [4, 8, 8] });
      await back.loadWeights(`file://${file}`);
      expect(weights(back)).toEqual(weights(net));
    }
  });

  it('round trips the chapter-style nets of the other block kinds (pre-activation, bottleneck, ImageNet-stem pre-activation)', async () => {
    const configs = [
      {
        block: 'preact' as const,
        widths: [4, 8, 8, 8] as [number, number, number, number],
        depths: [1, 1, 1, 1] as [number, number, number, number],
      },
      {
        block: 'bottleneck' as const,
        widths: [8, 8, 16, 16] as [number, number, number, number],
        depths: [1, 1, 1, 1] as [number, number, number, number],
        headPool: 'global' as const,
      },
      {
        ...resnetPreset('imagenet-resnet18'),
        block: 'preact' as const,
        widths: [4, 4, 8, 8] as [number, number, number, number],
        numClasses: 3,
      },
    ];
    for (const [i, config] of configs.entries()) {
      seedInitializers(20 + i);
      const net = new ResNet(config).build(i === 2 ? [32, 32, 3] : [96, 96, 1]);
      seedInitializers(undefined);
      const file = path.join(tmp(), `kind-${i}.safetensors`);
      await net.save(`file://${file}`);
      expect(readFile(file).metadata.names).toBe('torch_models');
      const back = new ResNet(config);
      await back.loadWeights(`file://${file}`);
      expect(weights(back)).toEqual(weights(net));
    }
  });

  it('loads from http(s):// (fetch), and names the URL of a failed request', async () => {
    const net = tinyImagenet();
    const file = path.join(tmp(), 'served.safetensors');
    await net.save(`file://${file}`);
    const server = http.createServer((req, res) => {
      if (req.url === '/net.safetensors') res.end(fs.readFileSync(file));
      else res.writeHead(404, 'Not Found').end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const back = new ResNet(net.config);
      await back.loadWeights(`${base}/net.safetensors`);
      expect(weights(back)).toEqual(weights(net));
      await expect(back.loadWeights(`${base}/gone.safetensors`)).rejects.toThrow(
        `${base}/gone.safetensors: HTTP 404 Not Found`,
      );
    } finally {
      server.close();
    }
  });

  it("still saves and loads tfjs's format for other URLs, and loadWeights reads it", async () => {
    const net = tinyImagenet();
    const dir = tmp();
    await net.save(`file://${dir}`);
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    const back = new ResNet(net.config);
    await back.loadWeights(`file://${dir}`);
    expect(weights(back)).toEqual(weights(net));
  });
});

describe("loadWeights(..., { except }): a body under a new head (PyTorch's strict=False for named tensors)", () => {
  it("loads every tensor but the excepted ones, which keep the network's own values", async () => {
    const file = path.join(tmp(), 'five-classes.safetensors');
    const source = tinyImagenet(3);
    await source.save(`file://${file}`);
    seedInitializers(9);
    const ten = new ResNet({ ...source.config, numClasses: 10 }).build([32, 32, 3]);
    seedInitializers(undefined);
    const ownHead = weights(ten).filter(([n]) => String(n).startsWith('b6.'));
    // Without except the head's shapes are refused; with it, the body loads and the new head stays.
    await expect(ten.loadWeights(`file://${file}`)).rejects.toThrow(
      /'fc.weight' has shape \[5, 64\], expected \[10, 64\]/,
    );
    await ten.loadWeights(`file://${file}`, { except: ['fc.weight', 'fc.bias'] });
    const body = (net: ResNet) => weights(net).filter(([n]) => !String(n).startsWith('b6.'));
    expect(body(ten)).toEqual(body(source));
    expect(weights(ten).filter(([n]) => String(n).startsWith('b6.'))).toEqual(ownHead);
    // A name that is in neither is a typo, said so; nothing is assigned then.
    const before = weights(ten);
    await expect(ten.loadWeights(`file://${file}`, { except: ['fc.weight', 'head.bias'] })).rejects.toThrow(
      `${file}: except names 'head.bias', in neither the file nor the network`,
    );
    expect(weights(ten)).toEqual(before);
    // Excepting a tensor the network needs and the file lacks is fine too (the network keeps its own).
    const noFc = path.join(tmp(), 'no-fc.safetensors');
    const { tensors } = readFile(file);
    fs.writeFileSync(
      noFc,
      encodeSafetensors(
        [...tensors]
          .filter(([n]) => !n.startsWith('fc.'))
          .map(([name, t]) => ({
            name,
            dtype: t.dtype === 'I64' ? 'I64' : 'F32',
            shape: t.shape,
            values: t.dtype === 'I64' ? [0] : tensorAsFloat32(t, name),
          })),
      ),
    );
    await expect(ten.loadWeights(`file://${noFc}`)).rejects.toThrow(/missing tensor\(s\): fc.weight, fc.bias/);
    await ten.loadWeights(`file://${noFc}`, { except: ['fc.weight', 'fc.bias'] });
    // tfjs's format has no PyTorch names to except.
    await expect(ten.loadWeights('file:///tmp/some/model', { except: ['fc.weight'] })).rejects.toThrow(
      /'except' names PyTorch tensors, for safetensors files; 'file:\/\/\/tmp\/some\/model' is a tfjs model/,
    );
    source.dispose();
    ten.dispose();
  });
});

describe('loadWeights refuses a file that does not fit, naming each tensor, and assigns nothing', () => {
  let file = '';
  let tensors: Map<string, SafeTensor>;
  beforeAll(async () => {
    file = path.join(tmp(), 'good.safetensors');
    await tinyImagenet().save(`file://${file}`);
    tensors = readFile(file).tensors;
  });
  /** The good file with some tensors dropped, replaced or added. */
  function edited(edit: (t: Map<string, TensorToWrite>) => void): string {
    const t = new Map<string, TensorToWrite>();
    for (const [name, s] of tensors)
      t.set(name, {
        name,
        dtype: s.dtype === 'I64' ? 'I64' : 'F32',
        shape: s.shape,
        values: s.dtype === 'I64' ? [0] : tensorAsFloat32(s, name),
      });
    edit(t);
    const out = path.join(tmp(), 'edited.safetensors');
    fs.writeFileSync(out, encodeSafetensors([...t.values()]));
    return out;
  }
  async function refused(f: string, message: string | RegExp): Promise<void> {
    const net = tinyImagenet(8);
    const before = weights(net);
    await expect(net.loadWeights(`file://${f}`)).rejects.toThrow(message);
    expect(weights(net)).toEqual(before);
  }

  it('missing tensors, each named', async () => {
    const f = edited((t) => {
      t.delete('layer2.0.conv2.weight');
      t.delete('fc.bias');
    });
    await refused(
      f,
      `${f}: does not fit this ResNet (torchvision names): missing tensor(s): layer2.0.conv2.weight, fc.bias`,
    );
  });

  it('unexpected tensors, each named (a num_batches_tracked of ours, or none at all, is fine)', async () => {
    const f = edited((t) => {
      t.set('layer9.0.conv1.weight', { name: 'layer9.0.conv1.weight', dtype: 'F32', shape: [1], values: [0] });
      t.set('fc.extra', { name: 'fc.extra', dtype: 'F32', shape: [1], values: [0] });
    });
    await refused(f, /unexpected tensor\(s\), the network has no such weight: layer9\.0\.conv1\.weight, fc\.extra$/);
    const net = tinyImagenet(8);
    await net.loadWeights(
      `file://${edited((t) => {
        for (const n of [...t.keys()]) if (n.endsWith('num_batches_tracked')) t.delete(n);
      })}`,
    );
    expect(weights(net)).toEqual(weights(tinyImagenet()));
  });

  it('misshapen tensors: name, expected and found shape (PyTorch layout)', async () => {
    const f = edited((t) => {
      t.set('conv1.weight', {
        name: 'conv1.weight',
        dtype: 'F32',
        shape: [7, 7, 3, 8],
        values: new Float32Array(1176),
      });
      t.set('fc.weight', { name: 'fc.weight', dtype: 'F32', shape: [64, 5], values: new Float32Array(320) });
    });
    await refused(
      f,
      "'conv1.weight' has shape [7, 7, 3, 8], expected [8, 3, 7, 7]; 'fc.weight' has shape [64, 5], expected [5, 64]",
    );
  });

  it('all problems at once, and an integer weight by name', async () => {
    const f = edited((t) => {
      t.delete('bn1.bias');
      t.set('junk', { name: 'junk', dtype: 'F32', shape: [1], values: [0] });
      t.set('fc.bias', { name: 'fc.bias', dtype: 'F32', shape: [6], values: new Float32Array(6) });
    });
    await refused(
      f,
      /missing tensor\(s\): bn1\.bias; unexpected tensor\(s\), .*: junk; 'fc\.bias' has shape \[6\], expected \[5\]/,
    );
    const g = edited((t) => t.set('fc.bias', { name: 'fc.bias', dtype: 'I64', shape: [5], values: [1, 2, 3, 4, 5] }));
    await refused(g, `${g}: tensor 'fc.bias' is I64; a weight must be F32, F16, BF16, F64`);
  });

  it('a file of another network: the first names that differ', async () => {
    const seedNet = path.join(tmp(), 'seed.safetensors');
    await new ResNet({ widths: [4, 4, 8, 8], depths: [1, 1, 1, 1] }).build([96, 96, 1]).save(`file://${seedNet}`);
    await refused(
      seedNet,
      /missing tensor\(s\): conv1\.weight, bn1\.weight, .*unexpected tensor\(s\), .*: 0\.weight, 0\.bias/,
    );
  });

  it('an unreadable or malformed file, by its path', async () => {
    const missing = path.join(tmp(), 'nope.safetensors');
    await refused(missing, `${missing}: cannot read it (ENOENT)`);
    const truncated = path.join(tmp(), 'cut.safetensors');
    fs.writeFileSync(truncated, fs.readFileSync(file).subarray(0, fs.statSync(file).size - 100));
    await refused(
      truncated,
      new RegExp(`^${truncated}: tensor 'fc\\.weight': data_offsets \\[\\d+, \\d+\\] lie outside the data`),
    );
  });

  it('an unbuilt chapter net with a file that does not say its input shape', async () => {
    const f = path.join(tmp(), 'noshape.safetensors');
    fs.writeFileSync(f, encodeSafetensors([{ name: '0.weight', dtype: 'F32', shape: [1], values: [0] }]));
    await expect(new ResNet(resnetPreset('tiny')).loadWeights(`file://${f}`)).rejects.toThrow(
      `${f}: the ResNet is not built and the file does not say its input shape; build it first`,
    );
  });

  it('a write that cannot happen names the path and leaves no temp file', async () => {
    const dir = tmp();
    const blocker = path.join(dir, 'file');
    fs.writeFileSync(blocker, 'x');
    const target = path.join(blocker, 'net.safetensors'); // a file where a folder should be
    await expect(tinyImagenet().save(`file://${target}`)).rejects.toThrow(`${target}: cannot write it (`);
    expect(fs.readdirSync(dir)).toEqual(['file']);
  });
});
