/**
 * Widgets over the real Jupyter protocol: the kernel started from its kernelspec argv, this test
 * acting as the front end's widget manager (comm messages on shell, state from iopub). It checks
 * what @jupyter-widgets/controls needs (model names, modules, versions, state, references),
 * both directions of sync, custom messages and buffers, errors in callbacks, memory under many
 * updates, Output capture through interact, and a Stop button ending a training cell.
 */
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KernelClient, Message } from '../../../tools/notebook-runner/kernel_client';
import { WidgetStateCollector } from '../../../tools/notebook-runner/widget_state';
import { ROOT, buildDist } from '../../helpers/process';

const MAIN = path.join(ROOT, 'dist', 'tools', 'kernel', 'main.js');
let kernel: KernelClient;
/** Every iopub message since the kernel started. */
const iopub: Message[] = [];

beforeAll(async () => {
  await buildDist();
  kernel = await KernelClient.start(
    {
      argv: [process.execPath, '--expose-gc', MAIN, '--config-path', '{connection_file}'],
      display_name: 'resnet-ts (test)',
    },
    { cwd: path.join(ROOT, 'notebooks'), env: { RESNET_TS_FAST: '1' } },
  );
  kernel.watchIopub((m) => iopub.push(m));
}, 240_000);

afterAll(async () => {
  await kernel?.shutdown();
});

const ofType = (ms: Message[], t: string) => ms.filter((m) => m.header.msg_type === t);
const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, ''); // eslint-disable-line no-control-regex

async function run(code: string, timeoutMs = 60_000, onMessage?: (m: Message) => void) {
  const out = await kernel.execute(code, timeoutMs, onMessage);
  const result = ofType(out.messages, 'execute_result')[0]?.content as { data: Record<string, unknown> } | undefined;
  const error = ofType(out.messages, 'error')[0]?.content as
    { ename: string; evalue: string; traceback: string[] } | undefined;
  if (error) throw new Error(`cell failed: ${strip(error.traceback.join('\n'))}`);
  return { ...out, result, text: String(result?.data['text/plain'] ?? '') };
}

/** Resolves with the first iopub message (already seen or still to come) that `pred` accepts. */
async function waitFor(pred: (m: Message) => boolean, what: string, timeoutMs = 20_000): Promise<Message> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = iopub.find(pred);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

type CommContent = { comm_id: string; target_name?: string; data: Record<string, unknown> };
const content = (m: Message) => m.content as unknown as CommContent;

/** The model id a cell's execute_result shows as a widget view. */
function viewModelId(r: { result?: { data: Record<string, unknown> } }): string {
  const view = r.result?.data['application/vnd.jupyter.widget-view+json'] as {
    model_id: string;
    version_major: number;
  };
  expect(view.version_major).toBe(2);
  return view.model_id;
}

const update = (commId: string, state: Record<string, unknown>, buffers?: Buffer[]) =>
  kernel.sendComm('comm_msg', { comm_id: commId, data: { method: 'update', state, buffer_paths: [] } }, { buffers });

