/**
 * The Output widget: an output area inside a widget layout. `output.capture(fn)` runs `fn` with
 * what it prints and displays collected into the widget (the same stream / display_data outputs a
 * cell has), kept in the kernel and synced as the `outputs` property, as ipywidgets'
 * `append_stdout` / `append_display_data` do. Keeping them in the state (instead of asking the
 * front end to redirect messages by `msg_id`) means every front end, a saved notebook and a static
 * page show the same outputs.
 */
import { captureOutput, OutputSink } from '../display/capture';
import { DisplayContent, MimeBundle, mimeBundleOf, displayMetadata } from '../display/display';
import { commManager } from './comm';
import { DomOptions, DOMWidget } from './controls';
import { MODULES } from './widget';

/** One nbformat output, as the Output widget's `outputs` holds it. */
export type OutputRecord =
  | { output_type: 'stream'; name: 'stdout' | 'stderr'; text: string }
  | { output_type: 'display_data'; data: MimeBundle; metadata: Record<string, unknown> }
  | { output_type: 'error'; ename: string; evalue: string; traceback: string[] };

export class Output extends DOMWidget {
  /** display id -> index in `outputs` (LiveDisplay redraws in place inside the widget too). */
  private displayIds = new Map<string, number>();

  constructor(opts: DomOptions = {}) {
    super(
      {
        _model_name: 'OutputModel',
        _model_module: MODULES.output.name,
        _model_module_version: MODULES.output.version,
        _view_name: 'OutputView',
        _view_module: MODULES.output.name,
        _view_module_version: MODULES.output.version,
      },
      { msg_id: '', outputs: [] },
      opts,
    );
  }

  get outputs(): OutputRecord[] {
    return [...this.get<OutputRecord[]>('outputs')];
  }

  /** Removes every output. */
  clear(): void {
    this.displayIds.clear();
    this.set({ outputs: [] });
  }

  /**
   * Runs `fn` with its console output and displays going into this widget; returns what `fn`
   * returns (awaited). A thrown error is shown in the widget as a traceback and then rethrown.
   */
  async capture<T>(fn: () => T | Promise<T>): Promise<T> {
    const sink: OutputSink = {
      stream: (name, text) => this.appendStream(name, text),
      display: (content, update) => this.appendDisplay(content, update),
    };
    try {
      return await captureOutput(sink, async () => fn());
    } catch (e) {
      this.appendError(e);
      throw e;
    }
  }

  /** Appends text to the widget's stdout. */
  appendStdout(text: string): void {
    this.appendStream('stdout', text);
  }

  /** Shows a value in the widget, as `display(value)` shows it in a cell. */
  async display(value: unknown): Promise<void> {
    const data = await mimeBundleOf(value);
    this.appendDisplay({ data, metadata: displayMetadata(data) }, false);
  }

  private push(o: OutputRecord): void {
    this.set({ outputs: [...this.get<OutputRecord[]>('outputs'), o] });
  }

  private appendStream(name: 'stdout' | 'stderr', text: string): void {
    const outs = this.get<OutputRecord[]>('outputs');
    const last = outs[outs.length - 1];
    if (last?.output_type === 'stream' && last.name === name)
      this.set({ outputs: [...outs.slice(0, -1), { ...last, text: last.text + text }] });
    else this.push({ output_type: 'stream', name, text });
  }

  private appendDisplay(content: DisplayContent, update: boolean): void {
    const id = content.transient?.display_id;
    const record: OutputRecord = { output_type: 'display_data', data: content.data, metadata: content.metadata ?? {} };
    const at = id === undefined ? undefined : this.displayIds.get(id);
    if (at !== undefined) {
      const outs = [...this.get<OutputRecord[]>('outputs')];
      outs[at] = record;
      this.set({ outputs: outs });
      return;
    }
    if (update) return; // an update for a display this widget never showed
    if (id !== undefined) this.displayIds.set(id, this.get<OutputRecord[]>('outputs').length);
    this.push(record);
  }

  private appendError(e: unknown): void {
    const err = commManager().formatError?.(e) ?? {
      ename: e instanceof Error ? e.name : 'Error',
      evalue: e instanceof Error ? e.message : String(e),
      traceback: [e instanceof Error ? (e.stack ?? String(e)) : String(e)],
    };
    this.push({ output_type: 'error', ...err });
  }

  protected reprKeys(): string[] {
    return [];
  }
}
