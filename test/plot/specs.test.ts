/**
 * The Vega-Lite specs field by field (src/plot/specs.ts): what each axis shows and is called, the
 * series and their legend order, the sizes and their defaults, the marks, and the image grid's
 * layout. plot.test.ts renders them; this file checks what a reader of the figure relies on.
 */
import { describe, expect, it } from 'vitest';
import {
  VEGA_LITE_SCHEMA,
  historyPoints,
  imageGridSpec,
  learningRateSpec,
  movingAverage,
  seriesChartSpec,
  trainingCurvesSpec,
} from '../../src/plot/specs';
import type { CurvePoint, VegaLiteSpec } from '../../src/plot/specs';

const get = (spec: VegaLiteSpec) => spec as any;

const history = [
  { epoch: 0, loss: 0.9, trainAcc: 0.7, testAcc: 0.8, seconds: 10, imagesPerSecond: 100 },
  { epoch: 1, loss: 0.5, trainAcc: 0.85, testAcc: 0.86, seconds: 10, imagesPerSecond: 100 },
];

describe('trainingCurvesSpec', () => {
  it('a history becomes loss, train acc and test acc at the end of each epoch (epoch 1 is the first)', () => {
    expect(historyPoints(history)).toEqual([
      { epoch: 1, metric: 'loss', value: 0.9 },
      { epoch: 1, metric: 'train acc', value: 0.7 },
      { epoch: 1, metric: 'test acc', value: 0.8 },
      { epoch: 2, metric: 'loss', value: 0.5 },
      { epoch: 2, metric: 'train acc', value: 0.85 },
      { epoch: 2, metric: 'test acc', value: 0.86 },
    ]);
    expect(get(trainingCurvesSpec(history)).data).toEqual({ values: historyPoints(history) });
  });

  it('axes: epoch against the value, one colour per metric, no axis or legend titles but epoch', () => {
    const s = get(trainingCurvesSpec(history));
    expect(s.$schema).toBe(VEGA_LITE_SCHEMA);
    expect(VEGA_LITE_SCHEMA).toBe('https://vega.github.io/schema/vega-lite/v5.json');
    expect(s.encoding).toEqual({
      x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
      y: { field: 'value', type: 'quantitative', title: null },
      color: {
        field: 'metric',
        type: 'nominal',
        title: null,
        sort: ['loss', 'train acc', 'test acc'],
        scale: { domain: ['loss', 'train acc', 'test acc'] },
      },
    });
    expect(s.config).toEqual({ legend: { orient: 'right' } });
  });

  it('sizes 420x260 by default, or as given; a title only when given', () => {
    const s = get(trainingCurvesSpec(history));
    expect([s.width, s.height]).toEqual([420, 260]);
    expect('title' in s).toBe(false);
    const t = get(trainingCurvesSpec(history, { title: 'ResNet-18', width: 300, height: 150 }));
    expect([t.title, t.width, t.height]).toEqual(['ResNet-18', 300, 150]);
    expect('title' in get(trainingCurvesSpec(history, { title: '' }))).toBe(false);
  });

  it('epochs fixes the x axis to [0, epochs] without rounding, so a live plot grows into it', () => {
    expect(get(trainingCurvesSpec(history, { epochs: 5 })).encoding.x.scale).toEqual({ domain: [0, 5], nice: false });
    expect('scale' in get(trainingCurvesSpec(history)).encoding.x).toBe(false);
    expect('scale' in get(trainingCurvesSpec(history, { epochs: 0 })).encoding.x).toBe(false);
  });

  it('the legend: the usual three in their order, then other series in first-appearance order', () => {
    const points: CurvePoint[] = [
      { epoch: 1, metric: 'val acc', value: 0.8 },
      { epoch: 1, metric: 'test acc', value: 0.8 },
      { epoch: 1, metric: 'lr', value: 0.1 },
      { epoch: 1, metric: 'loss', value: 1 },
      { epoch: 2, metric: 'val acc', value: 0.9 },
    ];
    const s = get(trainingCurvesSpec(points));
    expect(s.encoding.color.sort).toEqual(['loss', 'test acc', 'val acc', 'lr']);
    expect(s.encoding.color.scale.domain).toEqual(['loss', 'test acc', 'val acc', 'lr']);
    expect(s.data.values).toBe(points);
    expect(get(trainingCurvesSpec([])).encoding.color.sort).toEqual([]);
  });

  it('lines for every metric, visible points only for the metrics other than loss and train acc', () => {
    const [line, dots] = get(trainingCurvesSpec(history)).layer;
    expect(line).toEqual({ mark: { type: 'line', strokeWidth: 2 } });
    expect(dots.mark).toEqual({ type: 'point', filled: true, size: 30 });
    const { condition, value } = dots.encoding.opacity;
    expect([condition.value, value]).toEqual([1, 0]);
    // The condition is a Vega expression over the datum; as JavaScript it means the same.
    const opaque = new Function('datum', `return ${condition.test};`) as (d: { metric: string }) => boolean;
    expect(['loss', 'train acc', 'test acc', 'val acc'].map((metric) => opaque({ metric }))).toEqual([
      false,
      false,
      true,
      true,
    ]);
  });
});

