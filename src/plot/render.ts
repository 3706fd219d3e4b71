/**
 * Renders Vega-Lite specs to a static SVG string in Node with vega + vega-lite (no canvas, no
 * browser), so figures show wherever SVG shows. Synchronous on purpose: a training loop that
 * never yields to the event loop can still redraw its live plot.
 */
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { VegaLiteSpec } from './specs';

/**
 * SVG of a Vega-Lite spec, rendered synchronously (inline data only). Image marks come out
 * empty (vega loads images asynchronously): use renderSvgAsync for those.
 */
export function renderSvg(spec: VegaLiteSpec): string {
  const view = new vega.View(vega.parse(compile(spec as never).spec), { renderer: 'none' });
  try {
    view.run();
    // What view.toSVG() does, minus its awaits: size from the view's layout plus padding.
    const v = view as unknown as {
      _viewWidth: number;
      _viewHeight: number;
      _origin: [number, number];
      _scenegraph: { root: unknown };
    };
    const pad = view.padding() as { left: number; right: number; top: number; bottom: number };
    // SVGStringRenderer is in vega's runtime exports but not in its type declarations.
    const SVGStringRenderer = (
      vega as unknown as { SVGStringRenderer: new (loader: unknown) => { initialize(...a: unknown[]): unknown } }
    ).SVGStringRenderer;
    const renderer = new SVGStringRenderer(view.loader()).initialize(
      null,
      v._viewWidth + pad.left + pad.right,
      v._viewHeight + pad.top + pad.bottom,
      [pad.left + v._origin[0], pad.top + v._origin[1]],
    ) as unknown as {
      background(c: unknown): { render(root: unknown): void; svg(): string };
    };
    const r = renderer.background(view.background());
    r.render(v._scenegraph.root);
    return r.svg();
  } finally {
    view.finalize();
  }
}

/** The same through vega's own asynchronous toSVG (loads images of image marks). */
export async function renderSvgAsync(spec: VegaLiteSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec as never).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
