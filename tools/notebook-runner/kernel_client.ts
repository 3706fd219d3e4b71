/**
 * A minimal Jupyter kernel client: starts a kernel process from its kernelspec argv with a fresh
 * connection file and talks to it over ZeroMQ with HMAC-SHA256-signed messages (the Jupyter
 * messaging protocol, version 5.3). Enough to execute code cells and collect their outputs.
 *
 * Sockets: shell (DEALER) for execute/kernel_info/shutdown requests, control (DEALER),
 * iopub (SUB, everything) for outputs and busy/idle status. Heartbeat is not used: the kernel is
 * our child process, so its death is observed directly.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zmq from 'zeromq';
import type { Header, Message as WireMessage } from '../kernel/wire';
import { freePorts } from '../free_ports';

export interface KernelSpec {
  argv: string[];
  env?: Record<string, string>;
  display_name?: string;
  language?: string;
}

/** The wire format's header, shared with the kernel side (tools/kernel/wire.ts). */
export type { Header };

/** A message as the client sees it: the kernel side's, without the routing identities. */
export type Message = Omit<WireMessage, 'identities'>;

export interface ExecuteOutcome {
  /** ok / error / abort: the kernel's execute_reply; timeout / died: no reply came. */
  status: 'ok' | 'error' | 'abort' | 'timeout' | 'died';
  reply?: Record<string, unknown>;
  /** Every iopub message whose parent is this request, in order (status messages excluded). */
  messages: Message[];
  /** For 'died': how the kernel process ended. */
  detail?: string;
}

const DELIM = Buffer.from('<IDS|MSG>');

export class KernelError extends Error {}

/** The kernel process did not become ready; carries what it printed (often the reason). */
export class KernelStartError extends KernelError {
  constructor(
    message: string,
    readonly processOutput: string,
  ) {
    super(message);
  }
}