describe('widget models over comms', () => {
  let sliderId = '';

  it('a slider opens a jupyter.widget comm with the names, modules, versions and state controls 5 expects', async () => {
    const r = await run(
      "import { widgets, interact } from 'resnet-ts';\nconst slider = new widgets.IntSlider({ value: 3, min: 0, max: 10, description: 'depth' });\nslider",
    );
    sliderId = viewModelId(r);
    expect(r.text).toBe("IntSlider(value=3, min=0, max=10, step=1, description='depth')");
    const open = r.messages.find((m) => m.header.msg_type === 'comm_open' && content(m).comm_id === sliderId)!;
    expect(open.metadata).toEqual({ version: '2.1.0' });
    const c = content(open);
    expect(c.target_name).toBe('jupyter.widget');
    const state = c.data.state as Record<string, unknown>;
    expect(state).toMatchObject({
      _model_name: 'IntSliderModel',
      _model_module: '@jupyter-widgets/controls',
      _model_module_version: '2.0.0',
      _view_name: 'IntSliderView',
      _view_module: '@jupyter-widgets/controls',
      _view_module_version: '2.0.0',
      value: 3,
      min: 0,
      max: 10,
      step: 1,
      description: 'depth',
      readout_format: 'd',
      continuous_update: true,
    });
    // Layout and style are models of their own, opened before the slider and referenced by id.
    for (const [key, model, module] of [
      ['layout', 'LayoutModel', '@jupyter-widgets/base'],
      ['style', 'SliderStyleModel', '@jupyter-widgets/controls'],
    ]) {
      const ref = String(state[key]);
      expect(ref).toMatch(/^IPY_MODEL_[0-9a-f]{32}$/);
      const child = r.messages.find(
        (m) => m.header.msg_type === 'comm_open' && content(m).comm_id === ref.slice('IPY_MODEL_'.length),
      );
      expect((content(child!).data.state as Record<string, unknown>)._model_name).toBe(model);
      expect((content(child!).data.state as Record<string, unknown>)._model_module).toBe(module);
      expect(r.messages.indexOf(child!)).toBeLessThan(r.messages.indexOf(open));
    }
    const info = await kernel.commInfo('jupyter.widget');
    expect(info[sliderId]).toEqual({ target_name: 'jupyter.widget' });
  });

  it('a front-end update changes .value, fires observers and is echoed; a kernel write sends an update', async () => {
    await run("const seen: number[] = [];\nslider.observe((c) => { seen.push(c.new as number); }, 'value');");
    const msgId = await update(sliderId, { value: 7 });
    const echo = await waitFor(
      (m) => m.parent_header.msg_id === msgId && m.header.msg_type === 'comm_msg',
      'echo_update',
    );
    expect(content(echo).data).toEqual({ method: 'echo_update', state: { value: 7 }, buffer_paths: [] });
    // A value out of range is clipped by the kernel, which then tells the front end.
    const clipId = await update(sliderId, { value: 99 });
    const clipped = await waitFor(
      (m) =>
        m.parent_header.msg_id === clipId && m.header.msg_type === 'comm_msg' && content(m).data.method === 'update',
      'the clipped value',
    );
    expect(content(clipped).data.state).toEqual({ value: 10 });
    expect((await run('[slider.value, seen]')).text).toBe('[ 10, [ 7, 10 ] ]');

    const w = await run('slider.value = 4;');
    const sent = ofType(w.messages, 'comm_msg').map((m) => content(m));
    expect(sent).toEqual([{ comm_id: sliderId, data: { method: 'update', state: { value: 4 }, buffer_paths: [] } }]);
  });

  it('request_state is answered with the full state', async () => {
    const id = await kernel.sendComm('comm_msg', { comm_id: sliderId, data: { method: 'request_state' } });
    const m = await waitFor((x) => x.parent_header.msg_id === id && x.header.msg_type === 'comm_msg', 'the state');
    expect(content(m).data.method).toBe('update');
    expect(content(m).data.state).toMatchObject({ _model_name: 'IntSliderModel', value: 4, max: 10 });
  });

  it('custom messages both ways, with binary buffers; a click runs the handler with its output parented to the click', async () => {
    const r = await run(
      [
        "const button = new widgets.Button({ description: 'go' });",
        'let clicks = 0;',
        "button.onClick(() => { clicks++; console.log('clicked', clicks); });",
        'let received: number[] = [];',
        'button.onCustomMessage((c, buffers) => { if ((c as { kind?: string }).kind === "bytes") received = [...buffers[0]]; });',
        "button.send({ hello: 'front end' }, [new Uint8Array([1, 2, 3])]);",
        'button',
      ].join('\n'),
    );
    const id = viewModelId(r);
    const custom = r.messages.find((m) => m.header.msg_type === 'comm_msg' && content(m).comm_id === id)!;
    expect(content(custom).data).toEqual({ method: 'custom', content: { hello: 'front end' } });
    expect([...custom.buffers[0]]).toEqual([1, 2, 3]);

    const click = await kernel.sendComm('comm_msg', {
      comm_id: id,
      data: { method: 'custom', content: { event: 'click' } },
    });
    const out = await waitFor(
      (m) => m.parent_header.msg_id === click && m.header.msg_type === 'stream',
      'the click output',
    );
    expect(out.content.text).toBe('clicked 1\n');
    await kernel.sendComm(
      'comm_msg',
      { comm_id: id, data: { method: 'custom', content: { kind: 'bytes' } } },
      { buffers: [Buffer.from([9, 8, 7])] },
    );
    await expect.poll(async () => (await run('received')).text, { timeout: 10_000 }).toBe('[ 9, 8, 7 ]');
  });

  it('an error in a widget callback is reported with cell lines, and the kernel carries on', async () => {
    const def = await run(
      "const broken = new widgets.Checkbox({ description: 'boom' });\nbroken.observe(() => {\n  throw new RangeError('observer failed');\n});\nbroken",
    );
    const id = viewModelId(def);
    const msgId = await update(id, { value: true });
    const err = await waitFor((m) => m.parent_header.msg_id === msgId && m.header.msg_type === 'error', 'the error');
    expect(err.content.ename).toBe('RangeError');
    expect(err.content.evalue).toBe('observer failed');
    expect(strip((err.content.traceback as string[]).join('\n'))).toMatch(/at .*cell \[\d+\] line 3/);
    expect((await run('broken.value')).text).toBe('true');
  });

  it('a front end that reconnects gets every state from the control comm', async () => {
    const commId = 'control-' + Date.now();
    await kernel.sendComm('comm_open', { comm_id: commId, target_name: 'jupyter.widget.control', data: {} });
    const id = await kernel.sendComm('comm_msg', { comm_id: commId, data: { method: 'request_states' } });
    const m = await waitFor((x) => x.parent_header.msg_id === id && x.header.msg_type === 'comm_msg', 'update_states');
    expect(content(m).data.method).toBe('update_states');
    const states = content(m).data.states as Record<string, { model_name: string; state: Record<string, unknown> }>;
    expect(states[sliderId].model_name).toBe('IntSliderModel');
    expect(states[sliderId].state.value).toBe(4);
    // An unknown target is refused with comm_close.
    await kernel.sendComm('comm_open', { comm_id: 'nobody-home', target_name: 'no.such.target', data: {} });
    await waitFor((x) => x.header.msg_type === 'comm_close' && content(x).comm_id === 'nobody-home', 'the refusal');
  });

  it('close() sends comm_close for the widget, its layout and style; comm_info forgets them', async () => {
    const r = await run('slider.close();');
    const closed = ofType(r.messages, 'comm_close').map((m) => content(m).comm_id);
    expect(closed).toHaveLength(3);
    expect(closed[0]).toBe(sliderId);
    const info = await kernel.commInfo();
    for (const id of closed) expect(info[id]).toBeUndefined();
  });

  it('1000 front-end updates leave the kernel memory flat', async () => {
    const r = await run('const counter = new widgets.IntSlider({ max: 100000 });\ncounter');
    const id = viewModelId(r);
    const heap = async () => Number((await run('(global as any).gc(); process.memoryUsage().heapUsed')).text);
    const burst = async (from: number) => {
      let last = '';
      for (let i = from; i < from + 1000; i++) last = await update(id, { value: i });
      await waitFor(
        (m) => m.parent_header.msg_id === last && m.header.msg_type === 'comm_msg',
        'the last echo',
        60_000,
      );
    };
    await burst(0); // warm up
    iopub.length = 0;
    const before = await heap();
    await burst(1000);
    iopub.length = 0;
    const after = await heap();
    expect((await run('counter.value')).text).toBe('1999');
    expect(after - before).toBeLessThan(2 * 1024 * 1024);
  }, 120_000);
});

