/**
 * Vega-Lite (v5) specs for the chapter's figures: training curves, a learning-rate schedule and a
 * grid of test images with their true and predicted labels. Pure data -> JSON; rendering is in render.ts / display.ts.
 */
import type { EpochRecord } from '../train/history';
import { encodeGrayPng, pngDataUrl } from '../display/png';

export type VegaLiteSpec = Record<string, unknown>;
export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/** One value of one curve at a (fractional) epoch: 0.5 is halfway through the first epoch. */
export interface CurvePoint {
  epoch: number;
  metric: string;
  value: number;
}

/** The points of a training history: loss, train acc and test acc at the end of each epoch. */
export function historyPoints(history: EpochRecord[]): CurvePoint[] {
  return history.flatMap((r) => [
    { epoch: r.epoch + 1, metric: 'loss', value: r.loss },
    { epoch: r.epoch + 1, metric: 'train acc', value: r.trainAcc },
    { epoch: r.epoch + 1, metric: 'test acc', value: r.testAcc },
  ]);
}

export interface CurvesOptions {
  title?: string;
  /** Fix the x axis to [0, epochs] so a live plot grows into it. */
  epochs?: number;
  width?: number;
  height?: number;
}

const METRIC_ORDER = ['loss', 'train acc', 'test acc'];

/**
 * Loss, train accuracy and test accuracy against epochs, one line each, on one axis (as d2l's
 * plots do); accepts a training history (EpochRecord[]) or curve points.
 */
export function trainingCurvesSpec(data: EpochRecord[] | CurvePoint[], opts: CurvesOptions = {}): VegaLiteSpec {
  const points: CurvePoint[] =
    data.length > 0 && 'trainAcc' in data[0] ? historyPoints(data as EpochRecord[]) : (data as CurvePoint[]);
  // The legend lists only the series that have points, in a fixed order (the usual three first).
  const present = new Set(points.map((p) => p.metric));
  const metrics = [
    ...METRIC_ORDER.filter((m) => present.has(m)),
    ...[...present].filter((m) => !METRIC_ORDER.includes(m)),
  ];
  const x: Record<string, unknown> = { field: 'epoch', type: 'quantitative', title: 'epoch' };
  if (opts.epochs) x.scale = { domain: [0, opts.epochs], nice: false };
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...(opts.title ? { title: opts.title } : {}),
    width: opts.width ?? 420,
    height: opts.height ?? 260,
    data: { values: points },
    encoding: {
      x,
      y: { field: 'value', type: 'quantitative', title: null },
      color: { field: 'metric', type: 'nominal', title: null, sort: metrics, scale: { domain: metrics } },
    },
    layer: [
      { mark: { type: 'line', strokeWidth: 2 } },
      // Points make single values (one epoch's test accuracy) visible. The per-batch metrics get
      // transparent points rather than a filter: a filter that leaves a layer empty (no test
      // accuracy yet) makes the browser's vega warn about an infinite extent on every redraw.
      {
        mark: { type: 'point', filled: true, size: 30 },
        encoding: {
          opacity: {
            condition: { test: "datum.metric !== 'loss' && datum.metric !== 'train acc'", value: 1 },
            value: 0,
          },
        },
      },
    ],
    config: { legend: { orient: 'right' } },
  };
}

export interface LearningRateOptions {
  title?: string;
  /** Marks epoch boundaries on the x axis (in epochs rather than steps) when given. */
  stepsPerEpoch?: number;
  width?: number;
  height?: number;
}

/** A learning-rate schedule's value per optimizer step (e.g. scheduleValues(recipeSchedule(...))). */
export function learningRateSpec(values: number[], opts: LearningRateOptions = {}): VegaLiteSpec {
  const per = opts.stepsPerEpoch;
  // Every step for short runs; thinned to ~500 points for long ones (the curve is smooth).
  const stride = Math.max(1, Math.floor(values.length / 500));
  const points = values
    .map((lr, step) => ({ step, lr }))
    .filter((p, i) => i % stride === 0 || i === values.length - 1)
    .map((p) => (per ? { ...p, epoch: p.step / per } : p));
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...(opts.title ? { title: opts.title } : {}),
    width: opts.width ?? 420,
    height: opts.height ?? 200,
    data: { values: points },
    mark: { type: 'line', strokeWidth: 2 },
    encoding: {
      x: per
        ? { field: 'epoch', type: 'quantitative', title: 'epoch' }
        : { field: 'step', type: 'quantitative', title: 'optimizer step' },
      y: { field: 'lr', type: 'quantitative', title: 'learning rate' },
    },
  };
}

/** One point of a named series; `panel` puts the series in side-by-side panels. */
export interface SeriesPoint {
  series: string;
  x: number;
  y: number;
  panel?: string;
}

