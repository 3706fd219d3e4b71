/**
 * The widget library without a kernel: what each control puts in its state, how values are
 * checked and clipped, selections, binary buffers, observers, Output capture, interact's
 * abbreviations and coalescing, TrainingControls' learning-rate rule, and the errors for bad
 * arguments. The comm transport here records what would go to the front end (the kernel's
 * side is tested over ZeroMQ in test/tools/kernel/widgets.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { display } from '../../src/display/display';
import { commManager, CommData } from '../../src/widgets/comm';
import * as widgets from '../../src/widgets';
import { interact } from '../../src/widgets/interact';
import { putBuffers, serializeState } from '../../src/widgets/widget';

interface Sent {
  kind: 'open' | 'msg' | 'close';
  commId: string;
  target?: string;
  data: CommData;
  metadata?: CommData;
  buffers: Buffer[];
}
let sent: Sent[] = [];

beforeEach(() => {
  sent = [];
  commManager().transport = {
    open: (commId, target, data, metadata, buffers) =>
      sent.push({ kind: 'open', commId, target, data, metadata, buffers }),
    send: (commId, data, _metadata, buffers) => sent.push({ kind: 'msg', commId, data, buffers }),
    close: (commId, data) => sent.push({ kind: 'close', commId, data, buffers: [] }),
  };
});
afterEach(() => {
  commManager().transport = null;
});

const stateOf = (w: widgets.Widget) =>
  sent.find((s) => s.kind === 'open' && s.commId === w.modelId)!.data.state as Record<string, unknown>;
const updatesOf = (w: widgets.Widget) =>
  sent.filter((s) => s.kind === 'msg' && s.commId === w.modelId).map((s) => s.data);
/** A front end's update of `w`, through the comm manager as the kernel hands it over. */
const fromFrontEnd = (w: widgets.Widget, state: Record<string, unknown>, buffers: Buffer[] = []) =>
  commManager().handleMsg(w.modelId, { data: { method: 'update', state, buffer_paths: [] }, metadata: {}, buffers });

