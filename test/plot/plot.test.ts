/** The notebook helpers in plain Node: specs, SVG rendering, PNG, display bundles, monitor, shape checks. */
import { afterEach, describe, expect, it } from 'vitest';
import { crc32, inflateSync } from 'node:zlib';
import {
  trainingCurvesSpec,
  seriesChartSpec,
  movingAverage,
  imageGridSpec,
  renderSvg,
  renderSvgAsync,
  encodeGrayPng,
  LiveDisplay,
  setDisplayWriter,
  showVegaLite,
  showVegaLiteLive,
  TrainingMonitor,
  expectShape,
  shapeChecksText,
  nchwToNhwc,
  nhwcToNchw,
  ShapeMismatchError,
  VEGA_LITE_MIME,
  VEGA_LITE_V4_MIME,
  trainingRecipe,
  isFastMode,
} from '../../src/index';
import type { DisplayContent } from '../../src/display/display';

afterEach(() => setDisplayWriter(undefined));

const history = [
  { epoch: 0, loss: 0.9, trainAcc: 0.7, testAcc: 0.8, seconds: 10, imagesPerSecond: 100 },
  { epoch: 1, loss: 0.5, trainAcc: 0.85, testAcc: 0.86, seconds: 10, imagesPerSecond: 100 },
];

describe('specs and rendering', () => {
  it('training curves from a history render to SVG with three series', () => {
    const spec = trainingCurvesSpec(history, { title: 'curves', epochs: 2 });
    expect((spec.data as { values: unknown[] }).values).toHaveLength(6);
    const svg = renderSvg(spec);
    expect(svg.startsWith('<svg')).toBe(true);
    for (const label of ['loss', 'train acc', 'test acc', 'curves', 'epoch']) expect(svg).toContain(label);
    expect(svg).toMatch(/<path[^>]*class="[^"]*"[^>]*d="M/); // drawn lines
  });

  it('legends list only the series present in the data: custom curves show no loss / train acc / test acc', () => {
    const domain = (spec: Record<string, unknown>) =>
      (spec.encoding as { color: { scale: { domain: string[] } } }).color.scale.domain;
    expect(domain(trainingCurvesSpec(history))).toEqual(['loss', 'train acc', 'test acc']);
    const minutes = [
      { epoch: 1.5, metric: 'seed: test acc', value: 0.85 },
      { epoch: 3, metric: 'fast: test acc', value: 0.91 },
    ];
    expect(domain(trainingCurvesSpec(minutes))).toEqual(['seed: test acc', 'fast: test acc']);
    // A live plot before the first evaluation: no test-accuracy entry yet.
    expect(
      domain(
        trainingCurvesSpec([
          { epoch: 0.1, metric: 'train acc', value: 0.3 },
          { epoch: 0.1, metric: 'loss', value: 2 },
        ]),
      ),
    ).toEqual(['loss', 'train acc']);
    const svg = renderSvg(trainingCurvesSpec(minutes));
    for (const absent of ['>loss<', '>train acc<', '>test acc<']) expect(svg).not.toContain(absent);
  });

  it('seriesChartSpec: one line per series, legend in first-appearance order, panels side by side, log axis', () => {
    const points = [
      { series: 'plain-56', x: 1, y: 900, panel: 'at initialisation' },
      { series: 'plain-56', x: 2, y: 30, panel: 'at initialisation' },
      { series: 'residual-56', x: 1, y: 5, panel: 'at initialisation' },
      { series: 'residual-56', x: 2, y: 4, panel: 'after training' },
    ];
    const spec = seriesChartSpec(points, { xTitle: 'layer', yTitle: 'gradient norm', logY: true });
    const inner = spec.spec as { encoding: Record<string, { scale?: Record<string, unknown> }> };
    expect(inner.encoding.color.scale!.domain).toEqual(['plain-56', 'residual-56']);
    expect(inner.encoding.y.scale).toEqual({ type: 'log' });
    expect((spec.facet as { column: { sort: string[] } }).column.sort).toEqual(['at initialisation', 'after training']);
    const svg = renderSvg(spec);
    for (const t of ['plain-56', 'residual-56', 'at initialisation', 'after training', 'gradient norm'])
      expect(svg).toContain(t);
    const flat = seriesChartSpec(
      points.map(({ panel: _, ...p }) => p),
      { xTitle: 'step', yTitle: 'loss' },
    );
    expect(flat.facet).toBeUndefined();
    expect((flat.encoding as { y: { scale: unknown } }).y.scale).toEqual({ zero: false });
  });

  it('movingAverage: the mean of each full window; a bad window is named', () => {
    expect(movingAverage([1, 2, 3, 4, 5], 2)).toEqual([1.5, 2.5, 3.5, 4.5]);
    expect(movingAverage([1, 2, 3], 1)).toEqual([1, 2, 3]);
    expect(movingAverage([1, 2], 3)).toEqual([]);
    expect(() => movingAverage([1], 0)).toThrow(/window must be an integer >= 1, got 0/);
  });

  it('the synchronous renderer gives exactly what vega.View.toSVG gives', async () => {
    const spec = trainingCurvesSpec(history);
    expect(renderSvg(spec)).toBe(await renderSvgAsync(spec));
  });

  it('image grid: PNG data URLs, labels, red/green verdicts', async () => {
    const px = new Uint8Array(28 * 28).map((_, i) => i % 256);
    const spec = imageGridSpec(
      [
        { pixels: px, height: 28, width: 28, label: 'coat', sublabel: 'shirt', correct: false },
        { pixels: px, height: 28, width: 28, label: 'bag', sublabel: 'bag', correct: true },
      ],
      { columns: 2, size: 56 },
    );
    const svg = await renderSvgAsync(spec);
    expect(svg.match(/xlink:href="data:image\/png;base64,/g)).toHaveLength(2);
    for (const t of ['coat', 'shirt', 'bag', '#cf222e', '#1a7f37']) expect(svg).toContain(t);
  });

  it('encodeGrayPng writes a valid grayscale PNG (scaled pixels round-trip)', () => {
    const png = Buffer.from(encodeGrayPng(Float32Array.from([0, 0.5, 1, 0.25]), 2, 2, 3));
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.readUInt32BE(16)).toBe(6); // width
    expect(png.readUInt32BE(20)).toBe(6); // height
    expect(png.readUInt32BE(29)).toBe(crc32(png.subarray(12, 29))); // the IHDR chunk's CRC
    const idatLen = png.readUInt32BE(33);
    const raw = inflateSync(png.subarray(41, 41 + idatLen));
    expect(raw.length).toBe(6 * 7);
    expect([raw[1], raw[4], raw[7 * 3 + 1], raw[7 * 3 + 4]]).toEqual([0, 128, 255, 64]);
  });
});

