/**
 * Runs notebook cells with tslab's TypeScript engine (its converter and executor, used as a
 * library) and returns what Jupyter needs: the cell's value, or a structured error.
 *
 * tslab's executor reports through the console object it is given: diagnostics as
 * console.error('%s%d:%d - %s', ...), runtime errors as console.error(error), the value of the last
 * expression as console.log(value). The kernel passes its own console and turns those calls into
 * an execute_result or an error. Two tslab shortcomings are fixed around it:
 * - `{ net }` (a shorthand property naming a variable of an earlier cell) compiles to invalid
 *   JavaScript (`{ exports.net }`), so cells are given to the converter with shorthand properties
 *   spelled out (`{ net: net }`);
 * - every cell ran as the same anonymous script, so stack frames could not say which cell: each
 *   now runs as the script `cell[N]`, and the kernel keeps each cell's source and JavaScript to
 *   map frames back to cell lines.
 */
import * as path from 'node:path';
import type * as VM from 'node:vm';
import type * as TS from 'typescript';
import { InterruptWatch, requestInterrupt } from '../../src/train/interrupt';
import { CellCode, Diagnostic, JupyterError, KEYBOARD_INTERRUPT, diagnosticsError, runtimeError } from './errors';

/* eslint-disable @typescript-eslint/no-require-imports -- tslab ships CommonJS without types for these modules */
const tslabDir = path.dirname(require.resolve('tslab/package.json'));
const ts: typeof TS = require(require.resolve('@tslab/typescript-for-tslab', { paths: [tslabDir] }));
const { createConverter, isCompleteCode } = require('tslab/dist/converter');
const { createExecutor } = require('tslab/dist/executor');
/** The vm module object itself (an `import *` namespace is read-only): tslab calls its runInThisContext. */
const vm: typeof VM = require('node:vm');
/* eslint-enable @typescript-eslint/no-require-imports */

interface Converter {
  convert(prevDecl: string, src: string): { output?: string };
  close(): void;
}
interface TslabExecutor {
  execute(src: string): Promise<boolean>;
  inspect(src: string, pos: number): unknown;
  complete(src: string, pos: number): { start: number; end: number; candidates: string[] };
  interrupt(): void;
  close(): void;
  locals: Record<string, unknown>;
}

export type CellResult =
  { status: 'ok'; hasValue: boolean; value?: unknown } | { status: 'error'; error: JupyterError; interrupted: boolean };