describe('learningRateSpec', () => {
  it('one point per optimizer step against the step, 420x200 by default', () => {
    const s = get(learningRateSpec([0.1, 0.2, 0.3]));
    expect(s.$schema).toBe(VEGA_LITE_SCHEMA);
    expect(s.data.values).toEqual([
      { step: 0, lr: 0.1 },
      { step: 1, lr: 0.2 },
      { step: 2, lr: 0.3 },
    ]);
    expect(s.mark).toEqual({ type: 'line', strokeWidth: 2 });
    expect(s.encoding).toEqual({
      x: { field: 'step', type: 'quantitative', title: 'optimizer step' },
      y: { field: 'lr', type: 'quantitative', title: 'learning rate' },
    });
    expect([s.width, s.height, 'title' in s]).toEqual([420, 200, false]);
  });

  it('with stepsPerEpoch: the x axis in epochs', () => {
    const s = get(
      learningRateSpec([0.1, 0.2, 0.3, 0.4], { stepsPerEpoch: 2, title: 'one-cycle', width: 500, height: 100 }),
    );
    expect(s.data.values).toEqual([
      { step: 0, lr: 0.1, epoch: 0 },
      { step: 1, lr: 0.2, epoch: 0.5 },
      { step: 2, lr: 0.3, epoch: 1 },
      { step: 3, lr: 0.4, epoch: 1.5 },
    ]);
    expect(s.encoding.x).toEqual({ field: 'epoch', type: 'quantitative', title: 'epoch' });
    expect([s.title, s.width, s.height]).toEqual(['one-cycle', 500, 100]);
  });

  it('long schedules are thinned to about 500 points, keeping the last step', () => {
    const every = (n: number) => get(learningRateSpec(Array.from({ length: n }, (_, i) => i))).data.values;
    expect(every(999)).toHaveLength(999); // stride 1
    const thinned = every(1201); // stride 2
    expect(thinned).toHaveLength(601);
    expect(thinned.slice(0, 3).map((p: { step: number }) => p.step)).toEqual([0, 2, 4]);
    expect(thinned[600]).toEqual({ step: 1200, lr: 1200 });
    const odd = every(1000); // stride 2: the last step (999) is added
    expect(odd).toHaveLength(501);
    expect(odd.slice(-2).map((p: { step: number }) => p.step)).toEqual([998, 999]);
    expect(every(1500)).toHaveLength(500 + 1); // stride 3: 0, 3, ..., 1497, then 1499
  });
});

describe('seriesChartSpec', () => {
  const flat = [
    { series: 'plain', x: 1, y: 3 },
    { series: 'residual', x: 1, y: 2 },
    { series: 'plain', x: 2, y: 1 },
  ];

  it('one line per series against x, the titles given, a y axis not forced to zero', () => {
    const s = get(seriesChartSpec(flat, { xTitle: 'step', yTitle: 'loss' }));
    expect(s.$schema).toBe(VEGA_LITE_SCHEMA);
    expect(s.data).toEqual({ values: flat });
    expect(s.mark).toEqual({ type: 'line', strokeWidth: 2 });
    expect(s.encoding).toEqual({
      x: { field: 'x', type: 'quantitative', title: 'step' },
      y: { field: 'y', type: 'quantitative', title: 'loss', scale: { zero: false } },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        sort: ['plain', 'residual'],
        scale: { domain: ['plain', 'residual'] },
      },
    });
    expect([s.width, s.height, 'title' in s, 'facet' in s]).toEqual([420, 260, false, false]);
  });

  it('options: title, points on the lines, log y, sizes', () => {
    const s = get(
      seriesChartSpec(flat, {
        title: 'gradient norms',
        xTitle: 'layer',
        yTitle: 'norm',
        points: true,
        logY: true,
        width: 200,
        height: 120,
      }),
    );
    expect(s.title).toBe('gradient norms');
    expect(s.mark).toEqual({ type: 'line', strokeWidth: 2, point: { filled: true, size: 30 } });
    expect(s.encoding.y.scale).toEqual({ type: 'log' });
    expect([s.width, s.height]).toEqual([200, 120]);
  });

  it('panels: one column per panel value in first-appearance order, each 300 wide; one panel stays 420', () => {
    const two = get(
      seriesChartSpec(
        [
          { series: 'a', x: 1, y: 1, panel: 'trained' },
          { series: 'a', x: 1, y: 1, panel: 'initial' },
        ],
        { xTitle: 'x', yTitle: 'y' },
      ),
    );
    expect(two.facet).toEqual({
      column: { field: 'panel', type: 'nominal', title: null, sort: ['trained', 'initial'] },
    });
    expect([two.spec.width, two.spec.height]).toEqual([300, 260]);
    expect(two.spec.encoding.x.title).toBe('x');
    expect('mark' in two).toBe(false);
    const one = get(seriesChartSpec([{ series: 'a', x: 1, y: 1, panel: 'only' }], { xTitle: 'x', yTitle: 'y' }));
    expect(one.facet.column.sort).toEqual(['only']);
    expect(one.spec.width).toBe(420);
    expect(get(seriesChartSpec(flat, { xTitle: 'x', yTitle: 'y', width: 250 })).width).toBe(250);
  });
});