describe('display in a notebook', () => {
  it('showVegaLite sends one bundle: vega-lite spec (v5 and v4 keys), static SVG and text', async () => {
    const sent: [DisplayContent, boolean][] = [];
    setDisplayWriter((c, u) => sent.push([c, u]));
    await showVegaLite(trainingCurvesSpec(history), 'two epochs');
    expect(sent).toHaveLength(1);
    const [c, update] = sent[0];
    expect(update).toBe(false);
    expect(Object.keys(c.data).sort()).toEqual(
      [VEGA_LITE_MIME, VEGA_LITE_V4_MIME, 'image/svg+xml', 'text/plain'].sort(),
    );
    expect(c.data[VEGA_LITE_V4_MIME]).toBe(c.data[VEGA_LITE_MIME]); // the same spec under both keys
    // JupyterLab's renderer is asked for SVG under each Vega-Lite key, nothing else.
    expect(c.metadata).toEqual({
      [VEGA_LITE_MIME]: { embed_options: { renderer: 'svg' } },
      [VEGA_LITE_V4_MIME]: { embed_options: { renderer: 'svg' } },
    });
    expect(String(c.data['image/svg+xml'])).toMatch(/^<svg/);
    expect(c.data['text/plain']).toBe('two epochs');
  });

  it('LiveDisplay: first draw is display_data, later ones update the same display id', () => {
    const sent: [DisplayContent, boolean][] = [];
    setDisplayWriter((c, u) => sent.push([c, u]));
    const d = new LiveDisplay();
    showVegaLiteLive(d, trainingCurvesSpec(history.slice(0, 1)));
    showVegaLiteLive(d, trainingCurvesSpec(history));
    expect(sent.map(([, u]) => u)).toEqual([false, true]);
    expect(sent.every(([c]) => c.transient?.display_id === d.id)).toBe(true);
  });

  it('outside a notebook nothing is displayed and nothing throws', async () => {
    setDisplayWriter(null);
    const d = new LiveDisplay();
    showVegaLiteLive(d, trainingCurvesSpec(history));
    expect(d.draws).toBe(0);
    const bundle = await showVegaLite(trainingCurvesSpec(history), 'two epochs');
    // As JSON: vega tags the data rows it rendered with a symbol.
    expect(JSON.stringify(bundle[VEGA_LITE_MIME])).toBe(JSON.stringify(trainingCurvesSpec(history)));
    expect(bundle['text/plain']).toBe('two epochs');
  });

  it('TrainingMonitor redraws every N batches and at the epoch end, with running means', () => {
    const sent: [DisplayContent, boolean][] = [];
    setDisplayWriter((c, u) => sent.push([c, u]));
    const m = new TrainingMonitor({ every: 3, epochs: 1 });
    for (let b = 1; b <= 7; b++)
      m.onBatch({ epoch: 0, batch: b, numBatches: 7, loss: b, batchSize: 2, correct: b % 2, imagesPerSecond: 1 });
    // batches 3, 6 and 7 (the last); then the epoch's record
    expect(sent).toHaveLength(3);
    m.onEpoch({ epoch: 0, loss: 4, trainAcc: 0.5, testAcc: 0.6, seconds: 1, imagesPerSecond: 1 });
    expect(sent).toHaveLength(4);
    expect(sent.slice(1).every(([, u]) => u)).toBe(true);
    const losses = m.points.filter((p) => p.metric === 'loss');
    expect(losses[2].value).toBeCloseTo(2); // mean of 1, 2, 3
    // train acc from the events' own counts: (1 + 0 + 1) correct of 3 * 2 examples
    expect(m.points.filter((p) => p.metric === 'train acc')[2].value).toBeCloseTo(2 / 6);
    expect(m.points.filter((p) => p.epoch === 1).map((p) => [p.metric, p.value])).toEqual([
      ['loss', 4],
      ['train acc', 0.5],
      ['test acc', 0.6],
    ]);
    expect(String(sent[3][0].data['text/plain'])).toContain('test acc 0.600');
  });
});

