/**
 * Interrupting long work from a notebook. A kernel that receives an interrupt (SIGINT or an
 * interrupt_request) calls `requestInterrupt()`; `train()` notices it between batches, stops
 * cleanly and returns what it has (`interrupted: true`), so the model and the history of the
 * finished epochs stay usable. The state lives on a global symbol, so a kernel and any copy of
 * the library loaded by notebook cells agree on it.
 */
const KEY = Symbol.for('resnet-ts.interrupt');

interface InterruptState {
  generation: number;
}

function state(): InterruptState {
  const g = globalThis as unknown as Record<symbol, InterruptState | undefined>;
  return (g[KEY] ??= { generation: 0 });
}

/** Asks the running work to stop at its next check. */
export function requestInterrupt(): void {
  state().generation++;
}

/** Watches for interrupts requested after it was created. */
export class InterruptWatch {
  private readonly start = state().generation;
  get requested(): boolean {
    return state().generation !== this.start;
  }
}
