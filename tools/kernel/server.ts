/**
 * The resnet-ts Jupyter kernel: the messaging layer (protocol 5.3 over ZeroMQ) around tslab's
 * TypeScript engine (CellExecutor). Shell requests are handled one at a time in arrival order;
 * control requests (interrupt, shutdown, kernel_info) at once, read by a worker thread so that an
 * interrupt_request reaches even a cell stuck in a synchronous loop (control_worker.ts); iopub
 * carries status, the cell's input, its streams, displays, results and errors; the heartbeat echoes.
 *
 * Comms (the channels widgets use) are handled as they arrive, not queued behind a running cell:
 * a cell that awaits (train() between batches) lets a Stop button's click in. Output caused by a
 * comm message (a widget callback) has that message as its parent; the parent follows the
 * asynchronous work that produced the output (AsyncLocalStorage), so a callback running while a
 * training cell prints does not steal the cell's output. The comm registry and the widgets
 * themselves are library code (src/widgets/); this file only carries their messages.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zmq from 'zeromq';
import { displayMetadata, mimeBundleOf, plainText } from '../../src/display/display';
import type { DisplayContent } from '../../src/display/display';
import { CellExecutor } from './executor';
import { Message, PROTOCOL_VERSION, Signer } from './wire';
import { randomUUID } from 'node:crypto';
import { AsyncLocalStorage } from 'node:async_hooks';
import { currentOutputSink } from '../../src/display/capture';
import { CommMessage, commManager } from '../../src/widgets/comm';
import '../../src/widgets/widget'; // registers the widget control target (jupyter.widget.control)
import { Worker } from 'node:worker_threads';
import { findProjectRoot } from '../../src/project_root';
import type { ControlWorkerData, FromControlWorker, ToControlWorker } from './control_worker';

/** Where replies go: a socket, or the control worker's socket through the worker. */
interface Outlet {
  send(frames: (Buffer | string)[]): Promise<void>;
}

export interface ConnectionInfo {
  ip: string;
  transport: string;
  key: string;
  signature_scheme: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
}

const projectRoot = findProjectRoot(__dirname);

function once<T>(make: () => T): () => T {
  let value: { v: T } | undefined;
  return () => (value ??= { v: make() }).v;
}

