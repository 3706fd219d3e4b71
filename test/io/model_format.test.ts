/**
 * Saving and loading networks in TensorFlow.js's format (model.json + weights.bin through tf.io):
 * bit-identical predictions in fp32 over file:// and over HTTP (tfjs's own HTTP handler, as a
 * browser loads it), each quantization within its tolerance, tfjs's decoder reading our float16,
 * and every malformed or mismatched file refused with an error that names it.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResNet, PlainOrResidualNet, TEXT_LABELS, loadModel, predictTopK, seedInitializers, tf } from '../../src/index';
import { float16Bits } from '../../src/io/model_artifacts';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'model-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
beforeAll(async () => {
  await tf.setBackend('cpu');
});

function tinyResNet(seed = 5): ResNet {
  seedInitializers(seed);
  const net = new ResNet({ widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headPool: 'global', block: 'bottleneck' });
  net.build([28, 28, 1]);
  seedInitializers(undefined);
  // Non-trivial batch-norm statistics, so they are checked too.
  for (const [name, v] of net.namedVariables())
    if (/moving/.test(name)) v.assign(tf.randomUniform(v.shape, 0.5, 1.5, 'float32', 3));
  return net;
}
const input = () => tf.randomNormal([8, 28, 28, 1], 0, 1, 'float32', 11);
const logits = (net: { apply(x: tf.Tensor): tf.Tensor }) => Array.from(net.apply(input()).dataSync());
const maxDiff = (a: number[], b: number[]) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('save and loadModel', () => {
  it('fp32 round trip over file://: same class, config, weights and predictions bit for bit', async () => {
    const net = tinyResNet();
    const dir = tmp();
    const r = await net.save(`file://${dir}`);
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    expect(r.modelArtifactsInfo.weightDataBytes).toBe(fs.statSync(path.join(dir, 'weights.bin')).size);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(json.weightsManifest[0].weights.map((w: { name: string }) => w.name)).toEqual(
      net.namedVariables().map(([n]) => n),
    );
    expect(json.modelTopology).toMatchObject({
      className: 'ResNet',
      inputShape: [28, 28, 1],
      config: { block: 'bottleneck' },
    });
    // The folder's URL or the model.json's own path.
    for (const url of [`file://${dir}`, `file://${path.join(dir, 'model.json')}`]) {
      const back = (await loadModel(url)) as ResNet;
      expect(back).toBeInstanceOf(ResNet);
      expect(back.config).toEqual(net.config);
      expect(logits(back)).toEqual(logits(net));
      for (const [[n, a], [, b]] of net.namedVariables().map((e, i) => [e, back.namedVariables()[i]] as const))
        expect(Array.from(b.dataSync()), n).toEqual(Array.from(a.dataSync()));
    }
  });

  it('over HTTP with tfjs own handler (what a browser does): same predictions', async () => {
    const net = tinyResNet(8);
    const dir = tmp();
    await net.save(`file://${dir}`);
    const server = http.createServer((req, res) => {
      const f = path.join(dir, path.basename(req.url ?? ''));
      if (!fs.existsSync(f)) return void res.writeHead(404).end();
      res.writeHead(200).end(fs.readFileSync(f));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const back = await loadModel(`http://127.0.0.1:${port}/model.json`);
      expect(logits(back)).toEqual(logits(net));
    } finally {
      server.close();
    }
  });

  it('PlainOrResidualNet too', async () => {
    seedInitializers(2);
    const net = new PlainOrResidualNet({ depth: 8, shortcuts: true, widths: [4, 8, 8] }).build([28, 28, 1]);
    seedInitializers(undefined);
    const dir = tmp();
    await net.save(`file://${dir}`);
    const back = await loadModel(`file://${dir}`);
    expect(back).toBeInstanceOf(PlainOrResidualNet);
    expect(logits(back)).toEqual(logits(net));
  });

  it('quantized: float16 half the size, uint8 a quarter, predictions within their tolerance', async () => {
    const net = tinyResNet(9);
    const ref = logits(net);
    const sizes: Record<string, number> = {};
    const diffs: Record<string, number> = {};
    for (const q of [undefined, 'float16', 'uint8'] as const) {
      const dir = tmp();
      await net.save(`file://${dir}`, { quantize: q });
      sizes[q ?? 'fp32'] = fs.statSync(path.join(dir, 'weights.bin')).size;
      const back = await loadModel(`file://${dir}`);
      diffs[q ?? 'fp32'] = maxDiff(logits(back), ref);
    }
    expect(sizes.float16 * 2).toBe(sizes.fp32);
    expect(sizes.uint8 * 4).toBe(sizes.fp32);
    expect(diffs.fp32).toBe(0);
    const scale = Math.max(...ref.map(Math.abs));
    expect(diffs.float16 / scale).toBeLessThan(2e-3);
    expect(diffs.uint8 / scale).toBeLessThan(5e-2);
    expect(diffs.float16).toBeGreaterThan(0); // really quantized
    await expect(net.save(`file://${tmp()}`, { quantize: 'int4' as never })).rejects.toThrow(
      `save: quantize must be 'float16' or 'uint8', got "int4"`,
    );
  });

  it("float16 bits are IEEE half's, as tfjs's decoder reads them", () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [65520, 0x7c00], // rounds up to infinity
      [2 ** -24, 0x0001], // smallest subnormal
      [1e-9, 0x0000],
      [0.1, 0x2e66],
      [Infinity, 0x7c00],
    ];
    for (const [x, bits] of cases) expect(float16Bits(x), String(x)).toBe(bits);
    expect(float16Bits(NaN) & 0x7c00).toBe(0x7c00);
    // tfjs decodes them back to the nearest half.
    const bytes = new Uint16Array(cases.map(([x]) => float16Bits(x)));
    const decoded = tf.io.decodeWeights(bytes.buffer, [
      { name: 'h', shape: [cases.length], dtype: 'float32', quantization: { dtype: 'float16' } },
    ]).h;
    expect(Array.from(decoded.dataSync())).toEqual([1, -2, 65504, Infinity, 2 ** -24, 0, 0.0999755859375, Infinity]);
  });
});

describe('malformed or mismatched models are refused, naming the problem', () => {
  let dir = '';
  let json: Record<string, any>;
  beforeAll(async () => {
    dir = tmp();
    await tinyResNet().save(`file://${dir}`);
    json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  });
  /** A copy of the saved model with model.json (and optionally the shard) changed. */
  const variant = (edit: (j: typeof json) => void, shard?: (b: Buffer) => Buffer) => {
    const d = tmp();
    const j = structuredClone(json);
    edit(j);
    fs.writeFileSync(path.join(d, 'model.json'), JSON.stringify(j));
    const bin = fs.readFileSync(path.join(dir, 'weights.bin'));
    fs.writeFileSync(path.join(d, 'weights.bin'), shard ? shard(bin) : bin);
    return `file://${d}`;
  };

  it.each([
    [
      'a weight the manifest lacks (and its bytes)',
      (j: typeof json) => j.weightsManifest[0].weights.pop(),
      (b: Buffer) => b.subarray(0, b.length - 4 * 10), // the head's bias: 10 float32
      /missing weight\(s\): b6\.1\.bias$/,
    ],
    [
      'a weight of another shape (same size)',
      (j: typeof json) => (j.weightsManifest[0].weights[0].shape = [7, 7, 8, 1]),
      undefined,
      /'b1\.weight' has shape \[7, 7, 8, 1\], the network's is \[7, 7, 1, 8\]/,
    ],
    [
      'a manifest longer than the data',
      (j: typeof json) => j.weightsManifest[0].weights.push({ name: 'extra', shape: [3], dtype: 'float32' }),
      undefined,
      /the weight data ends at byte \d+, inside 'extra' \(needs \d+\): a truncated shard\?/,
    ],
    [
      'an unknown architecture field',
      (j: typeof json) => (j.modelTopology.config.depthz = [1, 1, 1, 1]),
      undefined,
      /unknown ResNet config field\(s\) depthz/,
    ],
    [
      'an unknown class',
      (j: typeof json) => (j.modelTopology.className = 'VGG'),
      undefined,
      /unknown architecture 'VGG' \(this library builds ResNet, PlainOrResidualNet\)/,
    ],
    [
      'another format',
      (j: typeof json) => (j.format = 'layers-model'),
      undefined,
      /format "layers-model", expected 'resnet-ts-model'/,
    ],
    [
      'a truncated shard',
      () => {},
      (b: Buffer) => b.subarray(0, b.length - 100),
      /the weight data ends at byte \d+, inside '[\w.]+' \(needs \d+\): a truncated shard\?/,
    ],
    [
      'extra bytes after the last weight',
      () => {},
      (b: Buffer) => Buffer.concat([b, Buffer.alloc(8)]),
      /\d+ bytes of weight data, the manifest describes \d+/,
    ],
    [
      'a bad input shape',
      (j: typeof json) => (j.modelTopology.inputShape = [28, 0, 1]),
      undefined,
      /inputShape must be positive integers, got \[28,0,1\]/,
    ],
  ])('%s', async (_what, edit, shard, message) => {
    await expect(loadModel(variant(edit, shard))).rejects.toThrow(message);
  });

  it('a weight renamed: both the missing and the extra name are given', async () => {
    const url = variant((j) => (j.weightsManifest[0].weights[0].name = 'b1.wieght'));
    await expect(loadModel(url)).rejects.toThrow(
      /missing weight\(s\): b1\.weight; weight\(s\) the network does not have: b1\.wieght/,
    );
  });

  it('a missing shard file, model.json that is not JSON, or no model at all: the file is named', async () => {
    const noShard = tmp();
    fs.copyFileSync(path.join(dir, 'model.json'), path.join(noShard, 'model.json'));
    await expect(loadModel(`file://${noShard}`)).rejects.toThrow(
      `weight shard ${path.join(noShard, 'weights.bin')} cannot be read (ENOENT)`,
    );
    const bad = tmp();
    fs.writeFileSync(path.join(bad, 'model.json'), '{ not json');
    await expect(loadModel(`file://${bad}`)).rejects.toThrow(`${path.join(bad, 'model.json')}: not JSON`);
    await expect(loadModel(`file://${path.join(bad, 'nothing')}`)).rejects.toThrow(
      /model\.json: cannot read it \(ENOENT\)/,
    );
    await expect(loadModel('ftp://x/model.json')).rejects.toThrow("loadModel: no handler for 'ftp://x/model.json'");
  });

  it('saving an unbuilt network, or to an unwritable place, fails naming it', async () => {
    await expect(new ResNet(10).save(`file://${tmp()}`)).rejects.toThrow('save: ResNet has not been built yet');
    const file = path.join(tmp(), 'a-file');
    fs.writeFileSync(file, 'x');
    await expect(tinyResNet().save(`file://${path.join(file, 'model')}`)).rejects.toThrow(/ENOTDIR|EEXIST/);
  });
});

describe('predictTopK', () => {
  it('gives the k most probable classes with names, in order, from the softmax of the logits', () => {
    const net = tinyResNet(4);
    const x = input();
    const top = predictTopK(net, x, 3);
    const probs = tf.softmax(net.apply(x, { training: false })).arraySync() as number[][];
    expect(top).toHaveLength(8);
    top.forEach((row, i) => {
      const order = probs[i].map((p, label) => ({ p, label })).sort((a, b) => b.p - a.p);
      expect(row.map((r) => r.label)).toEqual(order.slice(0, 3).map((o) => o.label));
      expect(row.map((r) => r.className)).toEqual(row.map((r) => TEXT_LABELS[r.label]));
      for (const r of row) expect(r.probability).toBeCloseTo(probs[i][r.label], 6);
    });
    expect(predictTopK(net, x, 20)[0]).toHaveLength(10);
    expect(() => predictTopK(net, tf.zeros([28, 28, 1]))).toThrow(
      'predictTopK: images must be a batch [n, height, width, channels]; got shape [28, 28, 1]',
    );
    expect(() => predictTopK(net, x, 0)).toThrow('predictTopK: k must be an integer >= 1, got 0');
  });
});