export interface SeriesChartOptions {
  title?: string;
  xTitle: string;
  yTitle: string;
  /** A log-scale y axis (gradient norms spanning orders of magnitude). */
  logY?: boolean;
  /** Points on the lines (few x values, e.g. per epoch or per layer). */
  points?: boolean;
  width?: number;
  height?: number;
}

/**
 * Lines of named series against a numeric x (steps, layers, minutes), one colour per series; the
 * legend lists exactly the series in the data, in their first-appearance order. With `panel` on
 * the points, one panel per value, side by side, sharing the y axis.
 */
export function seriesChartSpec(points: SeriesPoint[], opts: SeriesChartOptions): VegaLiteSpec {
  const series = [...new Set(points.map((p) => p.series))];
  const panels = [...new Set(points.map((p) => p.panel).filter((p): p is string => p !== undefined))];
  const mark = { type: 'line', strokeWidth: 2, ...(opts.points ? { point: { filled: true, size: 30 } } : {}) };
  const inner = {
    width: opts.width ?? (panels.length > 1 ? 300 : 420),
    height: opts.height ?? 260,
    mark,
    encoding: {
      x: { field: 'x', type: 'quantitative', title: opts.xTitle },
      y: {
        field: 'y',
        type: 'quantitative',
        title: opts.yTitle,
        ...(opts.logY ? { scale: { type: 'log' } } : { scale: { zero: false } }),
      },
      color: { field: 'series', type: 'nominal', title: null, sort: series, scale: { domain: series } },
    },
  };
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...(opts.title ? { title: opts.title } : {}),
    data: { values: points },
    ...(panels.length > 0
      ? { facet: { column: { field: 'panel', type: 'nominal', title: null, sort: panels } }, spec: inner }
      : inner),
  };
}

/** The mean of each window of `window` consecutive values, one per value from the window-th on (a smoothed loss curve). */
export function movingAverage(values: number[], window: number): number[] {
  if (!Number.isInteger(window) || window < 1)
    throw new RangeError(`movingAverage: window must be an integer >= 1, got ${window}`);
  const out: number[] = [];
  let sum = 0;
  values.forEach((v, i) => {
    sum += v - (i >= window ? values[i - window] : 0);
    if (i >= window - 1) out.push(sum / window);
  });
  return out;
}

export interface GridImage {
  /** height*width pixels, row-major: 0..255 (Uint8Array) or floats in [0, 1]. */
  pixels: ArrayLike<number>;
  height: number;
  width: number;
  /** Shown under the image, e.g. the true label. */
  label: string;
  /** Second line, e.g. the prediction; with `correct`, coloured green or red. */
  sublabel?: string;
  correct?: boolean;
}

export interface GridOptions {
  columns?: number;
  /** Displayed size of each image in pixels. */
  size?: number;
  title?: string;
}

/** A grid of grayscale images (PNG data URLs) with one or two lines of text under each. */
export function imageGridSpec(images: GridImage[], opts: GridOptions = {}): VegaLiteSpec {
  const size = opts.size ?? 72;
  const values = images.map((im, i) => {
    const scale = Math.max(1, Math.round(size / Math.max(im.height, im.width)));
    return {
      i,
      url: pngDataUrl(encodeGrayPng(im.pixels, im.height, im.width, scale)),
      label: im.label,
      sublabel: im.sublabel ?? '',
      verdict: im.correct === undefined ? 'none' : im.correct ? 'right' : 'wrong',
    };
  });
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...(opts.title ? { title: opts.title } : {}),
    data: { values },
    columns: opts.columns ?? 8,
    // Empty header labels (`labels: false` still draws the facet values).
    facet: { field: 'i', type: 'ordinal', header: { title: null, labelExpr: "''", labelPadding: 0 } },
    spec: {
      width: size,
      height: size + 30,
      view: { stroke: null },
      layer: [
        {
          mark: { type: 'image', width: size, height: size, align: 'left', baseline: 'top' },
          encoding: { url: { field: 'url', type: 'nominal' }, x: { value: 0 }, y: { value: 0 } },
        },
        {
          mark: { type: 'text', align: 'center', baseline: 'top', fontSize: 11 },
          encoding: { text: { field: 'label' }, x: { value: size / 2 }, y: { value: size + 3 } },
        },
        {
          mark: { type: 'text', align: 'center', baseline: 'top', fontSize: 11, fontWeight: 'bold' },
          encoding: {
            text: { field: 'sublabel' },
            x: { value: size / 2 },
            y: { value: size + 16 },
            color: {
              field: 'verdict',
              type: 'nominal',
              legend: null,
              scale: { domain: ['right', 'wrong', 'none'], range: ['#1a7f37', '#cf222e', '#333333'] },
            },
          },
        },
      ],
    },
    spacing: 8,
  };
}
