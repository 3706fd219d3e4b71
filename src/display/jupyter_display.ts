/**
 * The rich-display convention (as in Deno's Jupyter kernel): an object with a method under this
 * symbol returns the MIME bundle it is shown as, e.g. `{ 'text/html': ..., 'text/plain': ... }`.
 * The resnet-ts kernel uses it for a cell's value and for `display(value)`.
 */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for('Jupyter.display') as never;
