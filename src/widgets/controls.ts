/**
 * The controls, with ipywidgets' names and the model/view names, modules and defaults that
 * @jupyter-widgets/controls 5 (protocol 2.0.0 for its models) expects. Every visible control has
 * a `Layout` and (most) a style model of its own, as in ipywidgets, referenced from its state.
 */
import { MODULES, Widget, WidgetIdentity, WidgetState } from './widget';

function identity(
  module: keyof typeof MODULES,
  model: string,
  view: string | null,
  viewModule: keyof typeof MODULES = module,
): WidgetIdentity {
  return {
    _model_name: model,
    _model_module: MODULES[module].name,
    _model_module_version: MODULES[module].version,
    _view_name: view,
    _view_module: view === null ? null : MODULES[viewModule].name,
    _view_module_version: view === null ? '' : MODULES[viewModule].version,
  };
}

/** CSS of a widget's box (ipywidgets' Layout): width, height, margin, border, flex, ... */
export type LayoutOptions = Partial<
  Record<
    | 'width'
    | 'height'
    | 'min_width'
    | 'max_width'
    | 'min_height'
    | 'max_height'
    | 'margin'
    | 'padding'
    | 'border'
    | 'display'
    | 'flex'
    | 'flex_flow'
    | 'align_items'
    | 'justify_content'
    | 'overflow'
    | 'visibility',
    string
  >
>;

export class Layout extends Widget {
  constructor(css: LayoutOptions = {}) {
    // `border` is a shorthand in ipywidgets: it sets all four sides.
    const { border, ...rest } = css;
    const sides = border
      ? { border_top: border, border_right: border, border_bottom: border, border_left: border }
      : {};
    super(identity('base', 'LayoutModel', 'LayoutView'), { ...rest, ...sides });
  }
}

/** A style model (description width, colours), e.g. SliderStyleModel. */
export class Style extends Widget {
  constructor(modelName: string, state: WidgetState = {}) {
    super(identity('controls', modelName, 'StyleView', 'base'), state);
  }
}

export interface DomOptions {
  layout?: LayoutOptions;
  tooltip?: string | null;
}
export interface DescriptionOptions extends DomOptions {
  description?: string;
  disabled?: boolean;
  /** Style properties, e.g. `{ description_width: 'initial' }`. */
  style?: WidgetState;
}

/** A widget with a view in the page (layout, CSS classes, tooltip). */
export class DOMWidget extends Widget {
  constructor(id: WidgetIdentity, state: WidgetState, opts: DomOptions) {
    super(id, {
      _dom_classes: [],
      tabbable: null,
      tooltip: opts.tooltip ?? null,
      layout: new Layout(opts.layout),
      ...state,
    });
  }
  get layout(): Layout {
    return this.get<Layout>('layout');
  }
  close(): void {
    const { layout, style } = {
      layout: this.get<Widget | undefined>('layout'),
      style: this.get<Widget | undefined>('style'),
    };
    super.close();
    layout?.close();
    style?.close();
  }
}

function described(styleModel: string, styleState: WidgetState, opts: DescriptionOptions): WidgetState {
  return {
    description: opts.description ?? '',
    description_allow_html: false,
    disabled: opts.disabled ?? false,
    style: new Style(styleModel, { description_width: '', ...styleState, ...opts.style }),
  };
}

/** A widget with a description (its label) that can be disabled. */
export abstract class DescribedWidget extends DOMWidget {
  get description(): string {
    return this.get<string>('description');
  }
  set description(v: string) {
    this.set({ description: v });
  }
  get disabled(): boolean {
    return this.get<boolean>('disabled');
  }
  set disabled(v: boolean) {
    this.set({ disabled: v });
  }
}

/** Controls with a `value` and a description. */
export abstract class ValueWidget<T> extends DescribedWidget {
  get value(): T {
    return this.get<T>('value');
  }
  set value(v: T) {
    this.set({ value: this.validate(v) });
  }
  protected validate(v: T): T {
    return v;
  }
  protected fromFrontEnd(state: WidgetState): WidgetState {
    return 'value' in state ? { ...state, value: this.validate(state.value as T) } : state;
  }
}