export class KernelClient {
  private readonly session = randomUUID();
  // linger 0: requests still queued for a kernel that died must not keep the runner alive at exit.
  private readonly shell = new zmq.Dealer({ linger: 0 });
  private readonly control = new zmq.Dealer({ linger: 0 });
  private readonly iopub = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 0 }); // never drop output (see the kernel)
  private readonly replies = new Map<string, (m: Message) => void>();
  private readonly iopubListeners = new Map<string, (m: Message) => void>();
  /** Listeners to every iopub message (widget state, comm messages caused by comm messages). */
  private readonly iopubWatchers = new Set<(m: Message) => void>();
  private exitInfo: string | null = null;
  private readonly exitWaiters: ((info: string) => void)[] = [];
  private closed = false;
  /** The kernel process's own stdout/stderr (not iopub), the last 64 KB, for diagnostics. */
  processOutput = '';
  badSignatures = 0;

  private constructor(
    readonly proc: ChildProcess,
    private readonly key: Buffer,
    private readonly connectionFile: string,
  ) {}

  /**
   * Starts the kernel described by `spec` in `cwd` and waits until shell and iopub both work. The
   * ports are probed free, but another process can take one before the kernel binds it: a start
   * that fails on a taken address is retried with new ports (three attempts).
   */
  static async start(
    spec: KernelSpec,
    opts: { cwd: string; env?: NodeJS.ProcessEnv; startTimeoutMs?: number },
  ): Promise<KernelClient> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await KernelClient.startOnce(spec, opts);
      } catch (e) {
        const portTaken = e instanceof KernelStartError && /EADDRINUSE|Address already in use/i.test(e.processOutput);
        if (!portTaken || attempt >= 3) throw e;
      }
    }
  }

  private static async startOnce(
    spec: KernelSpec,
    opts: { cwd: string; env?: NodeJS.ProcessEnv; startTimeoutMs?: number },
  ): Promise<KernelClient> {
    const [shell, iopub, stdin, control, hb] = await freePorts(5);
    const key = randomBytes(32).toString('hex');
    const conn = {
      ip: '127.0.0.1',
      transport: 'tcp',
      signature_scheme: 'hmac-sha256',
      key,
      shell_port: shell,
      iopub_port: iopub,
      stdin_port: stdin,
      control_port: control,
      hb_port: hb,
      kernel_name: spec.display_name ?? 'kernel',
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resnet-ts-kernel-'));
    const connectionFile = path.join(dir, 'connection.json');
    fs.writeFileSync(connectionFile, JSON.stringify(conn), { mode: 0o600 });
    const argv = spec.argv.map((a) => a.replace('{connection_file}', connectionFile));
    const proc = spawn(argv[0], argv.slice(1), {
      cwd: opts.cwd,
      env: { ...process.env, ...(opts.env ?? {}), ...(spec.env ?? {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const k = new KernelClient(proc, Buffer.from(key), connectionFile);
    const keep = (d: Buffer) => {
      k.processOutput = (k.processOutput + d.toString()).slice(-65536);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    proc.on('error', (e) => k.onExit(`could not start ${argv[0]}: ${e.message}`));
    proc.on('exit', (code, signal) => k.onExit(signal ? `killed by ${signal}` : `exit code ${code}`));

    k.shell.connect(`tcp://127.0.0.1:${shell}`);
    k.control.connect(`tcp://127.0.0.1:${control}`);
    k.iopub.connect(`tcp://127.0.0.1:${iopub}`);
    k.iopub.subscribe();
    void k.readLoop(k.shell, (m) => k.replies.get(m.parent_header.msg_id ?? '')?.(m));
    void k.readLoop(k.control, (m) => k.replies.get(m.parent_header.msg_id ?? '')?.(m));
    void k.readLoop(k.iopub, (m) => {
      for (const w of k.iopubWatchers) w(m);
      k.iopubListeners.get(m.parent_header.msg_id ?? '')?.(m);
    });
    try {
      await k.waitReady(opts.startTimeoutMs ?? 60_000);
    } catch (e) {
      await k.shutdown();
      throw new KernelStartError((e as Error).message, k.processOutput);
    }
    return k;
  }

  private onExit(info: string): void {
    if (this.exitInfo !== null) return;
    this.exitInfo = info;
    for (const w of this.exitWaiters.splice(0)) w(info);
  }

  get alive(): boolean {
    return this.exitInfo === null;
  }

  /** Resolves with how the process ended. */
  exited(): Promise<string> {
    return this.exitInfo !== null ? Promise.resolve(this.exitInfo) : new Promise((r) => this.exitWaiters.push(r));
  }

  private sign(parts: Buffer[]): string {
    const h = createHmac('sha256', this.key);
    for (const p of parts) h.update(p);
    return h.digest('hex');
  }

  private async readLoop(sock: zmq.Dealer | zmq.Subscriber, on: (m: Message) => void): Promise<void> {
    try {
      for await (const frames of sock) {
        const m = this.decode(frames as Buffer[]);
        if (m) on(m);
      }
    } catch (e) {
      if (!this.closed) this.processOutput += `\n[runner] socket read failed: ${(e as Error).message}`;
    }
  }

  private decode(frames: Buffer[]): Message | null {
    const i = frames.findIndex((f) => f.equals(DELIM));
    if (i < 0 || frames.length < i + 6) return null;
    const signature = frames[i + 1].toString();
    const parts = frames.slice(i + 2, i + 6);
    if (signature !== this.sign(parts)) {
      this.badSignatures++;
      return null;
    }
    const [header, parent_header, metadata, content] = parts.map((p) => JSON.parse(p.toString()));
    return { header, parent_header, metadata, content, buffers: frames.slice(i + 6) };
  }

  /** Sends a request and resolves with its reply (rejects on timeout or kernel death). */
  private async request(
    sock: zmq.Dealer,
    msgType: string,
    content: Record<string, unknown>,
    timeoutMs: number,
    onIopub?: (m: Message) => void,
  ): Promise<{ id: string; reply: Message }> {
    let resolveReply!: (m: Message) => void;
    const replied = new Promise<Message>((r) => {
      resolveReply = r;
    });
    // Register before sending: the reply can arrive before send() resolves.
    const msgId = await this.prepareAndSend(sock, msgType, content, (id) => {
      this.replies.set(id, resolveReply);
      if (onIopub) this.iopubListeners.set(id, onIopub);
    });
    try {
      const reply = await this.race(replied, timeoutMs, `${msgType} got no reply`);
      return { id: msgId, reply };
    } finally {
      this.replies.delete(msgId);
    }
  }

  private async prepareAndSend(
    sock: zmq.Dealer,
    msgType: string,
    content: Record<string, unknown>,
    register: (msgId: string) => void,
    buffers: Buffer[] = [],
  ): Promise<string> {
    const header: Header = {
      msg_id: randomUUID(),
      session: this.session,
      username: os.userInfo().username,
      date: new Date().toISOString(),
      msg_type: msgType,
      version: '5.3',
    };
    register(header.msg_id);
    const parts = [header, {}, {}, content].map((o) => Buffer.from(JSON.stringify(o)));
    await sock.send([DELIM, this.sign(parts), ...parts, ...buffers]);
    return header.msg_id;
  }

  /** Calls `fn` with every iopub message from now on; returns the function that stops it. */
  watchIopub(fn: (m: Message) => void): () => void {
    this.iopubWatchers.add(fn);
    return () => this.iopubWatchers.delete(fn);
  }

  /**
   * Sends comm_open / comm_msg / comm_close on shell, as a front end's widget manager does (no
   * reply comes); `onIopub` sees what the kernel publishes in response. Resolves with the msg_id.
   */
  async sendComm(
    msgType: 'comm_open' | 'comm_msg' | 'comm_close',
    content: Record<string, unknown>,
    opts: { buffers?: Buffer[]; onIopub?: (m: Message) => void } = {},
  ): Promise<string> {
    return this.prepareAndSend(
      this.shell,
      msgType,
      content,
      (id) => {
        if (opts.onIopub) this.iopubListeners.set(id, opts.onIopub);
      },
      opts.buffers,
    );
  }

  /** comm_info_request: the open comms (of one target, if given). */
  async commInfo(targetName?: string, timeoutMs = 10_000): Promise<Record<string, { target_name: string }>> {
    const content = targetName ? { target_name: targetName } : {};
    const { reply } = await this.request(this.shell, 'comm_info_request', content, timeoutMs);
    return reply.content.comms as Record<string, { target_name: string }>;
  }

  private race<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => reject(new KernelError(`${what} within ${timeoutMs / 1000} s`)), timeoutMs);
      p.then(
        (v) => {
          clearTimeout(t);
          resolve(v);
        },
        (e) => {
          clearTimeout(t);
          reject(e);
        },
      );
      void this.exited().then((info) => {
        clearTimeout(t);
        reject(new KernelError(`kernel died (${info})`));
      });
    });
  }

  /**
   * kernel_info until a reply comes on shell AND its idle status arrives on iopub (a SUB socket
   * only receives what is published after it has connected, so the first tries may miss it).
   */
  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      let sawIdle!: () => void;
      const idle = new Promise<void>((r) => {
        sawIdle = r;
      });
      const { id } = await this.request(
        this.shell,
        'kernel_info_request',
        {},
        Math.max(1000, deadline - Date.now()),
        (m) => {
          if (m.header.msg_type === 'status' && m.content.execution_state === 'idle') sawIdle();
        },
      );
      try {
        await this.race(idle, 1000, 'iopub');
        return;
      } catch (e) {
        if (!this.alive) throw e;
      } finally {
        this.iopubListeners.delete(id);
      }
    }
    throw new KernelError(`kernel not ready within ${timeoutMs / 1000} s`);
  }

  /**
   * Runs `code`; `onMessage` sees each output message as it arrives. Resolves when both the
   * execute_reply and the idle status for it have come (or the kernel died, or the time is up:
   * then the kernel is sent SIGINT, like Jupyter's interrupt for signal-mode kernels).
   */
  async execute(code: string, timeoutMs: number, onMessage?: (m: Message) => void): Promise<ExecuteOutcome> {
    const messages: Message[] = [];
    let sawIdle!: () => void;
    const idle = new Promise<void>((r) => {
      sawIdle = r;
    });
    let resolveReply!: (m: Message) => void;
    const replied = new Promise<Message>((r) => {
      resolveReply = r;
    });
    const id = await this.prepareAndSend(
      this.shell,
      'execute_request',
      {
        code,
        silent: false,
        store_history: true,
        user_expressions: {},
        allow_stdin: false,
        stop_on_error: true,
      },
      (msgId) => {
        this.replies.set(msgId, resolveReply);
        this.iopubListeners.set(msgId, (m) => {
          if (m.header.msg_type === 'status') {
            if (m.content.execution_state === 'idle') sawIdle();
            return;
          }
          messages.push(m);
          onMessage?.(m);
        });
      },
    );
    const cleanup = () => {
      this.replies.delete(id);
      this.iopubListeners.delete(id);
    };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), timeoutMs);
    });
    const died = this.exited().then((info) => ({ died: info }));
    const first = await Promise.race([replied, timedOut, died]);
    clearTimeout(timer);
    if (first === 'timeout') {
      this.interrupt();
      // Give the kernel a moment to report the interruption; the caller decides what comes next.
      await Promise.race([replied, this.exited(), new Promise((r) => setTimeout(r, 3000))]);
      cleanup();
      return { status: 'timeout', messages };
    }
    if ('died' in first) {
      cleanup();
      return { status: 'died', messages, detail: first.died };
    }
    // Outputs published just before the reply may still be in flight on iopub.
    await Promise.race([idle, new Promise((r) => setTimeout(r, 5000)), this.exited()]);
    cleanup();
    const reply = first.content;
    const status =
      reply.status === 'ok' ? 'ok' : reply.status === 'abort' || reply.status === 'aborted' ? 'abort' : 'error';
    return { status, reply, messages };
  }

  interrupt(): void {
    if (this.alive) this.proc.kill('SIGINT');
  }

  /** Interrupt by message (interrupt_request on control, for kernels with interrupt_mode 'message'). */
  async interruptByMessage(timeoutMs = 10_000): Promise<Message> {
    return (await this.request(this.control, 'interrupt_request', {}, timeoutMs)).reply;
  }

  /** shutdown_request, then SIGTERM, then SIGKILL; closes the sockets and removes the connection file. */
  async shutdown(graceMs = 3000): Promise<void> {
    if (this.alive) {
      try {
        await this.request(this.control, 'shutdown_request', { restart: false }, graceMs);
      } catch {
        /* fall through to signals */
      }
      await Promise.race([this.exited(), new Promise((r) => setTimeout(r, graceMs))]);
    }
    if (this.alive) {
      this.proc.kill('SIGTERM');
      await Promise.race([this.exited(), new Promise((r) => setTimeout(r, graceMs))]);
    }
    if (this.alive) {
      this.proc.kill('SIGKILL');
      await this.exited();
    }
    this.closed = true;
    for (const s of [this.shell, this.control, this.iopub]) s.close();
    fs.rmSync(path.dirname(this.connectionFile), { recursive: true, force: true });
  }
}
