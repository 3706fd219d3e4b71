/**
 * The Jupyter widget message protocol, version 2.1.0 (ipywidgets 8, @jupyter-widgets/base 6,
 * @jupyter-widgets/controls 5), kernel side: a widget is a model whose state lives on both sides
 * of a comm with target `jupyter.widget`.
 *
 * - Opening: comm_open carries the whole state (`_model_name`, `_model_module`,
 *   `_model_module_version`, the view's names, every synced property) and `buffer_paths`.
 * - Kernel -> front end: `update` (the properties that changed), `custom` (free-form content).
 * - Front end -> kernel: `update` (a user moved a control; answered with `echo_update` of the same
 *   properties, so that other front ends agree), `request_state` (answered with a full `update`),
 *   `custom` (a button click).
 * - Binary buffers (ArrayBuffer views, Node Buffers) travel as message buffers; `buffer_paths` say
 *   where in the state each one belongs.
 * - A property that refers to another widget (layout, style, children) is sent as
 *   `IPY_MODEL_<model id>`.
 *
 * Displaying a widget sends `application/vnd.jupyter.widget-view+json` (its model id), with a
 * text/plain fallback for front ends without a widget manager.
 */
import { inspect } from 'node:util';
import { JUPYTER_DISPLAY } from '../display/jupyter_display';
import type { MimeBundle } from '../display/display';
import { Comm, CommData, CommMessage, commManager } from './comm';

export const WIDGET_PROTOCOL_VERSION = '2.1.0';
export const WIDGET_TARGET = 'jupyter.widget';
/** The module names and protocol versions of ipywidgets 8's JavaScript packages. */
export const MODULES = {
  base: { name: '@jupyter-widgets/base', version: '2.0.0' },
  controls: { name: '@jupyter-widgets/controls', version: '2.0.0' },
  output: { name: '@jupyter-widgets/output', version: '1.0.0' },
} as const;
export const WIDGET_VIEW_MIME = 'application/vnd.jupyter.widget-view+json';
export const WIDGET_STATE_MIME = 'application/vnd.jupyter.widget-state+json';

export type WidgetState = Record<string, unknown>;

export interface ChangeEvent<T = unknown> {
  name: string;
  old: T;
  new: T;
  owner: Widget;
}
export type Observer<T = unknown> = (change: ChangeEvent<T>) => unknown;

const MODEL_REF = 'IPY_MODEL_';

/** Every open widget by model id (a front end's `request_states` and references between widgets). */
const KEY = Symbol.for('resnet-ts.widgets');
export function openWidgets(): Map<string, Widget> {
  const g = globalThis as unknown as Record<symbol, Map<string, Widget> | undefined>;
  return (g[KEY] ??= new Map());
}

function isBinary(v: unknown): v is ArrayBufferView | ArrayBuffer {
  return ArrayBuffer.isView(v) || v instanceof ArrayBuffer;
}

function toBuffer(v: ArrayBufferView | ArrayBuffer): Buffer {
  return v instanceof ArrayBuffer ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/**
 * A state as JSON for the wire: widgets become `IPY_MODEL_<id>`, binary values are taken out into
 * buffers (the place they leave is removed from an object or set to null in an array, as
 * ipywidgets' `_remove_buffers` does) and listed in `buffer_paths`.
 */
export function serializeState(state: WidgetState): {
  state: CommData;
  buffer_paths: (string | number)[][];
  buffers: Buffer[];
} {
  const buffer_paths: (string | number)[][] = [];
  const buffers: Buffer[] = [];
  const walk = (v: unknown, path: (string | number)[]): unknown => {
    if (v instanceof Widget) return MODEL_REF + v.modelId;
    if (isBinary(v)) {
      buffer_paths.push(path);
      buffers.push(toBuffer(v));
      return undefined;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]) ?? null);
    if (v !== null && typeof v === 'object') {
      const out: CommData = {};
      for (const [k, x] of Object.entries(v)) {
        const w = walk(x, [...path, k]);
        if (w !== undefined || !isBinary(x)) out[k] = w;
      }
      return out;
    }
    return v;
  };
  return { state: walk(state, []) as CommData, buffer_paths, buffers };
}

/** The inverse for what a front end sends: buffers put back at their paths. */
export function putBuffers(state: CommData, paths: unknown, buffers: Buffer[]): void {
  if (!Array.isArray(paths)) return;
  paths.forEach((p: (string | number)[], i) => {
    if (!Array.isArray(p) || p.length === 0 || !buffers[i]) return;
    let obj = state as Record<string | number, unknown>;
    for (const key of p.slice(0, -1)) obj = obj[key] as Record<string | number, unknown>;
    obj[p[p.length - 1]] = buffers[i];
  });
}