const TSLAB_PREFIX = /^\(?(async )?function\(exports, require\) \{ /;
/** Seconds a cell gets after an interrupt to stop by itself (train() stops at its next batch) before it is abandoned. */
const INTERRUPT_GRACE_MS = 3000;

/** `{ a, b }` -> `{ a: a, b: b }` in object literals (same meaning; tslab mis-compiles the short form). */
export function expandShorthandProperties(src: string): string {
  if (!src.includes('{')) return src;
  const file = ts.createSourceFile('cell.ts', src, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const edits: { at: number; text: string }[] = [];
  const visit = (node: TS.Node): void => {
    if (ts.isShorthandPropertyAssignment(node) && !node.objectAssignmentInitializer) {
      edits.push({ at: node.name.getEnd(), text: `: ${node.name.text}` });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  let out = src;
  for (const e of edits.sort((a, b) => b.at - a.at)) out = out.slice(0, e.at) + e.text + out.slice(e.at);
  return out;
}

export class CellExecutor {
  private readonly converters: { node?: Converter; browser?: Converter } = {};
  private readonly executor: TslabExecutor;
  private readonly cells = new Map<number, CellCode>();
  private current: { count: number; source: string; output: string } | null = null;
  private captured: { value?: unknown; hasValue: boolean; errors: unknown[][] } = { hasValue: false, errors: [] };
  private interruptedAt = 0;
  private running: InterruptWatch | null = null;

  constructor(
    cwd: string,
    private readonly projectRoot: string,
  ) {
    const made = this.converters;
    const make = (isBrowser: boolean) => this.wrap(createConverter({ isJS: false, isBrowser }));
    const convs = {
      get node(): Converter {
        return (made.node ??= make(false));
      },
      get browser(): Converter {
        return (made.browser ??= make(true));
      },
      close() {
        made.node?.close();
        made.browser?.close();
      },
    };
    void convs.node; // warm the converter (several hundred ms) before the first cell
    const console = {
      log: (value: unknown) => {
        this.captured.value = value;
        this.captured.hasValue = true;
      },
      error: (...args: unknown[]) => {
        this.captured.errors.push(args);
      },
    };
    this.executor = createExecutor(cwd, convs, console);
    this.nameCellScripts();
  }

  private wrap(conv: Converter): Converter {
    const convert = conv.convert.bind(conv);
    conv.convert = (prevDecl, src) => {
      const r = convert(prevDecl, expandShorthandProperties(src));
      if (this.current) this.current.output = r.output ?? '';
      return r;
    };
    return conv;
  }

  /** tslab runs each cell with vm.runInThisContext and no file name: give it `cell[N]`. */
  private nameCellScripts(): void {
    const original = vm.runInThisContext;
    const named = (code: string, options?: VM.RunningScriptOptions | string) => {
      if (
        this.current &&
        typeof code === 'string' &&
        TSLAB_PREFIX.test(code) &&
        typeof options === 'object' &&
        !options.filename
      ) {
        options = { ...options, filename: `cell[${this.current.count}]` };
      }
      return original(code, options);
    };
    vm.runInThisContext = named;
  }

  /**
   * Runs one cell; `count` is its execution count, the N of `cell[N]` in stack traces (a silent
   * execution, which has none, passes a negative id so it never shadows a real cell).
   */
  async execute(source: string, count: number): Promise<CellResult> {
    this.current = { count, source, output: '' };
    this.captured = { hasValue: false, errors: [] };
    const watch = (this.running = new InterruptWatch());
    let ok: boolean;
    try {
      ok = await this.executor.execute(source);
      if (ok && this.captured.hasValue && isThenable(this.captured.value)) {
        this.captured.value = await this.raceInterrupt(Promise.resolve(this.captured.value));
      }
    } catch (e) {
      ok = false;
      this.captured.errors.push([e]);
    } finally {
      this.cells.set(count, { source, output: this.current.output });
      this.current = null;
      this.running = null;
    }
    if (!ok) {
      return { status: 'error', error: this.errorOf(source, watch.requested), interrupted: watch.requested };
    }
    if (watch.requested) return { status: 'error', error: KEYBOARD_INTERRUPT, interrupted: true };
    const { hasValue, value } = this.captured;
    return { status: 'ok', hasValue: hasValue && value !== undefined, value };
  }

  private interruptWaiters: (() => void)[] = [];

  private raceInterrupt<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter = () => reject(new InterruptedSignal());
      this.interruptWaiters.push(waiter);
      const done = () => {
        const i = this.interruptWaiters.indexOf(waiter);
        if (i >= 0) this.interruptWaiters.splice(i, 1);
      };
      p.then(
        (v) => {
          done();
          resolve(v);
        },
        (e) => {
          done();
          reject(e);
        },
      );
    });
  }

  private errorOf(source: string, interrupted: boolean): JupyterError {
    const diags: Diagnostic[] = [];
    for (const args of this.captured.errors) {
      if (args[0] === '%s%d:%d - %s') {
        diags.push({ file: String(args[1]), line: Number(args[2]), column: Number(args[3]), message: String(args[4]) });
      }
    }
    if (diags.length) return diagnosticsError(diags, source);
    const thrown = this.captured.errors.find((a) => a[0] !== '%s%d:%d - %s')?.[0];
    if (interrupted || isInterruption(thrown)) return KEYBOARD_INTERRUPT;
    if (thrown === undefined)
      return { ename: 'Error', evalue: 'the cell failed without an error message', traceback: [] };
    return runtimeError(thrown, this.cells, this.projectRoot);
  }

  /**
   * An interrupt (SIGINT or interrupt_request): long library work (train) stops at its next check;
   * a cell still waiting after a grace period is abandoned (tslab's interrupt), so the kernel is
   * free for the next cell. A synchronous loop is stopped by SIGINT itself (breakOnSigint).
   */
  interrupt(): void {
    requestInterrupt();
    const watch = this.running;
    if (!watch) return;
    const waiters = this.interruptWaiters.splice(0);
    setTimeout(() => {
      if (this.running !== watch) return;
      this.executor.interrupt();
      for (const w of waiters) w();
    }, INTERRUPT_GRACE_MS).unref();
  }

  /** An error thrown by code of an earlier cell (a widget callback), with frames mapped to cell lines. */
  formatError(e: unknown): JupyterError {
    return runtimeError(e, this.cells, this.projectRoot);
  }

  isComplete(code: string): { status: 'complete' } | { status: 'incomplete'; indent: string } {
    const r = isCompleteCode(code) as { completed: boolean; indent: string };
    return r.completed ? { status: 'complete' } : { status: 'incomplete', indent: r.indent };
  }

  inspect(code: string, pos: number): unknown {
    return this.executor.inspect(code, pos);
  }

  complete(code: string, pos: number) {
    return this.executor.complete(code, pos);
  }

  close(): void {
    this.executor.close();
  }
}

class InterruptedSignal extends Error {
  constructor() {
    super('Interrupted asynchronously');
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    (typeof v === 'object' || typeof v === 'function') &&
    v !== null &&
    typeof (v as PromiseLike<unknown>).then === 'function'
  );
}

function isInterruption(e: unknown): boolean {
  return (
    e instanceof InterruptedSignal ||
    (e instanceof Error &&
      ((e as NodeJS.ErrnoException).code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED' ||
        e.message === 'Interrupted asynchronously'))
  );
}