describe('controls: state and values', () => {
  it('IntSlider: rounds and clips values, as the front end would show them', () => {
    const s = new widgets.IntSlider({ value: 3, min: 0, max: 10, description: 'depth' });
    expect(stateOf(s)).toMatchObject({
      _model_name: 'IntSliderModel',
      value: 3,
      min: 0,
      max: 10,
      step: 1,
      readout_format: 'd',
    });
    s.value = 12.4;
    expect(s.value).toBe(10);
    s.value = 4.6;
    expect(s.value).toBe(5);
    expect(updatesOf(s)).toEqual([
      { method: 'update', state: { value: 10 }, buffer_paths: [] },
      { method: 'update', state: { value: 5 }, buffer_paths: [] },
    ]);
    s.value = 5; // no change, no message
    expect(updatesOf(s)).toHaveLength(2);
  });

  it('FloatLogSlider keeps the value (not its exponent) and clips it to base**min..base**max', () => {
    const s = new widgets.FloatLogSlider({ value: 0.05, min: -4, max: 0 });
    expect(stateOf(s)).toMatchObject({ _model_name: 'FloatLogSliderModel', base: 10, min: -4, max: 0 });
    expect(s.value).toBeCloseTo(0.05, 12);
    s.value = 5;
    expect(s.value).toBe(1);
    expect(() => (s.value = 0)).toThrow('FloatLogSlider: value must be a positive number, got 0');
  });

  it('a selection syncs index and labels; value and label stay in the kernel', async () => {
    const d = new widgets.Dropdown({
      options: [
        ['basic block', 'basic'],
        ['bottleneck', 'bottleneck'],
      ] as const,
      value: 'bottleneck',
    });
    const state = stateOf(d);
    expect(state).toMatchObject({
      _model_name: 'DropdownModel',
      _options_labels: ['basic block', 'bottleneck'],
      index: 1,
    });
    expect(state).not.toHaveProperty('value');
    expect(state).not.toHaveProperty('label');
    const seen: unknown[] = [];
    d.observe((c) => seen.push(c.new), 'value');
    await fromFrontEnd(d, { index: 0 });
    expect([d.value, d.label, d.index]).toEqual(['basic', 'basic block', 0]);
    expect(seen).toEqual(['basic']);
    d.value = 'bottleneck';
    expect(updatesOf(d).at(-1)).toEqual({ method: 'update', state: { index: 1 }, buffer_paths: [] });
    expect(() => (d.value = 'preact' as never)).toThrow(
      'Dropdown: value preact is not one of the options (basic block, bottleneck)',
    );
  });

  it('a front-end update is echoed, fires observers, and a kernel-side change made by an observer is sent', async () => {
    const s = new widgets.IntSlider({ max: 10 });
    const label = new widgets.Label();
    s.observe((c) => {
      label.value = `now ${c.new}`;
    }, 'value');
    await fromFrontEnd(s, { value: 7 });
    expect(updatesOf(s)).toEqual([{ method: 'echo_update', state: { value: 7 }, buffer_paths: [] }]);
    expect(updatesOf(label)).toEqual([{ method: 'update', state: { value: 'now 7' }, buffer_paths: [] }]);
    // Out of range from the front end: echoed as sent, then corrected by an update.
    await fromFrontEnd(s, { value: 70 });
    expect(updatesOf(s).slice(1)).toEqual([
      { method: 'echo_update', state: { value: 70 }, buffer_paths: [] },
      { method: 'update', state: { value: 10 }, buffer_paths: [] },
    ]);
  });

  it('widgets in the state are sent as IPY_MODEL_ references; Layout and style are models of their own', () => {
    const a = new widgets.Button({ description: 'a', layout: { width: '80px', border: '1px solid' } });
    const box = new widgets.HBox([a]);
    expect(stateOf(box).children).toEqual([`IPY_MODEL_${a.modelId}`]);
    const layoutId = String(stateOf(a).layout).replace('IPY_MODEL_', '');
    const layout = sent.find((s) => s.commId === layoutId)!.data.state as Record<string, unknown>;
    expect(layout).toMatchObject({
      _model_name: 'LayoutModel',
      _model_module: '@jupyter-widgets/base',
      width: '80px',
      border_top: '1px solid',
    });
    expect(() => new widgets.HBox([{} as widgets.Widget])).toThrow('HBox: every child must be a widget');
  });

  it('binary values travel as buffers with their paths, both ways', () => {
    const { state, buffer_paths, buffers } = serializeState({
      a: 1,
      b: new Uint8Array([1, 2]),
      c: [0, new Float32Array([1])],
    });
    expect(state).toEqual({ a: 1, c: [0, null] });
    expect(buffer_paths).toEqual([['b'], ['c', 1]]);
    expect(buffers.map((b) => [...b])).toEqual([
      [1, 2],
      [0, 0, 128, 63],
    ]);
    const back: CommData = { a: 1, c: [0, null] };
    putBuffers(back, buffer_paths, buffers);
    expect(back.b).toBe(buffers[0]);
    expect((back.c as unknown[])[1]).toBe(buffers[1]);
  });

  it('jslink names both ends; close() closes the widget, its layout and its style', () => {
    const s = new widgets.IntSlider();
    const p = new widgets.Play();
    const link = widgets.jslink([p, 'value'], [s, 'value']);
    expect(stateOf(link)).toMatchObject({
      _model_name: 'LinkModel',
      source: [`IPY_MODEL_${p.modelId}`, 'value'],
      target: [`IPY_MODEL_${s.modelId}`, 'value'],
    });
    expect(() => widgets.jslink([p, 'value'], [s, 'nope'])).toThrow(
      "jslink: IntSlider(value=0, min=0, max=100, step=1) has no property 'nope'",
    );
    s.close();
    expect(sent.filter((x) => x.kind === 'close')).toHaveLength(3);
    expect(widgets.openWidgets().has(s.modelId)).toBe(false);
    expect(commManager().info()[s.modelId]).toBeUndefined();
  });

  it('a widget is displayed as a widget view with a text fallback', async () => {
    const s = new widgets.IntSlider({ value: 2, description: 'n' });
    const bundle = await display(s);
    expect(bundle).toEqual({
      'application/vnd.jupyter.widget-view+json': { version_major: 2, version_minor: 0, model_id: s.modelId },
      'text/plain': "IntSlider(value=2, min=0, max=100, step=1, description='n')",
    });
  });

  it('bad options are refused naming the widget and the option', () => {
    expect(() => new widgets.IntSlider({ min: 5, max: 1 })).toThrow('IntSlider: min (5) must not exceed max (1)');
    expect(() => new widgets.FloatSlider({ step: NaN })).toThrow('FloatSlider: step must be a finite number, got NaN');
    expect(() => new widgets.Dropdown({ options: [] })).toThrow('Dropdown: options must be a non-empty array');
    expect(() => (new widgets.Checkbox().value = 'yes' as never)).toThrow('Checkbox: value must be a boolean, got yes');
  });
});

describe('Output', () => {
  it('captures displays made while its function runs; LiveDisplay-style updates replace in place', async () => {
    const out = new widgets.Output();
    const r = await out.capture(async () => {
      await display({ [Symbol.for('Jupyter.display')]: () => ({ 'text/html': '<b>x</b>' }) });
      return 7;
    });
    expect(r).toBe(7);
    expect(out.outputs).toEqual([
      {
        output_type: 'display_data',
        data: { 'text/html': '<b>x</b>', 'text/plain': expect.any(String) },
        metadata: {},
      },
    ]);
    out.appendStdout('a');
    out.appendStdout('b\n');
    expect(out.outputs.at(-1)).toEqual({ output_type: 'stream', name: 'stdout', text: 'ab\n' });
    out.clear();
    expect(out.outputs).toEqual([]);
  });

  it('an error in the captured function is shown in the widget and rethrown', async () => {
    const out = new widgets.Output();
    await expect(
      out.capture(() => {
        throw new RangeError('bad depth');
      }),
    ).rejects.toThrow('bad depth');
    expect(out.outputs[0]).toMatchObject({ output_type: 'error', ename: 'RangeError', evalue: 'bad depth' });
  });
});