describe('movingAverage', () => {
  it('only whole windows; fractional or non-positive windows are refused by name', () => {
    expect(movingAverage([2, 4, 6, 8], 3)).toEqual([4, 6]);
    expect(movingAverage([2, 4, 6], 3)).toEqual([4]);
    expect(movingAverage([], 2)).toEqual([]);
    expect(() => movingAverage([1, 2], 1.5)).toThrow(
      new RangeError('movingAverage: window must be an integer >= 1, got 1.5'),
    );
    expect(() => movingAverage([1, 2], -1)).toThrow(/got -1/);
  });
});

describe('imageGridSpec', () => {
  const px = (h: number, w: number) => new Uint8Array(h * w).fill(128);
  /** Width and height of a PNG data URL's image. */
  const pngSize = (url: string) => {
    const png = Buffer.from(url.replace(/^data:image\/png;base64,/, ''), 'base64');
    return [png.readUInt32BE(16), png.readUInt32BE(20)];
  };

  it('one value per image: its index, a PNG scaled up to about the display size, label, sublabel, verdict', () => {
    const s = get(
      imageGridSpec(
        [
          { pixels: px(28, 28), height: 28, width: 28, label: 'coat', sublabel: 'shirt', correct: false },
          { pixels: px(28, 28), height: 28, width: 28, label: 'bag', sublabel: 'bag', correct: true },
          { pixels: px(10, 20), height: 10, width: 20, label: 'shoe' },
        ],
        { size: 56 },
      ),
    );
    const v = s.data.values;
    expect(v.map((x: Record<string, unknown>) => [x.i, x.label, x.sublabel, x.verdict])).toEqual([
      [0, 'coat', 'shirt', 'wrong'],
      [1, 'bag', 'bag', 'right'],
      [2, 'shoe', '', 'none'],
    ]);
    expect(v[0].url).toMatch(/^data:image\/png;base64,/);
    expect(pngSize(v[0].url)).toEqual([56, 56]); // 28 * 2
    expect(pngSize(v[2].url)).toEqual([60, 30]); // 56 / 20 rounds to 3
    // Images larger than the display size are not scaled down below 1.
    const big = get(imageGridSpec([{ pixels: px(28, 28), height: 28, width: 28, label: 'x' }], { size: 10 }));
    expect(pngSize(big.data.values[0].url)).toEqual([28, 28]);
  });

  it('layout: 8 columns of 72-pixel cells by default, no facet headers, two text lines under each image', () => {
    const s = get(imageGridSpec([{ pixels: px(2, 2), height: 2, width: 2, label: 'a' }]));
    expect(s.$schema).toBe(VEGA_LITE_SCHEMA);
    expect([s.columns, s.spacing, 'title' in s]).toEqual([8, 8, false]);
    expect(s.facet).toEqual({ field: 'i', type: 'ordinal', header: { title: null, labelExpr: "''", labelPadding: 0 } });
    expect([s.spec.width, s.spec.height, s.spec.view]).toEqual([72, 102, { stroke: null }]);
    const [image, label, sublabel] = s.spec.layer;
    expect(image).toEqual({
      mark: { type: 'image', width: 72, height: 72, align: 'left', baseline: 'top' },
      encoding: { url: { field: 'url', type: 'nominal' }, x: { value: 0 }, y: { value: 0 } },
    });
    expect(label).toEqual({
      mark: { type: 'text', align: 'center', baseline: 'top', fontSize: 11 },
      encoding: { text: { field: 'label' }, x: { value: 36 }, y: { value: 75 } },
    });
    expect(sublabel.mark).toEqual({ type: 'text', align: 'center', baseline: 'top', fontSize: 11, fontWeight: 'bold' });
    expect(sublabel.encoding).toEqual({
      text: { field: 'sublabel' },
      x: { value: 36 },
      y: { value: 88 },
      color: {
        field: 'verdict',
        type: 'nominal',
        legend: null,
        // right: green, wrong: red, no verdict: dark grey
        scale: { domain: ['right', 'wrong', 'none'], range: ['#1a7f37', '#cf222e', '#333333'] },
      },
    });
  });

  it('columns, size and title as given', () => {
    const s = get(
      imageGridSpec([{ pixels: px(2, 2), height: 2, width: 2, label: 'a' }], { columns: 4, size: 40, title: 'errors' }),
    );
    expect([s.columns, s.title, s.spec.width, s.spec.height]).toEqual([4, 'errors', 40, 70]);
    expect(s.spec.layer[0].mark.width).toBe(40);
    expect(s.spec.layer[2].encoding.y).toEqual({ value: 56 });
  });
});
