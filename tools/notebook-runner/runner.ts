/**
 * Executes a notebook's code cells in order on a real Jupyter kernel and records the outputs in
 * nbformat 4 -- what `jupyter nbconvert --execute` does, without nbconvert.
 *
 * A cell fails when the kernel's execute_reply says 'error' (the resnet-ts kernel sends an `error`
 * message with ename, evalue and a traceback mapped to cell lines; a kernel that only writes to
 * stderr, like stock tslab, is reported by that text), when the kernel process dies, or
 * when the cell runs longer than the timeout (the kernel then gets SIGINT, then is killed).
 * Execution stops at the first failing cell; the executed copy is written either way.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Cell, Notebook, Output, joinText, readNotebook, stringifyNotebook } from '../notebook-md/ipynb';
import { WIDGET_STATE_MIME, WidgetStateCollector } from './widget_state';
import { ExecuteOutcome, KernelClient, KernelSpec, KernelStartError, Message } from './kernel_client';

export interface CellFailure {
  notebook: string;
  /** 1-based index among all the notebook's cells (markdown included), as seen on screen. */
  cell: number;
  kind: 'error' | 'timeout' | 'died' | 'start';
  message: string;
  /** The first line of the cell's source. */
  firstLine: string;
}

export interface NotebookResult {
  notebook: string;
  ok: boolean;
  seconds: number;
  failure?: CellFailure;
  /** Where the executed copy was written. */
  outPath: string;
  executed: Notebook;
  /** Wall time per executed code cell (1-based cell index -> seconds). */
  cellSeconds: Record<number, number>;
}

export interface RunNotebookOptions {
  spec: KernelSpec;
  /** Per-cell timeout. */
  timeoutMs: number;
  /** Directory for the executed copy (created). */
  outDir: string;
  /** Extra environment for the kernel process. */
  env?: NodeJS.ProcessEnv;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  startTimeoutMs?: number;
}

/** Turns iopub messages into a cell's outputs, as Jupyter front ends do. */
class OutputCollector {
  /** display_id -> the display_data outputs (anywhere in the notebook) it may update. */
  private readonly displays = new Map<string, Output[]>();
  private clearPending = false;
  stderr = '';

  constructor(
    private outputs: Output[],
    private readonly executionCount: () => number | null,
  ) {}

  setCell(outputs: Output[]): void {
    this.outputs = outputs;
    this.clearPending = false;
    this.stderr = '';
  }

  add(m: Message): void {
    // Message contents are untyped JSON whose shape depends on msg_type.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const c = m.content as Record<string, any>;
    const type = m.header.msg_type;
    if (type === 'clear_output') {
      if (c.wait) this.clearPending = true;
      else this.outputs.length = 0;
      return;
    }
    if (type === 'update_display_data') {
      for (const o of this.displays.get(c.transient?.display_id) ?? []) {
        o.data = c.data;
        o.metadata = c.metadata ?? {};
      }
      return;
    }
    if (!['stream', 'display_data', 'execute_result', 'error'].includes(type)) return;
    if (this.clearPending) {
      this.outputs.length = 0;
      this.clearPending = false;
    }
    if (type === 'stream') {
      if (c.name === 'stderr') this.stderr += c.text;
      const last = this.outputs[this.outputs.length - 1];
      if (last && last.output_type === 'stream' && last.name === c.name) {
        last.text = joinText(last.text) + c.text;
      } else {
        this.outputs.push({ output_type: 'stream', name: c.name, text: c.text });
      }
    } else if (type === 'error') {
      this.outputs.push({ output_type: 'error', ename: c.ename, evalue: c.evalue, traceback: c.traceback ?? [] });
    } else {
      const o: Output =
        type === 'execute_result'
          ? { output_type: type, execution_count: this.executionCount(), data: c.data, metadata: c.metadata ?? {} }
          : { output_type: 'display_data', data: c.data, metadata: c.metadata ?? {} };
      this.outputs.push(o);
      const id = c.transient?.display_id;
      if (id) this.displays.set(id, [...(this.displays.get(id) ?? []), o]);
    }
  }
}

const firstLine = (src: string) =>
  src
    .split('\n')
    .find((l) => l.trim() !== '')
    ?.trim() ?? '';