export interface SliderOptions<T> extends DescriptionOptions {
  value?: T;
  min?: T;
  max?: T;
  step?: T;
  orientation?: 'horizontal' | 'vertical';
  readout?: boolean;
  /** d3-format, e.g. 'd', '.2f', '.3g'. */
  readout_format?: string;
  /** False: the value changes when the handle is released, not while it moves. */
  continuous_update?: boolean;
}

abstract class BoundedNumber extends ValueWidget<number> {
  protected constructor(
    id: WidgetIdentity,
    defaults: { value: number; min: number; max: number; step: number; readout_format: string },
    opts: SliderOptions<number>,
    styleModel = 'SliderStyleModel',
    extra: WidgetState = {},
  ) {
    const o = { ...defaults, ...opts };
    for (const k of ['value', 'min', 'max', 'step'] as const)
      if (!Number.isFinite(o[k]))
        throw new RangeError(`${id._model_name.replace(/Model$/, '')}: ${k} must be a finite number, got ${o[k]}`);
    if (o.min > o.max)
      throw new RangeError(`${id._model_name.replace(/Model$/, '')}: min (${o.min}) must not exceed max (${o.max})`);
    super(
      id,
      {
        value: Math.min(o.max, Math.max(o.min, o.value)),
        min: o.min,
        max: o.max,
        step: o.step,
        orientation: o.orientation ?? 'horizontal',
        readout: o.readout ?? true,
        readout_format: o.readout_format,
        continuous_update: o.continuous_update ?? true,
        behavior: 'drag-tap',
        ...extra,
        ...described(styleModel, styleModel === 'SliderStyleModel' ? { handle_color: null } : {}, opts),
      },
      opts,
    );
  }
  get min(): number {
    return this.get<number>('min');
  }
  get max(): number {
    return this.get<number>('max');
  }
  get step(): number {
    return this.get<number>('step');
  }
  /** Values outside min..max are clipped, as ipywidgets does. */
  protected validate(v: number): number {
    if (typeof v !== 'number' || Number.isNaN(v))
      throw new TypeError(`${this.modelName.replace(/Model$/, '')}: value must be a number, got ${String(v)}`);
    return Math.min(this.max, Math.max(this.min, v));
  }
  protected reprKeys(): string[] {
    return ['value', 'min', 'max', 'step', 'description'];
  }
}

/** A slider over integers. */
export class IntSlider extends BoundedNumber {
  constructor(opts: SliderOptions<number> = {}) {
    super(
      identity('controls', 'IntSliderModel', 'IntSliderView'),
      { value: 0, min: 0, max: 100, step: 1, readout_format: 'd' },
      opts,
    );
  }
  protected validate(v: number): number {
    return Math.round(super.validate(v));
  }
}

/** A slider over real numbers. */
export class FloatSlider extends BoundedNumber {
  constructor(opts: SliderOptions<number> = {}) {
    super(
      identity('controls', 'FloatSliderModel', 'FloatSliderView'),
      { value: 0, min: 0, max: 10, step: 0.1, readout_format: '.2f' },
      opts,
    );
  }
}

export interface LogSliderOptions extends SliderOptions<number> {
  /** The base of the exponent (10). `min`, `max` and `step` are exponents; `value` is not. */
  base?: number;
}

