/**
 * Output capture: while a function runs inside `captureOutput(sink, fn)`, what it prints and
 * displays goes to `sink` instead of the cell's output (an `Output` widget collects it this way).
 * The context follows the function's asynchronous work (AsyncLocalStorage), so a callback that
 * awaits still lands in its own sink while a training cell keeps printing to its cell.
 *
 * The storage lives on a global symbol: the kernel (which routes console output) and the copy of
 * the library that notebook cells load must agree on one instance.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { DisplayContent } from './jupyter_display';

export interface OutputSink {
  /** Text written to stdout or stderr (console.log, console.error). */
  stream(name: 'stdout' | 'stderr', text: string): void;
  /** A display_data (or, with `update`, an update_display_data for the same display id). */
  display(content: DisplayContent, update: boolean): void;
}

const KEY = Symbol.for('resnet-ts.output-capture');

function storage(): AsyncLocalStorage<OutputSink> {
  const g = globalThis as unknown as Record<symbol, AsyncLocalStorage<OutputSink> | undefined>;
  return (g[KEY] ??= new AsyncLocalStorage<OutputSink>());
}

/** Runs `fn` with its output going to `sink`; returns what `fn` returns. */
export function captureOutput<T>(sink: OutputSink, fn: () => T): T {
  return storage().run(sink, fn);
}

/** The sink of the running code, or undefined when its output goes to the cell. */
export function currentOutputSink(): OutputSink | undefined {
  return storage().getStore();
}
