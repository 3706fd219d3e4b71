/**
 * Figures in a notebook. In a tslab kernel, a figure is sent as one display_data bundle:
 *
 *   application/vnd.vegalite.v5+json   the spec (JupyterLab 4, VS Code render it interactively)
 *   application/vnd.vegalite.v4+json   the same spec again, for JupyterLab 3: its Vega renderer
 *                                      (@jupyterlab/vega5-extension 3.x) is registered for the
 *                                      v3/v4 types only, although it draws with vega-lite 5
 *   image/svg+xml                      a static SVG rendered by vega in Node (classic Notebook,
 *                                      GitHub, nbviewer, any front end without a Vega renderer)
 *   text/plain                         a one-line description
 *
 * The metadata (display/display.ts's displayMetadata) asks JupyterLab's renderer for SVG instead
 * of a canvas (crisp when zoomed, and its marks can be inspected). test/plot/lab_mime.test.ts
 * checks the bundle against the MIME types the vega5-extension of the lab build (lab-app/) registers.
 */
import {
  type LiveDisplay,
  type MimeBundle,
  VEGA_LITE_MIME,
  VEGA_LITE_V4_MIME,
  displayBundle,
} from '../display/display';
import { renderSvg, renderSvgAsync } from './render';
import type { VegaLiteSpec } from './specs';

function bundleOf(spec: VegaLiteSpec, svg: string, text?: string): MimeBundle {
  const title = typeof spec.title === 'string' ? spec.title : 'chart';
  return {
    [VEGA_LITE_MIME]: spec,
    [VEGA_LITE_V4_MIME]: spec,
    'image/svg+xml': svg,
    'text/plain': text ?? `<Vega-Lite ${title}>`,
  };
}

/**
 * The bundle for a Vega-Lite spec: the spec, a static SVG, and a text line. Rendered
 * synchronously, so specs with image marks come out without their images: use
 * `vegaLiteBundleAsync` / `showVegaLite` for those.
 */
export function vegaLiteBundle(spec: VegaLiteSpec, text?: string): MimeBundle {
  return bundleOf(spec, renderSvg(spec), text);
}

/** The bundle, rendered by vega's asynchronous path (loads the images of image marks). */
export async function vegaLiteBundleAsync(spec: VegaLiteSpec, text?: string): Promise<MimeBundle> {
  return bundleOf(spec, await renderSvgAsync(spec), text);
}

/** Shows a Vega-Lite spec once (`await` it); returns the bundle (also outside a notebook). */
export async function showVegaLite(spec: VegaLiteSpec, text?: string): Promise<MimeBundle> {
  const bundle = await vegaLiteBundleAsync(spec, text);
  displayBundle(bundle);
  return bundle;
}

/** Redraws a live output with a figure; synchronous (works inside a loop that never yields), no image marks. */
export function showVegaLiteLive(live: LiveDisplay, spec: VegaLiteSpec, text?: string): void {
  live.show(vegaLiteBundle(spec, text));
}