/** Executes every code cell of `file` in order; never throws for cell failures (see `failure`). */
export async function runNotebook(file: string, opts: RunNotebookOptions): Promise<NotebookResult> {
  const log = opts.log ?? (() => {});
  const started = performance.now();
  const nb = readNotebook(file);
  const executed: Notebook = structuredClone(nb);
  const outPath = path.join(opts.outDir, path.basename(file));
  const cellSeconds: Record<number, number> = {};
  const rel = path.relative(process.cwd(), file) || file;
  let failure: CellFailure | undefined;
  const finish = (): NotebookResult => {
    fs.mkdirSync(opts.outDir, { recursive: true });
    fs.writeFileSync(`${outPath}.tmp`, stringifyNotebook(executed));
    fs.renameSync(`${outPath}.tmp`, outPath);
    return {
      notebook: rel,
      ok: !failure,
      seconds: (performance.now() - started) / 1000,
      failure,
      outPath,
      executed,
      cellSeconds,
    };
  };

  for (const cell of executed.cells) {
    if (cell.cell_type === 'code') Object.assign(cell, { outputs: [], execution_count: null });
  }

  const launch = await startKernel(file, rel, opts);
  if ('failure' in launch) {
    failure = launch.failure;
    return finish();
  }
  const kernel = launch.kernel;
  let count = 0;
  const collector = new OutputCollector([], () => count);
  // The widgets' state as a front end would save it (nbclient's way): the page shows them without a kernel.
  const widgets = new WidgetStateCollector();
  const stopWatching = kernel.watchIopub((m) => widgets.add(m));
  try {
    for (const [i, cell] of executed.cells.entries()) {
      if (cell.cell_type !== 'code') continue;
      const src = cell.source;
      if (src.trim() === '') continue;
      const { outcome, outputs, secs } = await runCell(
        kernel,
        cell,
        collector,
        opts.timeoutMs,
        () => count,
        (c) => (count = c),
      );
      cellSeconds[i + 1] = secs;
      const where = { notebook: rel, cell: i + 1, firstLine: firstLine(src) };
      if (outcome.status === 'ok') {
        log(`${rel}: cell ${i + 1} ok (${secs.toFixed(1)} s)`);
        continue;
      }
      const message = failureMessage(outcome, outputs, kernel, collector.stderr, opts.timeoutMs);
      // Record the failure in the executed copy as an nbformat error output (the kernel's own, if it sent one).
      if (!outputs.some((o) => o.output_type === 'error'))
        outputs.push({ output_type: 'error', ename: outcome.status, evalue: message, traceback: [] });
      failure = {
        ...where,
        kind: outcome.status === 'timeout' ? 'timeout' : outcome.status === 'died' ? 'died' : 'error',
        message,
      };
      log(`${rel}: cell ${i + 1} FAILED (${secs.toFixed(1)} s)`);
      break;
    }
  } finally {
    stopWatching();
    await kernel.shutdown();
  }
  saveWidgetState(executed, widgets);
  return finish();
}

/**
 * Runs one code cell on the kernel: its outputs, execution count (the kernel's, else one more than
 * the last) and timing metadata (seconds, when a display was redrawn in place: live plots).
 */
async function runCell(
  kernel: KernelClient,
  cell: Cell,
  collector: OutputCollector,
  timeoutMs: number,
  lastCount: () => number,
  setCount: (n: number) => void,
): Promise<{ outcome: ExecuteOutcome; outputs: Output[]; secs: number }> {
  const outputs: Output[] = [];
  cell.outputs = outputs;
  collector.setCell(outputs);
  const t0 = performance.now();
  const updateTimes: number[] = [];
  const outcome = await kernel.execute(cell.source, timeoutMs, (m) => {
    if (m.header.msg_type === 'update_display_data') updateTimes.push(+((performance.now() - t0) / 1000).toFixed(2));
    collector.add(m);
  });
  const secs = (performance.now() - t0) / 1000;
  cell.metadata = { ...cell.metadata, execution: { seconds: +secs.toFixed(3), display_updates_at: updateTimes } };
  const reported = outcome.reply?.execution_count;
  const count = typeof reported === 'number' ? reported : lastCount() + 1;
  setCount(count);
  cell.execution_count = count;
  for (const o of outputs) if (o.output_type === 'execute_result') o.execution_count = count;
  return { outcome, outputs, secs };
}

/** What a failed cell's report says: the timeout, the kernel's last words, or the error with its traceback. */
function failureMessage(
  outcome: ExecuteOutcome,
  outputs: Output[],
  kernel: KernelClient,
  stderr: string,
  timeoutMs: number,
): string {
  if (outcome.status === 'timeout') return `timed out after ${timeoutMs / 1000} s (kernel interrupted, then stopped)`;
  if (outcome.status === 'died') {
    const tail = kernel.processOutput.trim().split('\n').slice(-15).join('\n');
    return `the kernel died (${outcome.detail})${tail ? `; its last output:\n${tail}` : ''}`;
  }
  const err = outputs.find((o) => o.output_type === 'error');
  if (err && err.output_type === 'error') {
    // A kernel's traceback starts with its own "ename: evalue" line (ipykernel's and ours do).
    const tb = (err.traceback ?? []).map(stripAnsi).join('\n');
    return tb.includes(err.evalue ?? '') ? tb : `${err.ename}: ${err.evalue}${tb ? `\n${tb}` : ''}`;
  }
  const reply = outcome.reply ?? {};
  const parts = [reply.ename, reply.evalue].filter((x) => typeof x === 'string' && x !== '');
  return stderr.trim() || parts.join(': ') || `execute_reply status ${outcome.status}`;
}