/** A slider on a log scale: `value` = base ** x for x in min..max (a learning rate, a weight decay). */
export class FloatLogSlider extends BoundedNumber {
  constructor(opts: LogSliderOptions = {}) {
    const base = opts.base ?? 10;
    const { value = 1, ...rest } = opts;
    super(
      identity('controls', 'FloatLogSliderModel', 'FloatLogSliderView'),
      { value: 0, min: 0, max: 4, step: 0.1, readout_format: '.3g' },
      { ...rest, value: Math.log(value) / Math.log(base) },
      'SliderStyleModel',
      { base },
    );
    // The state holds the value itself, not its exponent: the given value when it is in range
    // (base ** log(value) is not always value again), else the clipped end.
    const exponent = this.get<number>('value');
    this.set({ value: exponent === Math.log(value) / Math.log(base) ? value : base ** exponent });
  }
  protected validate(v: number): number {
    if (typeof v !== 'number' || !(v > 0))
      throw new RangeError(`FloatLogSlider: value must be a positive number, got ${String(v)}`);
    const base = this.get<number>('base');
    return Math.min(base ** this.max, Math.max(base ** this.min, v));
  }
}

export interface PlayOptions extends SliderOptions<number> {
  /** Milliseconds between steps. */
  interval?: number;
  repeat?: boolean;
}

/** Steps an integer from min to max on a timer in the front end (link it to a slider with jslink). */
export class Play extends BoundedNumber {
  constructor(opts: PlayOptions = {}) {
    super(
      identity('controls', 'PlayModel', 'PlayView'),
      { value: 0, min: 0, max: 100, step: 1, readout_format: 'd' },
      opts,
      'DescriptionStyleModel',
      { interval: opts.interval ?? 100, playing: false, repeat: opts.repeat ?? false, show_repeat: true },
    );
  }
}

export interface CheckboxOptions extends DescriptionOptions {
  value?: boolean;
  indent?: boolean;
}

export class Checkbox extends ValueWidget<boolean> {
  constructor(opts: CheckboxOptions = {}) {
    super(
      identity('controls', 'CheckboxModel', 'CheckboxView'),
      {
        value: opts.value ?? false,
        indent: opts.indent ?? true,
        ...described('CheckboxStyleModel', { background: null }, opts),
      },
      opts,
    );
  }
  protected validate(v: boolean): boolean {
    if (typeof v !== 'boolean') throw new TypeError(`Checkbox: value must be a boolean, got ${String(v)}`);
    return v;
  }
}

/** Options of a selection: values (labelled by String(value)) or [label, value] pairs. */
export type SelectionOptions<T> = readonly (readonly [string, T])[] | readonly T[];

export interface SelectionWidgetOptions<T> extends DescriptionOptions {
  options: SelectionOptions<T>;
  /** The selected value (default: the first option). */
  value?: T;
}

function normalizeOptions<T>(widget: string, options: SelectionOptions<T>): { labels: string[]; values: T[] } {
  if (!Array.isArray(options) || options.length === 0)
    throw new RangeError(`${widget}: options must be a non-empty array (values or [label, value] pairs)`);
  const pairs = options.every((o) => Array.isArray(o) && o.length === 2 && typeof o[0] === 'string');
  const labels = pairs ? options.map((o) => (o as [string, T])[0]) : options.map((o) => String(o));
  const values = pairs ? options.map((o) => (o as [string, T])[1]) : [...(options as T[])];
  return { labels, values };
}

