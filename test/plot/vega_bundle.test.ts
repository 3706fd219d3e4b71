/**
 * The display bundle of a figure (src/plot/vega_bundle.ts) and the static SVG in it
 * (src/plot/render.ts): the text line, the same spec under both Vega-Lite keys, the synchronous
 * SVG's size and drawing against vega's own toSVG, and image marks on the asynchronous path only.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as vega from 'vega';
import { LiveDisplay, setDisplayWriter, VEGA_LITE_MIME, VEGA_LITE_V4_MIME } from '../../src/display/display';
import type { DisplayContent } from '../../src/display/display';
import { renderSvg, renderSvgAsync } from '../../src/plot/render';
import { imageGridSpec, seriesChartSpec, trainingCurvesSpec } from '../../src/plot/specs';
import { showVegaLite, showVegaLiteLive, vegaLiteBundle, vegaLiteBundleAsync } from '../../src/plot/vega_bundle';

afterEach(() => {
  setDisplayWriter(undefined);
  vi.restoreAllMocks();
});

const points = [
  { epoch: 0.5, metric: 'loss', value: 2 },
  { epoch: 1, metric: 'loss', value: 1 },
];
const grid = () =>
  imageGridSpec([{ pixels: new Uint8Array(16).fill(200), height: 4, width: 4, label: 'bag' }], { size: 16 });
/** The offset of the drawing: the first group's translation. */
const shift = (svg: string) => /<g [^>]*transform="translate\(([\d.]+),([\d.]+)\)"/.exec(svg)!.slice(1).map(Number);
const attr = (svg: string, name: string) => Number(new RegExp(`^<svg[^>]* ${name}="([\\d.]+)"`).exec(svg)?.[1]);

describe('vegaLiteBundle', () => {
  it('the spec under the v5 and v4 keys, an SVG, and a text line naming the title', () => {
    const spec = trainingCurvesSpec(points, { title: 'warm-up' });
    const b = vegaLiteBundle(spec);
    expect(Object.keys(b).sort()).toEqual([VEGA_LITE_MIME, VEGA_LITE_V4_MIME, 'image/svg+xml', 'text/plain'].sort());
    expect(b[VEGA_LITE_MIME]).toBe(spec);
    expect(b[VEGA_LITE_V4_MIME]).toBe(spec);
    expect(b['text/plain']).toBe('<Vega-Lite warm-up>');
    expect(b['image/svg+xml']).toBe(renderSvg(spec));
    expect(vegaLiteBundle(spec, 'loss so far')['text/plain']).toBe('loss so far');
  });

  it('a figure without a string title is called chart', () => {
    expect(vegaLiteBundle(trainingCurvesSpec(points))['text/plain']).toBe('<Vega-Lite chart>');
    const titled = { ...trainingCurvesSpec(points), title: { text: 'as an object' } };
    expect(vegaLiteBundle(titled)['text/plain']).toBe('<Vega-Lite chart>');
  });

  it('image marks: only the asynchronous bundle has the images', async () => {
    const spec = grid();
    const sync = vegaLiteBundle(spec);
    const async_ = await vegaLiteBundleAsync(spec, 'one image');
    expect(String(sync['image/svg+xml'])).toContain('xlink:href=""');
    expect(String(async_['image/svg+xml'])).toContain('xlink:href="data:image/png;base64,');
    expect(async_['image/svg+xml']).toBe(await renderSvgAsync(spec));
    expect(async_['text/plain']).toBe('one image');
    expect(async_[VEGA_LITE_V4_MIME]).toBe(spec);
    expect((await vegaLiteBundleAsync(spec))['text/plain']).toBe('<Vega-Lite chart>');
  });

  it('showVegaLite displays the asynchronous bundle once and returns it', async () => {
    const sent: DisplayContent[] = [];
    setDisplayWriter((c) => sent.push(c));
    const spec = grid();
    const b = await showVegaLite(spec);
    expect(sent).toHaveLength(1);
    expect(sent[0].data).toBe(b);
    expect(String(b['image/svg+xml'])).toContain('xlink:href="data:image/png;base64,');
  });

  it('showVegaLiteLive draws the synchronous bundle with its text into the live output', () => {
    const live = new LiveDisplay();
    const spec = trainingCurvesSpec(points, { title: 'live' });
    showVegaLiteLive(live, spec, 'loss 1.000');
    expect(live.last).toEqual(vegaLiteBundle(spec, 'loss 1.000'));
    showVegaLiteLive(live, spec);
    expect(live.last!['text/plain']).toBe('<Vega-Lite live>');
  });
});

describe('renderSvg', () => {
  it("is vega's toSVG without the awaits: same size, same drawing, for figures with and without facets", async () => {
    const specs = [
      trainingCurvesSpec(points, { title: 'curves', width: 300, height: 120 }),
      seriesChartSpec(
        [
          { series: 'a', x: 1, y: 1, panel: 'left' },
          { series: 'b', x: 2, y: 3, panel: 'right' },
        ],
        { xTitle: 'x', yTitle: 'y', title: 'two panels' },
      ),
      // Asymmetric padding: the left/top offset and each side count.
      { ...trainingCurvesSpec(points), padding: { left: 40, right: 3, top: 25, bottom: 7 } },
    ];
    for (const spec of specs) {
      const svg = renderSvg(spec);
      expect(svg).toBe(await renderSvgAsync(spec));
      expect(svg).toMatch(/^<svg/);
    }
    const padded = renderSvg(specs[2]);
    const plain = renderSvg(trainingCurvesSpec(points));
    expect(attr(padded, 'width') - attr(plain, 'width')).toBe(40 + 3 - 2 * 5);
    expect(attr(padded, 'height') - attr(plain, 'height')).toBe(25 + 7 - 2 * 5);
    // The drawing moves by the padding's left and top beyond vega's default of 5.
    expect(shift(padded).map((v, i) => v - shift(plain)[i])).toEqual([35, 20]);
  });

  it('finalises its vega view after rendering, also when the view fails to run', async () => {
    // A live plot redraws thousands of times: each view must release what it holds.
    const finalize = vi.spyOn(vega.View.prototype, 'finalize');
    renderSvg(trainingCurvesSpec(points));
    expect(finalize).toHaveBeenCalledTimes(1);
    await renderSvgAsync(trainingCurvesSpec(points));
    expect(finalize).toHaveBeenCalledTimes(2);
    const run = vi.spyOn(vega.View.prototype, 'run').mockImplementation(() => {
      throw new Error('dataflow error');
    });
    expect(() => renderSvg(trainingCurvesSpec(points))).toThrow('dataflow error');
    expect(finalize).toHaveBeenCalledTimes(3);
    run.mockRestore();
    vi.spyOn(vega.View.prototype, 'toSVG').mockRejectedValue(new Error('no svg'));
    await expect(renderSvgAsync(trainingCurvesSpec(points))).rejects.toThrow('no svg');
    expect(finalize).toHaveBeenCalledTimes(4);
  });

  it('renders the same spec again the same way (each view is finalised, nothing carried over)', () => {
    const spec = trainingCurvesSpec(points, { title: 'again' });
    expect(renderSvg(spec)).toBe(renderSvg(spec));
  });
});