describe('interact and Output', () => {
  it('interact builds its controls, runs the function into an Output, and re-runs it on a change', async () => {
    const r = await run(
      [
        'const ui = interact(({ depth, block }) => {',
        '  console.log(`${block} net of depth ${depth}`);',
        '  return depth * 2;',
        "}, { depth: [8, 56, 6], block: ['basic', 'bottleneck'] });",
        'await ui.ready;',
        'ui',
      ].join('\n'),
    );
    const collector = new WidgetStateCollector();
    for (const m of r.messages) collector.add(m);
    const states = collector.metadata()!.state;
    const byName = (n: string) => Object.entries(states).filter(([, s]) => s.model_name === n);
    const [[sliderId, slider]] = byName('IntSliderModel');
    expect(slider.state).toMatchObject({ min: 8, max: 56, step: 6, value: 32, description: 'depth' });
    expect(byName('DropdownModel')[0][1].state).toMatchObject({ _options_labels: ['basic', 'bottleneck'], index: 0 });
    const [[outputId, output]] = byName('OutputModel');
    expect(output.model_module).toBe('@jupyter-widgets/output');
    expect(output.model_module_version).toBe('1.0.0');
    expect(output.state.outputs).toEqual([
      { output_type: 'stream', name: 'stdout', text: 'basic net of depth 32\n' },
      { output_type: 'display_data', data: { 'text/plain': '64' }, metadata: {} },
    ]);
    expect(byName('VBoxModel')[0][1].state.children).toHaveLength(3);

    const msgId = await update(sliderId, { value: 20 });
    const shown = await waitFor(
      (m) =>
        m.parent_header.msg_id === msgId &&
        content(m).comm_id === outputId &&
        JSON.stringify(content(m).data).includes('"text/plain":"40"'),
      'the re-run output',
    );
    expect((content(shown).data.state as { outputs: unknown[] }).outputs).toEqual([
      { output_type: 'stream', name: 'stdout', text: 'basic net of depth 20\n' },
      { output_type: 'display_data', data: { 'text/plain': '40' }, metadata: {} },
    ]);
    // Nothing the function printed leaked into a cell or the kernel's parent-less output.
    expect(iopub.some((m) => m.header.msg_type === 'stream' && String(m.content.text).includes('depth 20'))).toBe(
      false,
    );
  });
});

