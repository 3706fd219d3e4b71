/**
 * The notebook display layer: MIME bundles of any value (display(), mimeBundleOf, a tensor as a
 * PNG), sent as display_data, and LiveDisplay for an output redrawn in place. Figures build their
 * bundles in plot/vega_bundle.ts; tables in table.ts.
 *
 * tslab's public API (`display.raw(mime, data)`) sends one MIME type per message; a bundle needs
 * the function tslab installs for the running cell (`lastWriteDisplayData` in tslab's jupyter
 * module), which takes the whole display_data content. It is found in the module cache, so the
 * instance of the running kernel is used. When it is missing (plain Node, tests), nothing is
 * displayed and the functions only return what they would have sent.
 *
 * `LiveDisplay` keeps one display id: its first show() creates the output, later ones replace it
 * in place (update_display_data), which is how the training plot redraws during training.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { inspect } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { currentOutputSink } from './capture';
import { JUPYTER_DISPLAY } from './jupyter_display';
import { encodeGrayPng, toBase64 } from './png';

export const VEGA_LITE_MIME = 'application/vnd.vegalite.v5+json';
/** The Vega-Lite MIME type JupyterLab 3's own renderer accepts (it draws v5 specs fine). */
export const VEGA_LITE_V4_MIME = 'application/vnd.vegalite.v4+json';
/** Every Vega-Lite MIME type a figure bundle carries, newest first. */
export const VEGA_LITE_MIMES = [VEGA_LITE_MIME, VEGA_LITE_V4_MIME] as const;

import type { DisplayContent, MimeBundle } from './jupyter_display';
export type { DisplayContent, MimeBundle } from './jupyter_display';
export type DisplayWriter = (content: DisplayContent, update: boolean) => void;

let injected: DisplayWriter | null | undefined;

/** Replaces the tslab lookup (tests; other kernels). `undefined` restores it, `null` disables display. */
export function setDisplayWriter(w: DisplayWriter | null | undefined): void {
  injected = w;
}

/** The running tslab kernel's display function, or null outside tslab. */
export function tslabWriter(): DisplayWriter | null {
  if (injected !== undefined) return injected;
  const suffix = path.join('tslab', 'dist', 'jupyter.js');
  for (const [file, mod] of Object.entries(require.cache)) {
    const w = file.endsWith(suffix)
      ? (mod?.exports as { lastWriteDisplayData?: DisplayWriter | null })?.lastWriteDisplayData
      : null;
    if (typeof w === 'function') return w;
  }
  return null;
}

/** True inside a tslab kernel (or with an injected writer). */
export const inNotebook = (): boolean => tslabWriter() !== null;

/**
 * The display metadata for a bundle: JupyterLab's Vega renderer reads `embed_options` (vega-embed
 * options) under each Vega-Lite MIME type; ask it for SVG.
 */
export function displayMetadata(data: MimeBundle): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  for (const mime of VEGA_LITE_MIMES) if (mime in data) metadata[mime] = { embed_options: { renderer: 'svg' } };
  return metadata;
}

/** Sends a MIME bundle as display_data (or update_display_data for an existing `displayId`). */
export function displayBundle(data: MimeBundle, opts: { displayId?: string; update?: boolean } = {}): boolean {
  const transient = opts.displayId ? { display_id: opts.displayId } : {};
  const content = { data, metadata: displayMetadata(data), transient };
  const sink = currentOutputSink(); // inside an Output widget's capture: the display goes there
  if (sink) {
    sink.display(content, opts.update ?? false);
    return true;
  }
  const w = tslabWriter();
  if (!w) return false;
  w(content, opts.update ?? false);
  return true;
}

/** Shows HTML with a plain-text fallback. */
export function showHtml(html: string, text: string): void {
  displayBundle({ 'text/html': html, 'text/plain': text });
}

/** One output that is redrawn in place. */
export class LiveDisplay {
  readonly id = randomBytes(8).toString('hex');
  private shown = false;
  /** How many times the output was drawn (first display + updates). */
  draws = 0;
  last: MimeBundle | null = null;

  show(bundle: MimeBundle): void {
    this.last = bundle;
    if (displayBundle(bundle, { displayId: this.id, update: this.shown })) {
      this.shown = true;
      this.draws++;
    }
  }
}

export { JUPYTER_DISPLAY };

interface RichValue {
  [JUPYTER_DISPLAY](): MimeBundle | Promise<MimeBundle>;
}

function isRich(v: unknown): v is RichValue {
  return (
    (typeof v === 'object' || typeof v === 'function') &&
    v !== null &&
    typeof (v as Partial<RichValue>)[JUPYTER_DISPLAY] === 'function'
  );
}

/** `text/plain` as Node's REPL shows a value. */
export function plainText(value: unknown): string {
  return typeof value === 'string' ? inspect(value) : inspect(value, { depth: 3, colors: false });
}

/**
 * The MIME bundle a value is shown as: its own `[Symbol.for('Jupyter.display')]()` bundle (with a
 * text/plain fallback added when it has none), else its util.inspect text.
 */
export async function mimeBundleOf(value: unknown): Promise<MimeBundle> {
  if (value instanceof tf.Tensor) return tensorBundle(value);
  if (isRich(value)) {
    const bundle = await value[JUPYTER_DISPLAY]();
    if (typeof bundle !== 'object' || bundle === null) {
      throw new TypeError(
        `[Symbol.for('Jupyter.display')]() must return a MIME bundle object; got ${plainText(bundle)}`,
      );
    }
    return 'text/plain' in bundle ? bundle : { ...bundle, 'text/plain': plainText(value) };
  }
  return { 'text/plain': plainText(value) };
}

/**
 * Shows any value in the notebook as Jupyter would show it as a cell's result (rich when it
 * implements `Symbol.for('Jupyter.display')`). Outside a notebook it prints the text form.
 * Returns the bundle.
 */
export async function display(value: unknown): Promise<MimeBundle> {
  const bundle = await mimeBundleOf(value);
  if (!displayBundle(bundle)) console.log(bundle['text/plain']);
  return bundle;
}

/**
 * A tensor as a cell's value: dtype, shape and tfjs's value preview; a single-channel image
 * ([H, W], [H, W, 1] or [1, H, W, 1], at least 8x8) also as a PNG, scaled to its own min..max.
 */
export function tensorBundle(t: tf.Tensor): MimeBundle {
  if (t.isDisposed) return { 'text/plain': `Tensor ${t.dtype} [${t.shape.join(', ')}] (disposed)` };
  const bundle: MimeBundle = {
    'text/plain': `Tensor ${t.dtype} [${t.shape.join(', ')}]\n${t.toString().replace(/^Tensor\n/, '')}`,
  };
  const dims = t.shape.filter((d, i) => !(d === 1 && (i === 0 || i === t.rank - 1)));
  const image = t.rank >= 2 && t.rank <= 4 && dims.length === 2 && dims[0] >= 8 && dims[1] >= 8 && t.dtype !== 'string';
  if (image) {
    const [h, w] = dims;
    const v = t.dataSync() as Float32Array | Int32Array | Uint8Array;
    let lo = Infinity;
    let hi = -Infinity;
    for (const x of v) {
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
    const span = hi > lo ? hi - lo : 1;
    const pixels = Array.from(v, (x) => (x - lo) / span); // floats in [0, 1]
    const scale = Math.max(1, Math.floor(192 / Math.max(h, w)));
    bundle['image/png'] = toBase64(encodeGrayPng(pixels, h, w, scale));
  }
  return bundle;
}