function packageVersion(): string {
  try {
    return JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export class KernelServer {
  private readonly signer: Signer;
  private readonly session = randomUUID();
  // No high-water mark: a PUB socket drops messages silently past it (1000 by default), and a front end
  // that falls behind a burst (1000 widget updates, a chatty cell) must get every output late, not lose some.
  private readonly iopub = new zmq.Publisher({ linger: 0, sendHighWaterMark: 0 });
  private readonly shell = new zmq.Router({ linger: 0 });
  /** The control socket lives in a worker thread (control_worker.ts); this posts replies to it. */
  private controlWorker?: Worker;
  private readonly control: Outlet = {
    send: async (frames) => this.controlWorker?.postMessage({ send: frames } satisfies ToControlWorker),
  };
  private readonly stdin = new zmq.Router({ linger: 0 });
  private readonly hb = new zmq.Reply({ linger: 0 });
  private readonly executor: CellExecutor;
  private executionCount = 0;
  /** Executions without an execution count (silent or store_history false). */
  private unnumbered = 0;
  private shellQueue: Promise<void> = Promise.resolve();
  private pendingShell = 0;
  /**
   * After a failed cell with stop_on_error, the execute requests sent before the failure are
   * aborted (a front end's "Run all" sends every cell at once): those already queued, and those
   * still on the wire, recognized by their header's date (the client's clock, the same host).
   */
  private aborting = false;
  private failedAt = -Infinity;
  /** The request whose cell output goes to iopub (also output written after the cell finished). */
  private outputParent: Message | null = null;
  private readonly realWrite = {
    stdout: process.stdout.write.bind(process.stdout),
    stderr: process.stderr.write.bind(process.stderr),
  };
  private closed = false;
  private readonly history = new History();
  /** The message whose handling produced the running code (a comm message's callbacks). */
  private readonly parentContext = new AsyncLocalStorage<Message>();
  /** Comm messages are handled one at a time, in arrival order, beside (not behind) cells. */
  private commQueue: Promise<void> = Promise.resolve();
  /** True while an execute_request runs (comm messages then publish no busy/idle status). */
  private executing = false;

  constructor(private readonly conn: ConnectionInfo) {
    this.signer = new Signer(conn.key, conn.signature_scheme);
    this.executor = new CellExecutor(process.cwd(), projectRoot);
  }

  async start(): Promise<void> {
    const addr = (port: number) => `${this.conn.transport}://${this.conn.ip}:${port}`;
    await Promise.all([
      this.iopub.bind(addr(this.conn.iopub_port)),
      this.shell.bind(addr(this.conn.shell_port)),
      this.startControlWorker(addr(this.conn.control_port)),
      this.stdin.bind(addr(this.conn.stdin_port)),
      this.hb.bind(addr(this.conn.hb_port)),
    ]);
    this.captureStreams();
    this.installDisplay();
    this.installComms();
    process.on('SIGINT', () => this.executor.interrupt());
    void this.loop(this.hb, (frames) => this.hb.send(frames));
    void this.loop(this.shell, async (frames) => {
      if (this.isCommMessage(frames)) {
        this.commQueue = this.commQueue.then(() => this.onMessage(this.shell, frames));
        return;
      }
      this.pendingShell++;
      this.shellQueue = this.shellQueue.then(async () => {
        try {
          await this.onMessage(this.shell, frames);
        } finally {
          if (--this.pendingShell === 0) this.aborting = false;
        }
      });
    });
    this.publish(null, 'status', { execution_state: 'starting' });
  }

  /** Starts the control thread; resolves once its socket is bound. */
  private startControlWorker(address: string): Promise<void> {
    const closed = new Int32Array(new SharedArrayBuffer(4));
    const data: ControlWorkerData = {
      address,
      key: this.conn.key,
      scheme: this.conn.signature_scheme,
      session: this.session,
      closed,
    };
    const worker = new Worker(path.join(__dirname, 'control_worker.js'), { workerData: data });
    this.controlWorker = worker;
    worker.unref();
    // Exiting while the worker's ZeroMQ socket is open aborts the process (SIGABRT from the addon's
    // teardown), also for a cell's own process.exit(n): close it first, waiting at most a second.
    const exit = process.exit.bind(process);
    process.exit = ((code?: number) => {
      worker.postMessage({ close: true } satisfies ToControlWorker);
      Atomics.wait(closed, 0, 0, 1000);
      exit(code);
    }) as typeof process.exit;
    return new Promise((resolve, reject) => {
      worker.on('message', (m: FromControlWorker) => {
        if ('bound' in m) resolve();
        else if ('error' in m) reject(new Error(m.error));
        else
          void this.onMessage(
            this.control,
            m.frames.map((f) => Buffer.from(f)),
          );
      });
      worker.once('error', reject);
    });
  }

  private async loop(sock: zmq.Router | zmq.Reply, handle: (frames: Buffer[]) => Promise<void>): Promise<void> {
    try {
      for await (const frames of sock) await handle(frames);
    } catch (e) {
      if (!this.closed) this.log(`socket loop ended: ${(e as Error).message}`);
    }
  }

  private log(text: string): void {
    this.realWrite.stderr(`[resnet-ts kernel] ${text}\n`);
  }

  /** zeromq.js allows one send in flight per socket: sends are queued, in order. */
  private readonly sendQueues = new Map<Outlet, Promise<void>>();

  private enqueue(sock: Outlet, frames: (Buffer | string)[]): void {
    if (this.closed) return;
    const prev = this.sendQueues.get(sock) ?? Promise.resolve();
    this.sendQueues.set(
      sock,
      prev
        .then(() => sock.send(frames))
        .catch((e) => {
          if (!this.closed) this.log(`send failed: ${(e as Error).message}`);
        }),
    );
  }

  private send(sock: Outlet, parent: Message, type: string, content: Record<string, unknown>): void {
    this.enqueue(
      sock,
      this.signer.frames(parent, type, content, { identities: parent.identities, session: this.session }),
    );
  }

  private publish(
    parent: Message | null,
    type: string,
    content: Record<string, unknown>,
    extra: { metadata?: Record<string, unknown>; buffers?: Buffer[] } = {},
  ): void {
    this.enqueue(this.iopub, this.signer.frames(parent, type, content, { session: this.session, ...extra }));
  }

  /** Where output goes now: the comm message being handled, else the running cell's request. */
  private currentParent(): Message | null {
    return this.parentContext.getStore() ?? this.outputParent;
  }

  /** comm_open / comm_msg / comm_close, recognized before the shell queue (a cheap header read). */
  private isCommMessage(frames: Buffer[]): boolean {
    const d = frames.findIndex((f) => f.length === 9 && f.toString() === '<IDS|MSG>');
    if (d < 0 || frames.length < d + 3) return false;
    try {
      return /^comm_(open|msg|close)$/.test(String(JSON.parse(frames[d + 2].toString()).msg_type));
    } catch {
      return false;
    }
  }

  /** The library's comm manager sends through iopub; errors in widget callbacks map to cell lines. */
  private installComms(): void {
    const manager = commManager();
    manager.transport = {
      open: (comm_id, target_name, data, metadata, buffers) =>
        this.publish(this.currentParent(), 'comm_open', { comm_id, target_name, data }, { metadata, buffers }),
      send: (comm_id, data, metadata, buffers) =>
        this.publish(this.currentParent(), 'comm_msg', { comm_id, data }, { metadata, buffers }),
      close: (comm_id, data, metadata) =>
        this.publish(this.currentParent(), 'comm_close', { comm_id, data }, { metadata }),
    };
    manager.formatError = (e) => this.executor.formatError(e);
  }

  /** A comm message from the front end, handled with itself as the parent of what it causes. */
  private async onComm(msg: Message): Promise<void> {
    const c = msg.content;
    const commId = String(c.comm_id ?? '');
    const m: CommMessage = {
      data: (c.data ?? {}) as Record<string, unknown>,
      metadata: msg.metadata,
      buffers: msg.buffers,
    };
    const manager = commManager();
    await this.parentContext.run(msg, async () => {
      try {
        if (msg.header.msg_type === 'comm_open') await manager.handleOpen(commId, String(c.target_name ?? ''), m);
        else if (msg.header.msg_type === 'comm_msg') await manager.handleMsg(commId, m);
        else manager.handleClose(commId, m);
      } catch (e) {
        // A widget callback failed: show where (in cell lines); the kernel carries on.
        const { ename, evalue, traceback } = this.executor.formatError(e);
        this.publish(msg, 'error', { ename, evalue, traceback });
      }
    });
  }

  /** process.stdout/stderr writes (console.log in cells) become iopub stream messages, in order. */
  private captureStreams(): void {
    for (const name of ['stdout', 'stderr'] as const) {
      const stream = process[name];
      stream.write = ((chunk: string | Uint8Array, encodingOrCb?: unknown, cb?: unknown): boolean => {
        const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
        const sink = currentOutputSink(); // inside an Output widget's capture
        const parent = this.currentParent();
        if (sink) sink.stream(name, text);
        else if (parent) this.publish(parent, 'stream', { name, text });
        else this.realWrite[name](text);
        const done = typeof encodingOrCb === 'function' ? encodingOrCb : cb;
        if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
        return true;
      }) as typeof stream.write;
    }
  }

  /**
   * tslab's public `display` API and the library's displays (src/display/display.ts) send through
   * tslab's jupyter module's `lastWriteDisplayData`; point it at this kernel.
   */
  private installDisplay(): void {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const jupyter = require('tslab/dist/jupyter') as { lastWriteDisplayData: unknown };
    jupyter.lastWriteDisplayData = (content: DisplayContent, update: boolean) => {
      const sink = currentOutputSink();
      if (sink) return sink.display(content, update);
      const parent = this.currentParent();
      if (!parent) return;
      if (update && !content.transient?.display_id) throw new Error('update_display_data needs a display_id');
      this.publish(parent, update ? 'update_display_data' : 'display_data', {
        data: content.data,
        metadata: content.metadata ?? {},
        transient: content.transient ?? {},
      });
    };
  }

  private async onMessage(sock: Outlet, frames: Buffer[]): Promise<void> {
    let msg: Message;
    try {
      msg = this.signer.parse(frames);
    } catch (e) {
      this.log(`dropped a message: ${(e as Error).message}`);
      return;
    }
    const type = msg.header.msg_type;
    // A comm message handled while a cell runs must not flip the front end's status to idle.
    const quiet = type.startsWith('comm_') && this.executing;
    if (!quiet) this.publish(msg, 'status', { execution_state: 'busy' });
    try {
      switch (type) {
        case 'kernel_info_request':
          this.send(sock, msg, 'kernel_info_reply', this.kernelInfo());
          break;
        case 'execute_request':
          await this.onExecute(sock, msg);
          break;
        case 'is_complete_request':
          this.send(sock, msg, 'is_complete_reply', this.executor.isComplete(String(msg.content.code ?? '')));
          break;
        case 'inspect_request':
          this.send(sock, msg, 'inspect_reply', this.inspect(msg));
          break;
        case 'complete_request':
          this.send(sock, msg, 'complete_reply', this.complete(msg));
          break;
        case 'comm_info_request': {
          const target = msg.content.target_name;
          this.send(sock, msg, 'comm_info_reply', {
            status: 'ok',
            comms: commManager().info(typeof target === 'string' && target ? target : undefined),
          });
          break;
        }
        case 'history_request':
          this.send(sock, msg, 'history_reply', { status: 'ok', history: this.history.query(msg.content) });
          break;
        case 'interrupt_request':
          this.executor.interrupt();
          this.send(sock, msg, 'interrupt_reply', { status: 'ok' });
          break;
        case 'shutdown_request':
          this.send(sock, msg, 'shutdown_reply', { status: 'ok', restart: Boolean(msg.content.restart) });
          this.publish(msg, 'status', { execution_state: 'idle' });
          setTimeout(() => this.shutdown(), 50);
          return;
        case 'comm_open':
        case 'comm_msg':
        case 'comm_close':
          await this.onComm(msg);
          break;
        default:
          this.log(`unsupported message type '${type}'`);
      }
    } catch (e) {
      this.log(`error handling ${type}: ${(e as Error).stack ?? e}`);
    } finally {
      if (type !== 'shutdown_request' && !quiet) this.publish(msg, 'status', { execution_state: 'idle' });
    }
  }

  /** The kernel_info_reply content: the same for the kernel's whole life, made once. */
  private readonly kernelInfo = once((): Record<string, unknown> => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const tsVersion = (require('@tslab/typescript-for-tslab/package.json') as { version: string }).version;
    const version = packageVersion();
    return {
      status: 'ok',
      protocol_version: PROTOCOL_VERSION,
      implementation: 'resnet-ts',
      implementation_version: version,
      language_info: {
        name: 'typescript',
        version: tsVersion,
        mimetype: 'text/typescript',
        file_extension: '.ts',
        pygments_lexer: 'typescript',
        // JupyterLab reads `mode`; the classic Notebook's CodeMirror needs name + typescript.
        codemirror_mode: { mode: 'typescript', name: 'javascript', typescript: true },
      },
      banner: `resnet-ts kernel ${version}: TypeScript ${tsVersion} (tslab engine) on Node ${process.version}`,
      help_links: [
        { text: 'TensorFlow.js API', url: 'https://js.tensorflow.org/api/latest/' },
        { text: 'TypeScript handbook', url: 'https://www.typescriptlang.org/docs/handbook/intro.html' },
        { text: 'Jupyter messaging', url: 'https://jupyter-client.readthedocs.io/en/stable/messaging.html' },
      ],
    };
  });

  private async onExecute(sock: Outlet, msg: Message): Promise<void> {
    const code = String(msg.content.code ?? '');
    const silent = Boolean(msg.content.silent);
    const storeHistory = msg.content.store_history !== false && !silent;
    const sentAt = Date.parse(msg.header.date);
    if (this.aborting || (Number.isFinite(sentAt) && sentAt < this.failedAt)) {
      this.send(sock, msg, 'execute_reply', { status: 'aborted', execution_count: this.executionCount });
      return;
    }
    if (storeHistory) this.executionCount++;
    const count = this.executionCount;
    if (!silent) this.publish(msg, 'execute_input', { code, execution_count: count });
    this.outputParent = silent ? null : msg;
    this.executing = true;
    let result;
    try {
      result = await this.executor.execute(code, storeHistory ? count : -++this.unnumbered);
    } finally {
      this.executing = false;
    }
    if (result.status === 'ok') {
      let data: Record<string, unknown> | null = null;
      if (result.hasValue && !silent) {
        try {
          data = await mimeBundleOf(result.value);
        } catch (e) {
          data = { 'text/plain': `${plainText(result.value)}\n(its rich display failed: ${(e as Error).message})` };
        }
        this.publish(msg, 'execute_result', {
          execution_count: count,
          data,
          metadata: data ? displayMetadata(data) : {},
        });
      }
      if (storeHistory) this.history.add(count, code, data ? String(data['text/plain'] ?? '') : null);
      this.send(sock, msg, 'execute_reply', {
        status: 'ok',
        execution_count: count,
        user_expressions: {},
        payload: [],
      });
      return;
    }
    if (storeHistory) this.history.add(count, code, null);
    const { ename, evalue, traceback } = result.error;
    // Requests sent before this moment were queued behind the failed cell ("Run all") and are
    // aborted; one the client sends after seeing the error reply is later, and runs. (Marking the
    // time after sending the reply aborted a request sent at once in reply to it.)
    if (msg.content.stop_on_error !== false) {
      this.aborting = this.pendingShell > 1;
      this.failedAt = Date.now();
    }
    if (!silent) this.publish(msg, 'error', { ename, evalue, traceback });
    this.send(sock, msg, 'execute_reply', { status: 'error', execution_count: count, ename, evalue, traceback });
  }

  private inspect(msg: Message): Record<string, unknown> {
    const info = this.executor.inspect(String(msg.content.code ?? ''), Number(msg.content.cursor_pos ?? 0));
    if (!info) return { status: 'ok', found: false, data: {}, metadata: {} };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { printQuickInfo } = require('tslab/dist/inspect');
    return { status: 'ok', found: true, data: { 'text/plain': printQuickInfo(info) }, metadata: {} };
  }

  private complete(msg: Message): Record<string, unknown> {
    const info = this.executor.complete(String(msg.content.code ?? ''), Number(msg.content.cursor_pos ?? 0));
    return { status: 'ok', matches: info.candidates, cursor_start: info.start, cursor_end: info.end, metadata: {} };
  }

  shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    this.executor.close();
    for (const s of [this.iopub, this.shell, this.stdin, this.hb]) s.close();
    process.exit(0);
  }
}