describe('steering training', () => {
  it('Stop ends a training cell after the running batch; the history and the model stay usable', async () => {
    const def = await run(
      [
        "import { widgets, ResNet, loadDataFashionMnist, trainingRecipe, recipeDataOptions, train } from 'resnet-ts';",
        "const r = trainingRecipe('tiny');",
        'const data = await loadDataFashionMnist({ ...recipeDataOptions(r), trainLimit: 4096 });',
        'const tnet = new ResNet(r.model);',
        'const controls = new widgets.TrainingControls({ learningRate: 0.05 });',
        'let batches = 0;',
        'controls',
      ].join('\n'),
    );
    const hbox = viewModelId(def);
    const opened = (id: string) =>
      def.messages.find((m) => m.header.msg_type === 'comm_open' && content(m).comm_id === id)!;
    const children = (content(opened(hbox)).data.state as { children: string[] }).children.map((c) => c.slice(10));
    const names = children.map((id) => (content(opened(id)).data.state as { _model_name: string })._model_name);
    expect(names).toEqual(['ButtonModel', 'FloatLogSliderModel', 'LabelModel']);
    const [stopId, rateId] = children;

    let clickedAt = -1;
    let clickSent: Promise<string> | null = null;
    const running = run(
      [
        'const result = await train({ net: tnet, trainData: data.trainIter, testData: data.testIter, epochs: 100,',
        '  progress: "none", steering: controls, onBatch: () => { batches++; console.log(`batch ${batches}`); } });',
        '[result.interrupted, result.steps, batches]',
      ].join('\n'),
      120_000,
      (m) => {
        // Click Stop as the second batch is reported, and halve the learning rate with it.
        if (m.header.msg_type === 'stream' && String(m.content.text).includes('batch 2\n') && !clickSent) {
          clickedAt = 2;
          void update(rateId, { value: 0.025 });
          clickSent = kernel.sendComm('comm_msg', {
            comm_id: stopId,
            data: { method: 'custom', content: { event: 'click' } },
          });
        }
      },
    );
    const out = await running;
    expect(clickedAt).toBe(2);
    const [interrupted, steps, batches] = JSON.parse(out.text.replace(/ /g, '')) as [boolean, number, number];
    expect(interrupted).toBe(true);
    // The click is handled at the next yield: training stops after at most one more batch.
    expect(batches).toBe(steps);
    expect(steps).toBeGreaterThanOrEqual(2);
    expect(steps).toBeLessThanOrEqual(4);
    const log = ofType(out.messages, 'stream')
      .map((m) => m.content.text)
      .join('');
    expect(log).toMatch(/Stopped at epoch 0, batch \d+ \(step \d+\); 0 epochs finished/);
    expect(
      (
        await run(
          '[controls.rate.value, controls.learningRate(undefined), controls.learningRate(0.1)].map((x) => +x!.toPrecision(6))',
        )
      ).text,
    ).toBe('[ 0.025, 0.025, 0.05 ]');
    expect(
      (await run("import { tf } from 'resnet-ts';\ntnet.apply(tf.zeros([2, ...tnet.inputShape!])).shape")).text,
    ).toBe('[ 2, 10 ]');
  }, 180_000);
});
