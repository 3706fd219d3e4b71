/**
 * The rich-display convention (as in Deno's Jupyter kernel): an object with a method under this
 * symbol returns the MIME bundle it is shown as, e.g. `{ 'text/html': ..., 'text/plain': ... }`.
 * The resnet-ts kernel uses it for a cell's value and for `display(value)`.
 */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for('Jupyter.display') as never;

/** A MIME bundle: MIME type -> data, e.g. { 'text/html': ..., 'text/plain': ... }. */
export type MimeBundle = Record<string, unknown>;

/** The content of a display_data message (or of update_display_data, with a display id). */
export interface DisplayContent {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient?: { display_id?: string };
}