function resolveRefs(v: unknown): unknown {
  if (typeof v === 'string' && v.startsWith(MODEL_REF)) return openWidgets().get(v.slice(MODEL_REF.length)) ?? v;
  if (Array.isArray(v)) return v.map(resolveRefs);
  return v;
}

/** A JSON-comparable form of a value (for the property lock). */
function jsonKey(v: unknown): string {
  return JSON.stringify(serializeState({ v }).state.v ?? null);
}

export interface WidgetIdentity {
  _model_name: string;
  _model_module: string;
  _model_module_version: string;
  _view_name: string | null;
  _view_module: string | null;
  _view_module_version: string;
}

/**
 * A widget model: its state, observers and comm. Subclasses name their model and view and expose
 * typed accessors for their properties over `get` / `set`.
 */
export class Widget {
  readonly modelId: string;
  private readonly comm: Comm;
  private readonly state: WidgetState;
  private readonly observers: { names: Set<string> | null; fn: Observer }[] = [];
  private readonly customHandlers: ((content: unknown, buffers: Buffer[]) => unknown)[] = [];
  /** Properties being set from the front end, with their JSON: not sent back as an `update`. */
  private lock = new Map<string, string>();

  /** Properties the kernel keeps but never syncs (a selection's `value`, which may be any object). */
  static localKeys: readonly string[] = [];

  constructor(identity: WidgetIdentity, state: WidgetState) {
    this.state = { ...identity, _view_count: null, ...state };
    const { state: json, buffer_paths, buffers } = serializeState(this.synced(this.state));
    this.comm = commManager().open(
      WIDGET_TARGET,
      { state: json, buffer_paths },
      { metadata: { version: WIDGET_PROTOCOL_VERSION }, buffers },
    );
    this.modelId = this.comm.commId;
    openWidgets().set(this.modelId, this);
    this.comm.onMsg((m) => this.onMessage(m));
    this.comm.onClose(() => openWidgets().delete(this.modelId));
  }

  get closed(): boolean {
    return this.comm.closed;
  }

  /** The model's name in its JavaScript module, e.g. IntSliderModel. */
  get modelName(): string {
    return String(this.state._model_name);
  }

  /** A property's value. */
  get<T = unknown>(name: string): T {
    return this.state[name] as T;
  }

  /** Sets properties: changed ones are sent to the front end in one `update`, then observers run. */
  set(changes: WidgetState): void {
    const changed: ChangeEvent[] = [];
    for (const [name, value] of Object.entries(changes)) {
      const old = this.state[name];
      if (jsonKey(old) === jsonKey(value) && !isBinary(value)) continue;
      this.state[name] = value;
      changed.push({ name, old, new: value, owner: this });
    }
    if (changed.length === 0) return;
    const toSend: WidgetState = {};
    for (const c of changed) if (this.lock.get(c.name) !== jsonKey(c.new)) toSend[c.name] = c.new;
    for (const k of this.localKeys()) delete toSend[k];
    if (Object.keys(toSend).length && !this.comm.closed) {
      const { state, buffer_paths, buffers } = serializeState(toSend);
      this.comm.send({ method: 'update', state, buffer_paths }, { buffers });
    }
    this.notify(changed);
  }

  /**
   * Calls `fn` after each change of the named properties (all properties when `names` is omitted),
   * with `{ name, old, new, owner }`, whether the change came from code or from the front end.
   */
  observe<T = unknown>(fn: Observer<T>, names?: string | string[]): this {
    const set = names === undefined ? null : new Set(Array.isArray(names) ? names : [names]);
    this.observers.push({ names: set, fn: fn as Observer });
    return this;
  }

  /** Stops calling `fn` (for every property it observed). */
  unobserve(fn: Observer): this {
    for (let i = this.observers.length - 1; i >= 0; i--) if (this.observers[i].fn === fn) this.observers.splice(i, 1);
    return this;
  }

  /** A `custom` message to the front end (content and optional binary buffers). */
  send(content: unknown, buffers: (ArrayBufferView | ArrayBuffer)[] = []): void {
    this.comm.send({ method: 'custom', content }, { buffers: buffers.map(toBuffer) });
  }

  /** Handles `custom` messages from the front end. */
  onCustomMessage(fn: (content: unknown, buffers: Buffer[]) => unknown): this {
    this.customHandlers.push(fn);
    return this;
  }

  /** Closes the comm: the front end removes the widget's views. */
  close(): void {
    if (this.comm.closed) return;
    openWidgets().delete(this.modelId);
    this.comm.close();
  }

  /** The synced state (widgets as objects, binary values in place). */
  syncedState(): WidgetState {
    return this.synced(this.state);
  }