/** The widgets' saved state goes into the notebook's metadata (replacing an earlier run's), or none. */
function saveWidgetState(nb: Notebook, widgets: WidgetStateCollector): void {
  const state = widgets.metadata();
  const metadata: Record<string, unknown> = { ...nb.metadata };
  delete metadata.widgets;
  nb.metadata = state ? { ...metadata, widgets: { [WIDGET_STATE_MIME]: state } } : metadata;
}

/** The kernel for a notebook (in the notebook's folder), or the failure that names why it did not start. */
async function startKernel(
  file: string,
  rel: string,
  opts: RunNotebookOptions,
): Promise<{ kernel: KernelClient } | { failure: CellFailure }> {
  try {
    const kernel = await KernelClient.start(opts.spec, {
      cwd: path.dirname(path.resolve(file)),
      env: opts.env,
      startTimeoutMs: opts.startTimeoutMs,
    });
    return { kernel };
  } catch (e) {
    const said = e instanceof KernelStartError ? e.processOutput.trim().split('\n').slice(-15).join('\n') : '';
    return {
      failure: {
        notebook: rel,
        cell: 0,
        kind: 'start',
        firstLine: '',
        message: `kernel did not start: ${(e as Error).message}${said ? `; the kernel printed:\n${said}` : ''}`,
      },
    };
  }
}

// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

export function formatFailure(f: CellFailure): string {
  const head =
    f.kind === 'start'
      ? `${f.notebook}: ${f.message}`
      : `${f.notebook}: cell ${f.cell} (${f.firstLine}) ${f.kind === 'error' ? 'failed' : f.kind === 'timeout' ? 'timed out' : 'killed the kernel'}:`;
  return f.kind === 'start' ? head : `${head}\n${f.message.replace(/^/gm, '    ')}`;
}

/** Jupyter's data directories, in its search order (JUPYTER_PATH, user, system). */
export function jupyterDataDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs = (env.JUPYTER_PATH ?? '').split(path.delimiter).filter(Boolean);
  dirs.push(
    env.JUPYTER_DATA_DIR ?? path.join(env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share'), 'jupyter'),
  );
  dirs.push('/usr/local/share/jupyter', '/usr/share/jupyter');
  return dirs;
}

/**
 * The kernelspec to run `name` with. Several clones of the project can exist, and the per-user
 * kernelspec belongs to whichever ran tools/setup-notebooks.js last (its metadata.project says
 * which), so: an installed spec made for `projectRoot`, else the one setup-notebooks wrote into
 * build/kernelspec/ of `projectRoot`, else any installed spec whose program still exists.
 */
export function findKernelSpec(
  name: string,
  projectRoot: string,
  env: NodeJS.ProcessEnv = process.env,
): { spec: KernelSpec; file: string; note?: string } {
  const installed = jupyterDataDirs(env).map((d) => path.join(d, 'kernels', name, 'kernel.json'));
  const own = path.join(projectRoot, 'build', 'kernelspec', name, 'kernel.json');
  const read = (file: string) => {
    const spec = JSON.parse(fs.readFileSync(file, 'utf8')) as KernelSpec & { metadata?: { project?: string } };
    if (!Array.isArray(spec.argv) || spec.argv.length === 0) throw new Error(`${file}: kernelspec without argv`);
    return spec;
  };
  const sameDir = (a: string | undefined, b: string) => {
    try {
      return !!a && fs.realpathSync(a) === fs.realpathSync(b);
    } catch {
      return false;
    }
  };
  const existing = installed.filter((f) => fs.existsSync(f));
  const specs = existing.map((file) => ({ file, spec: read(file) }));
  const mine = specs.find(({ spec }) => sameDir(spec.metadata?.project, projectRoot));
  if (mine) return mine;
  if (fs.existsSync(own)) return { spec: read(own), file: own };
  const broken: string[] = [];
  for (const { file, spec } of specs) {
    // argv[1] is the kernel program (tslab's bin) for the kernelspecs setup-notebooks writes.
    const program = spec.argv.length > 1 && path.isAbsolute(spec.argv[1]) ? spec.argv[1] : undefined;
    if (program && !fs.existsSync(program)) {
      broken.push(`${file} starts ${program}, which does not exist`);
      continue;
    }
    return {
      spec,
      file,
      note: `kernelspec ${file} was made for ${spec.metadata?.project ?? 'another project'}, not ${projectRoot}`,
    };
  }
  throw new Error(
    `no usable kernelspec '${name}' (${[...broken, `nothing at ${[...installed, own].filter((f) => !existing.includes(f)).join(', ')}`].join('; ')}); ` +
      'run tools/setup.sh or node tools/setup-notebooks.js',
  );
}

/**
 * notebooks/node_modules/resnet-ts -> ../.. (what tools/setup-notebooks.js makes): tslab
 * type-checks `import ... from 'resnet-ts'` with node10 resolution, which needs it.
 */
export function ensurePackageLink(notebookDir: string, root: string): void {
  const link = path.join(notebookDir, 'node_modules', 'resnet-ts');
  try {
    if (fs.realpathSync(link) === fs.realpathSync(root)) return;
  } catch {
    /* absent or dangling */
  }
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync(path.relative(path.dirname(link), root), link, 'dir');
}
