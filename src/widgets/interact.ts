/**
 * interact: controls for a function's arguments, and the function re-run into an Output widget
 * whenever one of them changes (ipywidgets' `interactive`). The abbreviations are ipywidgets':
 *
 *   number n            IntSlider (FloatSlider for a fraction) over -n..3n, starting at n
 *   [min, max]          IntSlider / FloatSlider, starting in the middle
 *   [min, max, step]    the same with a step
 *   boolean             Checkbox
 *   ['a', 'b', ...]     Dropdown (any values; [label, value] pairs for labels of your own)
 *   a widget            used as it is (anything with a `value`)
 *
 * `fn` receives one object with a property per control. What it prints or displays, and its
 * return value when not undefined, appear in the output; an error appears there as a traceback.
 * Runs never overlap: changes that arrive while `fn` runs are coalesced into one more run.
 */
import { Checkbox, Dropdown, FloatSlider, IntSlider, SelectionWidget, ValueWidget, VBox, BoxOptions } from './controls';
import { Output } from './output';
import type { Widget } from './widget';

type ValueControl = ValueWidget<unknown> | SelectionWidget<unknown>;
export type Abbreviation =
  number | boolean | readonly number[] | readonly string[] | readonly (readonly [string, unknown])[] | ValueControl;

/** The value an abbreviation's control gives to `fn`. */
export type AbbreviationValue<A> = A extends boolean
  ? boolean
  : A extends number
    ? number
    : A extends readonly number[]
      ? number
      : A extends readonly (readonly [string, infer V])[]
        ? V
        : A extends readonly (infer S)[]
          ? S
          : A extends { value: infer V }
            ? V
            : never;

export type InteractArgs<S extends Record<string, Abbreviation>> = { [K in keyof S]: AbbreviationValue<S[K]> };

export interface InteractOptions extends BoxOptions {
  /** False: sliders report their value when released, not while dragged (for slow functions). */
  continuous_update?: boolean;
}

function sliderFor(name: string, spec: readonly number[], continuous: boolean): IntSlider | FloatSlider {
  if (spec.length < 2 || spec.length > 3 || !spec.every(Number.isFinite))
    throw new RangeError(
      `interact: '${name}' must be [min, max] or [min, max, step] numbers, got [${spec.join(', ')}]`,
    );
  const [min, max] = spec;
  const ints = spec.every(Number.isInteger);
  const step = spec[2] ?? (ints ? 1 : (max - min) / 100);
  if (!(step > 0)) throw new RangeError(`interact: '${name}' step must be > 0, got ${step}`);
  const value = min + step * Math.round((max - min) / 2 / step);
  const opts = { min, max, step, value, description: name, continuous_update: continuous };
  return ints ? new IntSlider(opts) : new FloatSlider(opts);
}

/** The control for one argument. */
export function controlFor(name: string, a: Abbreviation, continuous = true): ValueControl {
  if (typeof a === 'object' && a !== null && !Array.isArray(a) && 'value' in a) return a as ValueControl;
  if (typeof a === 'boolean') return new Checkbox({ value: a, description: name }) as ValueControl;
  if (typeof a === 'number') {
    if (!Number.isFinite(a)) throw new RangeError(`interact: '${name}' must be a finite number, got ${a}`);
    const span = a > 0 ? [-a, 3 * a] : a < 0 ? [3 * a, -a] : [-1, 1];
    const s = Number.isInteger(a)
      ? new IntSlider({ min: span[0], max: span[1], value: a, description: name })
      : new FloatSlider({ min: span[0], max: span[1], value: a, step: Math.abs(a) / 25 || 0.1, description: name });
    s.set({ continuous_update: continuous });
    return s as ValueControl;
  }
  if (Array.isArray(a)) {
    if (a.length > 0 && a.every((x) => typeof x === 'number'))
      return sliderFor(name, a as number[], continuous) as ValueControl;
    return new Dropdown({ options: a as unknown[], description: name }) as ValueControl;
  }
  throw new TypeError(`interact: cannot make a control for '${name}' from ${String(a)}`);
}

/** Controls, an output, and the function they drive (a VBox: the controls above the output). */
export class Interactive<S extends Record<string, Abbreviation>, R = unknown> extends VBox {
  readonly controls: Record<keyof S, ValueControl>;
  readonly output: Output;
  /** What the last run returned; `error` when it threw. */
  result: R | undefined;
  error: unknown = null;
  /** Runs finished (the first one at creation). */
  runs = 0;
  private running: Promise<void> | null = null;
  private again = false;
  /** Resolves once the first run has finished. */
  readonly ready: Promise<void>;

  constructor(
    private readonly fn: (args: InteractArgs<S>) => R | Promise<R>,
    spec: S,
    opts: InteractOptions = {},
  ) {
    const controls = Object.fromEntries(
      Object.entries(spec).map(([name, a]) => [name, controlFor(name, a, opts.continuous_update ?? true)]),
    ) as Record<keyof S, ValueControl>;
    const output = new Output();
    super([...(Object.values(controls) as Widget[]), output], opts);
    this.controls = controls;
    this.output = output;
    for (const c of Object.values(controls) as ValueControl[]) c.observe(() => this.update(), 'value');
    this.ready = this.update();
  }

  /**
   * The text form, for front ends without a widget manager: the controls' settings and what the
   * last run printed or returned.
   */
  toString(): string {
    const settings = Object.entries(this.controls).map(([k, c]) => {
      const w = c as ValueControl;
      return `${k}=${w instanceof SelectionWidget ? w.label : String(w.value)}`;
    });
    const shown = this.output.outputs.map((o) =>
      o.output_type === 'stream'
        ? o.text
        : o.output_type === 'display_data'
          ? `${String(o.data['text/plain'] ?? '')}\n`
          : `${o.ename}: ${o.evalue}\n`,
    );
    return `interact(${settings.join(', ')})\n${shown.join('')}`.trimEnd();
  }

  /** The current value of every control. */
  get args(): InteractArgs<S> {
    return Object.fromEntries(
      Object.entries(this.controls).map(([k, c]) => [k, (c as ValueControl).value]),
    ) as InteractArgs<S>;
  }

  /** Runs the function with the controls' values (after a run in progress, coalescing requests). */
  update(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.runOnce();
      } while (this.again);
      this.running = null;
    })();
    return this.running;
  }

  private async runOnce(): Promise<void> {
    this.output.clear();
    try {
      this.result = await this.output.capture(() => this.fn(this.args));
      this.error = null;
      if (this.result !== undefined) await this.output.display(this.result);
    } catch (e) {
      this.error = e; // shown in the output by capture()
      this.result = undefined;
    } finally {
      this.runs++;
    }
  }
}

/**
 * `interact(fn, { depth: [8, 56, 6], block: ['basic', 'bottleneck'] })`: a widget with a control
 * per argument and `fn`'s output below them, re-run on every change. Make it a cell's last value
 * (or pass it to display()) to draw it.
 */
export function interact<S extends Record<string, Abbreviation>, R>(
  fn: (args: InteractArgs<S>) => R | Promise<R>,
  spec: S,
  opts: InteractOptions = {},
): Interactive<S, R> {
  if (typeof fn !== 'function')
    throw new TypeError(`interact: the first argument must be a function, got ${String(fn)}`);
  if (typeof spec !== 'object' || spec === null || Object.keys(spec).length === 0)
    throw new TypeError('interact: give at least one argument, e.g. { depth: [8, 56, 6] }');
  return new Interactive(fn, spec, opts);
}