/** The inputs (and text outputs) of this kernel's session, for history_request (tail, range, search). */
class History {
  private readonly entries: { line: number; input: string; output: string | null }[] = [];
  private static readonly SESSION = 1;

  add(line: number, input: string, output: string | null): void {
    this.entries.push({ line, input, output });
  }

  query(c: Record<string, unknown>): unknown[] {
    let found = this.entries;
    const n = typeof c.n === 'number' ? c.n : undefined;
    switch (c.hist_access_type) {
      case 'tail':
        found = n === undefined ? found : found.slice(-n);
        break;
      case 'range': {
        const start = Number(c.start ?? 0);
        const stop = c.stop === undefined || c.stop === null ? Infinity : Number(c.stop);
        found =
          Number(c.session ?? History.SESSION) === History.SESSION || Number(c.session) === 0
            ? found.filter((e) => e.line >= start && e.line < stop)
            : [];
        break;
      }
      case 'search': {
        // IPython's glob: * any run, ? one character, over the whole input.
        const glob = String(c.pattern ?? '*');
        const re = new RegExp(
          '^' +
            glob
              .replace(/[.+^${}()|[\]\\]/g, '\\$&')
              .replace(/\*/g, '.*')
              .replace(/\?/g, '.') +
            '$',
          's',
        );
        found = found.filter((e) => re.test(e.input));
        if (c.unique) {
          const seen = new Set<string>();
          found = [...found]
            .reverse()
            .filter((e) => !seen.has(e.input) && seen.add(e.input))
            .reverse();
        }
        if (n !== undefined) found = found.slice(-n);
        break;
      }
      default:
        found = [];
    }
    return found.map((e) => [History.SESSION, e.line, c.output ? [e.input, e.output] : e.input]);
  }
}