/** One choice among options: the front end syncs `index`, the kernel keeps `value` and `label`. */
export abstract class SelectionWidget<T> extends DOMWidget {
  static localKeys = ['value', 'label'];
  private readonly values: T[];
  protected constructor(
    id: WidgetIdentity,
    styleModel: string,
    opts: SelectionWidgetOptions<T>,
    extra: WidgetState = {},
  ) {
    const widget = id._model_name.replace(/Model$/, '');
    const { labels, values } = normalizeOptions(widget, opts.options);
    const index = opts.value === undefined ? 0 : values.indexOf(opts.value);
    if (index < 0)
      throw new RangeError(`${widget}: value ${String(opts.value)} is not one of the options (${labels.join(', ')})`);
    super(
      id,
      {
        _options_labels: labels,
        index,
        value: values[index],
        label: labels[index],
        ...extra,
        ...described(styleModel, {}, opts),
      },
      opts,
    );
    this.values = values;
  }
  get value(): T {
    return this.get<T>('value');
  }
  set value(v: T) {
    const index = this.values.indexOf(v);
    if (index < 0)
      throw new RangeError(
        `${this.modelName.replace(/Model$/, '')}: value ${String(v)} is not one of the options (${this.labels.join(', ')})`,
      );
    this.set({ index, value: v, label: this.labels[index] });
  }
  get index(): number {
    return this.get<number>('index');
  }
  get label(): string {
    return this.get<string>('label');
  }
  get labels(): string[] {
    return this.get<string[]>('_options_labels');
  }
  get options(): T[] {
    return [...this.values];
  }
  protected fromFrontEnd(state: WidgetState): WidgetState {
    if (!('index' in state)) return state;
    const index = Number(state.index);
    if (!(Number.isInteger(index) && index >= 0 && index < this.values.length)) return {};
    return { ...state, value: this.values[index], label: this.labels[index] };
  }
  protected reprKeys(): string[] {
    return ['label', 'description'];
  }
}

/** A drop-down list. */
export class Dropdown<T = unknown> extends SelectionWidget<T> {
  constructor(opts: SelectionWidgetOptions<T>) {
    super(identity('controls', 'DropdownModel', 'DropdownView'), 'DescriptionStyleModel', opts);
  }
}

export interface ToggleButtonsOptions<T> extends SelectionWidgetOptions<T> {
  tooltips?: string[];
  button_style?: '' | 'primary' | 'success' | 'info' | 'warning' | 'danger';
}

/** A row of buttons of which one is pressed. */
export class ToggleButtons<T = unknown> extends SelectionWidget<T> {
  constructor(opts: ToggleButtonsOptions<T>) {
    super(identity('controls', 'ToggleButtonsModel', 'ToggleButtonsView'), 'ToggleButtonsStyleModel', opts, {
      tooltips: opts.tooltips ?? [],
      icons: [],
      button_style: opts.button_style ?? '',
    });
  }
}

/**
 * A slider over labelled options (depths 20 and 56, the names of runs). Its `index` can be
 * jslinked to a Stack's `selected_index` to flip between precomputed outputs in the page.
 */
export class SelectionSlider<T = unknown> extends SelectionWidget<T> {
  constructor(opts: SelectionWidgetOptions<T> & { continuous_update?: boolean; readout?: boolean }) {
    super(identity('controls', 'SelectionSliderModel', 'SelectionSliderView'), 'SliderStyleModel', opts, {
      orientation: 'horizontal',
      readout: opts.readout ?? true,
      continuous_update: opts.continuous_update ?? true,
      behavior: 'drag-tap',
    });
  }
}

export interface ButtonOptions extends DescriptionOptions {
  /** A Font Awesome icon name without the 'fa-' prefix, e.g. 'stop'. */
  icon?: string;
  button_style?: '' | 'primary' | 'success' | 'info' | 'warning' | 'danger';
}

/** A push button; `onClick(fn)` runs `fn` in the kernel on each click. */
export class Button extends DescribedWidget {
  private readonly clickHandlers: ((b: Button) => unknown)[] = [];
  constructor(opts: ButtonOptions = {}) {
    super(
      identity('controls', 'ButtonModel', 'ButtonView'),
      {
        description: opts.description ?? '',
        disabled: opts.disabled ?? false,
        icon: opts.icon ?? '',
        button_style: opts.button_style ?? '',
        style: new Style('ButtonStyleModel', { button_color: null, font_weight: '', ...opts.style }),
      },
      opts,
    );
    this.onCustomMessage(async (content) => {
      if ((content as { event?: string } | null)?.event === 'click') await this.click();
    });
  }
  onClick(fn: (b: Button) => unknown): this {
    this.clickHandlers.push(fn);
    return this;
  }
  /** Runs the click handlers as a click in the front end does. */
  async click(): Promise<void> {
    for (const h of this.clickHandlers) await h(this);
  }
  protected reprKeys(): string[] {
    return ['description'];
  }
}