describe('interact', () => {
  it('builds a control per abbreviation and passes their values', async () => {
    const calls: unknown[] = [];
    const ui = interact((a) => void calls.push(a), {
      n: 10,
      x: 0.5,
      range: [8, 56, 6],
      f: [0, 1.5],
      flag: true,
      kind: ['basic', 'bottleneck'],
      pair: [
        ['eighteen', 18],
        ['fifty', 50],
      ] as const,
    });
    await ui.ready;
    const c = ui.controls;
    expect([c.n, c.range, c.flag, c.kind, c.pair].map((w) => w.modelName)).toEqual([
      'IntSliderModel',
      'IntSliderModel',
      'CheckboxModel',
      'DropdownModel',
      'DropdownModel',
    ]);
    expect([c.x.modelName, c.f.modelName]).toEqual(['FloatSliderModel', 'FloatSliderModel']);
    expect(calls).toEqual([
      { n: 10, x: 0.5, range: 32, f: expect.closeTo(0.75, 12), flag: true, kind: 'basic', pair: 18 },
    ]);
    const n = c.n as widgets.IntSlider;
    expect([n.min, n.max]).toEqual([-10, 30]);
  });

  it('re-runs on a change, showing output and return value; changes during a run are coalesced', async () => {
    let release: () => void = () => {};
    const seen: number[] = [];
    const ui = interact(
      async ({ d }) => {
        seen.push(d);
        if (d === 20) await new Promise<void>((r) => (release = r));
        await display({ [Symbol.for('Jupyter.display')]: () => ({ 'text/plain': `depth ${d}` }) });
        return d * 2;
      },
      { d: [10, 50, 10] },
    );
    await ui.ready;
    const slider = ui.controls.d as widgets.IntSlider;
    slider.value = 20; // starts a run that waits
    slider.value = 40; // arrives during it
    slider.value = 50; // and this one too: one more run, with the last value
    release();
    await ui.update();
    expect(seen).toEqual([30, 20, 50]);
    expect(ui.result).toBe(100);
    expect(ui.output.outputs.map((o) => (o as { data: Record<string, unknown> }).data['text/plain'])).toEqual([
      'depth 50',
      '100',
    ]);
  });

  it('an error in the function lands in the output; the next change runs again', async () => {
    const ui = interact(
      ({ n }) => {
        if (n > 3) throw new Error(`too deep: ${n}`);
        return n;
      },
      { n: [0, 10] },
    );
    await ui.ready;
    expect(ui.error).toBeInstanceOf(Error);
    expect(ui.output.outputs).toEqual([expect.objectContaining({ output_type: 'error', evalue: 'too deep: 5' })]);
    (ui.controls.n as widgets.IntSlider).value = 2;
    await ui.update();
    expect([ui.error, ui.result]).toEqual([null, 2]);
  });

  it('refuses what it cannot make a control from', () => {
    expect(() => interact(() => 0, {})).toThrow('interact: give at least one argument');
    expect(() => interact(() => 0, { r: [1, 2, 3, 4] })).toThrow(
      "interact: 'r' must be [min, max] or [min, max, step] numbers",
    );
    expect(() => interact(() => 0, { r: [1, 5, -1] })).toThrow("interact: 'r' step must be > 0, got -1");
    expect(() => interact(0 as never, { r: 1 })).toThrow('interact: the first argument must be a function');
  });
});

describe('TrainingControls', () => {
  it('Stop sets the flag and disables the button; the slider scales a schedule and sets a plain rate', async () => {
    const c = new widgets.TrainingControls({ learningRate: 0.05 });
    expect(c.stopRequested).toBe(false);
    expect([c.learningRate(undefined), c.learningRate(0.02)]).toEqual([undefined, 0.02]); // untouched: no change
    await commManager().handleMsg(c.stopButton.modelId, {
      data: { method: 'custom', content: { event: 'click' } },
      metadata: {},
      buffers: [],
    });
    expect(c.stopRequested).toBe(true);
    expect(c.stopButton.disabled).toBe(true);
    await fromFrontEnd(c.rate, { value: 0.025 });
    expect(c.learningRate(undefined)).toBeCloseTo(0.025, 12);
    expect(c.learningRate(0.02)).toBeCloseTo(0.01, 12);
    c.onEnd({ steps: 12, stopped: true });
    expect(c.status.value).toBe('stopped after 12 steps');
    expect(() => new widgets.TrainingControls({ learningRate: -1 })).toThrow(
      'TrainingControls: learningRate must be a positive number, got -1',
    );
  });
});