describe('shape checks and the recipe', () => {
  it('expectShape passes, shows seed NCHW beside NHWC, and throws on a mismatch', () => {
    const ok = expectShape('Residual(3)', [4, 6, 6, 3], null, [4, 3, 6, 6]);
    expect(ok.ok).toBe(true);
    expect(shapeChecksText([ok])).toMatch(/Residual\(3\)\s+\(4, 3, 6, 6\)\s+\[4, 6, 6, 3\]\s+\[4, 6, 6, 3\]\s+ok/);
    expect(() => expectShape('Residual(8)', [4, 6, 6, 8], [4, 3, 3, 8])).toThrow(ShapeMismatchError);
    expect(() => expectShape('Residual(8)', [4, 6, 6, 8], [4, 3, 3, 8])).toThrow(
      'expected [4, 3, 3, 8], got [4, 6, 6, 8]',
    );
    expect(nchwToNhwc([4, 8, 3, 3])).toEqual([4, 3, 3, 8]);
    expect(nhwcToNchw([4, 3, 3, 8])).toEqual([4, 8, 3, 3]);
    expect(nchwToNhwc([4, 10])).toEqual([4, 10]);
  });

  it("full recipe is the seed's; fast mode is small", () => {
    const full = trainingRecipe({ fast: false });
    expect([
      full.batchSize,
      full.resize,
      full.learningRate,
      full.epochs,
      full.trainLimit,
      full.maxBatchesPerEpoch,
    ]).toEqual([64, 96, 0.05, 1, undefined, undefined]);
    expect(full.model).toEqual({});
    const fast = trainingRecipe({ fast: true });
    expect(fast.name === 'tiny' && fast.trainLimit! <= 2000 && fast.maxBatchesPerEpoch! <= 50).toBe(true);
    expect(isFastMode({ RESNET_TS_FAST: '1' })).toBe(true);
    expect(isFastMode({ RESNET_TS_FAST: '0' })).toBe(false);
    expect(isFastMode({})).toBe(false);
  });
});