  /** The state as a front end stores it (for notebook metadata), buffers base64-encoded. */
  embedState(): {
    model_name: string;
    model_module: string;
    model_module_version: string;
    state: CommData;
    buffers?: unknown[];
  } {
    const { state, buffer_paths, buffers } = serializeState(this.synced(this.state));
    return {
      model_name: String(this.state._model_name),
      model_module: String(this.state._model_module),
      model_module_version: String(this.state._model_module_version),
      state,
      ...(buffers.length
        ? {
            buffers: buffers.map((b, i) => ({ encoding: 'base64', path: buffer_paths[i], data: b.toString('base64') })),
          }
        : {}),
    };
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return {
      [WIDGET_VIEW_MIME]: { version_major: 2, version_minor: 0, model_id: this.modelId },
      'text/plain': this.toString(),
    };
  }

  /** The properties shown in the text form (subclasses list their main ones). */
  protected reprKeys(): string[] {
    return ['value', 'description'].filter((k) => k in this.state);
  }

  toString(): string {
    const name = String(this.state._model_name).replace(/Model$/, '');
    const parts = this.reprKeys()
      .filter((k) => this.state[k] !== '' && this.state[k] !== undefined)
      .map((k) => `${k}=${inspect(this.state[k], { depth: 1, breakLength: Infinity })}`);
    return `${name}(${parts.join(', ')})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  /**
   * Runs the observers of each change, in order. A synchronous error propagates (to the code
   * that set the value, or to the kernel for a front-end change, which reports it); an async
   * observer is awaited before a front-end message counts as handled, or its failure is printed
   * when code set the value.
   */
  private notify(changes: ChangeEvent[]): void {
    for (const c of changes)
      for (const o of [...this.observers]) {
        if (o.names !== null && !o.names.has(c.name)) continue;
        const r = o.fn(c);
        if (isThenable(r)) {
          if (this.pending) this.pending.push(Promise.resolve(r));
          else Promise.resolve(r).catch((e) => console.error(e));
        }
      }
  }

  /** While a front-end message is handled: the async observers it started. */
  private pending: Promise<unknown>[] | null = null;

  private async onMessage(m: CommMessage): Promise<void> {
    const data = m.data;
    switch (data.method) {
      case 'update': {
        const incoming = (data.state ?? {}) as CommData;
        putBuffers(incoming, data.buffer_paths, m.buffers);
        const local = this.localKeys();
        const known = Object.fromEntries(
          Object.entries(incoming).filter(([k]) => (!k.startsWith('_') || k in this.state) && !local.includes(k)),
        );
        if (Object.keys(known).length) {
          const echo = serializeState(known);
          this.comm.send(
            { method: 'echo_update', state: echo.state, buffer_paths: echo.buffer_paths },
            { buffers: echo.buffers },
          );
        }
        const resolved = Object.fromEntries(Object.entries(known).map(([k, v]) => [k, resolveRefs(v)]));
        this.lock = new Map(Object.entries(resolved).map(([k, v]) => [k, jsonKey(v)]));
        const pending: Promise<unknown>[] = (this.pending = []);
        try {
          this.set(this.fromFrontEnd(resolved));
        } finally {
          this.lock = new Map();
          this.pending = null;
        }
        await Promise.all(pending);
        break;
      }
      case 'request_state': {
        const { state, buffer_paths, buffers } = serializeState(this.synced(this.state));
        this.comm.send({ method: 'update', state, buffer_paths }, { buffers });
        break;
      }
      case 'custom':
        for (const h of this.customHandlers) await h(data.content, m.buffers);
        break;
      default:
        throw new Error(`widget ${this.modelId}: unknown message method '${String(data.method)}'`);
    }
  }

  private localKeys(): readonly string[] {
    return (this.constructor as typeof Widget).localKeys;
  }

  private synced(state: WidgetState): WidgetState {
    const local = this.localKeys();
    return local.length ? Object.fromEntries(Object.entries(state).filter(([k]) => !local.includes(k))) : state;
  }

  /** Turns properties set by the front end into what the kernel keeps (selections: index -> value). */
  protected fromFrontEnd(state: WidgetState): WidgetState {
    return state;
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as PromiseLike<unknown>).then === 'function';
}

/**
 * The control comm (`jupyter.widget.control`, protocol 1.0.0): a front end that (re)connects
 * asks for every widget's state at once (`request_states`) instead of one `request_state` each.
 */
export const WIDGET_CONTROL_TARGET = 'jupyter.widget.control';
commManager().registerTarget(WIDGET_CONTROL_TARGET, (comm) => {
  comm.onMsg((m) => {
    if (m.data.method !== 'request_states')
      throw new Error(`${WIDGET_CONTROL_TARGET}: unknown method '${String(m.data.method)}'`);
    const states: Record<string, unknown> = {};
    for (const [id, w] of openWidgets()) {
      const { model_name, model_module, model_module_version } = w.embedState();
      states[id] = { model_name, model_module, model_module_version, state: w.syncedState() };
    }
    const { state, buffer_paths, buffers } = serializeState(states);
    comm.send({ method: 'update_states', states: state, buffer_paths }, { buffers });
  });
});