export interface TextOptions extends DescriptionOptions {
  value?: string;
}

function textState(styleModel: string, opts: TextOptions): WidgetState {
  return {
    value: opts.value ?? '',
    placeholder: '\u200b',
    ...described(styleModel, { background: null, font_size: null, text_color: null }, opts),
  };
}

/** Plain text beside controls. */
export class Label extends ValueWidget<string> {
  constructor(opts: TextOptions | string = {}) {
    const o = typeof opts === 'string' ? { value: opts } : opts;
    super(identity('controls', 'LabelModel', 'LabelView'), textState('LabelStyleModel', o), o);
  }
}

/** HTML (a table, a summary): `value` is the markup. */
export class HTML extends ValueWidget<string> {
  constructor(opts: TextOptions | string = {}) {
    const o = typeof opts === 'string' ? { value: opts } : opts;
    super(identity('controls', 'HTMLModel', 'HTMLView'), textState('HTMLStyleModel', o), o);
  }
  protected reprKeys(): string[] {
    return ['description'];
  }
}

export interface BoxOptions extends DomOptions {
  box_style?: '' | 'success' | 'info' | 'warning' | 'danger';
}

/** Lays children out in a row (HBox) or a column (VBox). */
export class Box extends DOMWidget {
  constructor(children: Widget[], opts: BoxOptions = {}, model = 'BoxModel', view = 'BoxView') {
    for (const c of children)
      if (!(c instanceof Widget))
        throw new TypeError(`${view.replace(/View$/, '')}: every child must be a widget, got ${String(c)}`);
    super(identity('controls', model, view), { children: [...children], box_style: opts.box_style ?? '' }, opts);
  }
  get children(): Widget[] {
    return [...this.get<Widget[]>('children')];
  }
  set children(c: Widget[]) {
    this.set({ children: [...c] });
  }
  protected reprKeys(): string[] {
    return ['children'];
  }
}
export class HBox extends Box {
  constructor(children: Widget[], opts: BoxOptions = {}) {
    super(children, opts, 'HBoxModel', 'HBoxView');
  }
}
export class VBox extends Box {
  constructor(children: Widget[], opts: BoxOptions = {}) {
    super(children, opts, 'VBoxModel', 'VBoxView');
  }
}

/**
 * Shows one of its children (`selected_index`). Linked in the page to a slider (jslink), it
 * switches between precomputed outputs with no kernel at all, so it also works on a static page.
 */
export class Stack extends DOMWidget {
  constructor(children: Widget[], opts: DomOptions & { selected_index?: number } = {}) {
    super(
      identity('controls', 'StackModel', 'StackView'),
      {
        children: [...children],
        box_style: '',
        selected_index: opts.selected_index ?? 0,
        titles: children.map(() => ''),
      },
      opts,
    );
  }
  get selectedIndex(): number {
    return this.get<number>('selected_index');
  }
  set selectedIndex(i: number) {
    this.set({ selected_index: i });
  }
}

/** A link between two widget properties kept in the front end (works without a kernel). */
export class Link extends Widget {
  constructor(source: [Widget, string], target: [Widget, string], directional = false) {
    for (const [w, name] of [source, target])
      if (!(w instanceof Widget) || w.get(name) === undefined)
        throw new TypeError(`jslink: ${String(w)} has no property '${name}'`);
    super(identity('controls', directional ? 'DirectionalLinkModel' : 'LinkModel', null), { source, target });
  }
}

/** Keeps `a[0].a[1]` and `b[0].b[1]` equal in the front end, both ways (ipywidgets' jslink). */
export function jslink(a: [Widget, string], b: [Widget, string]): Link {
  return new Link(a, b);
}

/** Copies `source` to `target` in the front end, one way (ipywidgets' jsdlink). */
export function jsdlink(source: [Widget, string], target: [Widget, string]): Link {
  return new Link(source, target, true);
}
