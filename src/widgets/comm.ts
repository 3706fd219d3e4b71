/**
 * Jupyter comms, library side: the two-way channels of the messaging protocol (comm_open,
 * comm_msg, comm_close) that widgets are built on.
 *
 * A kernel attaches a `CommTransport` (how messages leave) and hands every comm message it
 * receives to `commManager()`; library code opens comms and registers targets (the names under
 * which a front end may open a comm to the kernel). Without a kernel (plain Node, tests) comms
 * still work locally: nothing is sent, so a widget is an object with state and observers.
 *
 * The manager lives on a global symbol, so the kernel and the copy of the library loaded by
 * notebook cells share one registry of open comms.
 */
import { randomUUID } from 'node:crypto';

export type CommData = Record<string, unknown>;

/** How a kernel sends comm messages to the front end (on iopub, with the current parent). */
export interface CommTransport {
  open(commId: string, targetName: string, data: CommData, metadata: CommData, buffers: Buffer[]): void;
  send(commId: string, data: CommData, metadata: CommData, buffers: Buffer[]): void;
  close(commId: string, data: CommData, metadata: CommData): void;
}

/** A message received on a comm. */
export interface CommMessage {
  data: CommData;
  metadata: CommData;
  buffers: Buffer[];
}

export class Comm {
  private readonly msgHandlers: ((m: CommMessage) => unknown)[] = [];
  private readonly closeHandlers: ((m: CommMessage) => void)[] = [];
  private closedFlag = false;

  constructor(
    private readonly manager: CommManager,
    readonly commId: string,
    readonly targetName: string,
  ) {}

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Sends a comm_msg. */
  send(data: CommData, opts: { metadata?: CommData; buffers?: Buffer[] } = {}): void {
    if (this.closedFlag) throw new Error(`comm ${this.commId} (${this.targetName}) is closed`);
    this.manager.transport?.send(this.commId, data, opts.metadata ?? {}, opts.buffers ?? []);
  }

  /** Closes the comm on both sides (comm_close); idempotent. */
  close(data: CommData = {}): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.manager.forget(this.commId);
    this.manager.transport?.close(this.commId, data, {});
  }

  onMsg(handler: (m: CommMessage) => unknown): void {
    this.msgHandlers.push(handler);
  }

  onClose(handler: (m: CommMessage) => void): void {
    this.closeHandlers.push(handler);
  }

  /** A comm_msg from the front end; resolves when every handler (sync or async) has finished. */
  async receive(m: CommMessage): Promise<void> {
    for (const h of this.msgHandlers) await h(m);
  }

  /** comm_close from the front end. */
  receiveClose(m: CommMessage): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.manager.forget(this.commId);
    for (const h of this.closeHandlers) h(m);
  }
}

/** Called when the front end opens a comm to a registered target. */
export type CommTargetHandler = (comm: Comm, open: CommMessage) => unknown;

/** An error as Jupyter shows it (the kernel maps stack frames to cell lines). */
export interface FormattedError {
  ename: string;
  evalue: string;
  traceback: string[];
}

export class CommManager {
  transport: CommTransport | null = null;
  /** Set by a kernel: how an error raised in a widget callback is shown (mapped to cell lines). */
  formatError: ((e: unknown) => FormattedError) | null = null;
  private readonly comms = new Map<string, Comm>();
  private readonly targets = new Map<string, CommTargetHandler>();

  /** Opens a comm from the kernel side (comm_open to the front end). */
  open(
    targetName: string,
    data: CommData,
    opts: { metadata?: CommData; buffers?: Buffer[]; commId?: string } = {},
  ): Comm {
    const comm = new Comm(this, opts.commId ?? randomUUID().replace(/-/g, ''), targetName);
    this.comms.set(comm.commId, comm);
    this.transport?.open(comm.commId, targetName, data, opts.metadata ?? {}, opts.buffers ?? []);
    return comm;
  }

  registerTarget(name: string, handler: CommTargetHandler): void {
    this.targets.set(name, handler);
  }

  /** The open comms, optionally of one target: comm_info_reply's `comms`. */
  info(targetName?: string): Record<string, { target_name: string }> {
    const out: Record<string, { target_name: string }> = {};
    for (const c of this.comms.values())
      if (targetName === undefined || c.targetName === targetName) out[c.commId] = { target_name: c.targetName };
    return out;
  }

  get(commId: string): Comm | undefined {
    return this.comms.get(commId);
  }

  forget(commId: string): void {
    this.comms.delete(commId);
  }

  /**
   * comm_open from the front end. An unknown target is refused as the protocol says: the kernel
   * answers with comm_close. Returns false then.
   */
  async handleOpen(commId: string, targetName: string, m: CommMessage): Promise<boolean> {
    const handler = this.targets.get(targetName);
    if (!handler) {
      this.transport?.close(commId, {}, {});
      return false;
    }
    const comm = new Comm(this, commId, targetName);
    this.comms.set(commId, comm);
    await handler(comm, m);
    return true;
  }

  /** comm_msg from the front end; false when no such comm is open (the message is dropped). */
  async handleMsg(commId: string, m: CommMessage): Promise<boolean> {
    const comm = this.comms.get(commId);
    if (!comm) return false;
    await comm.receive(m);
    return true;
  }

  handleClose(commId: string, m: CommMessage): boolean {
    const comm = this.comms.get(commId);
    if (!comm) return false;
    comm.receiveClose(m);
    return true;
  }

  /** Closes every open comm (kernel shutdown). */
  closeAll(): void {
    for (const c of [...this.comms.values()]) c.close();
  }
}

const KEY = Symbol.for('resnet-ts.comm-manager');

/** The process's comm manager (one per kernel, shared by every copy of the library). */
export function commManager(): CommManager {
  const g = globalThis as unknown as Record<symbol, CommManager | undefined>;
  return (g[KEY] ??= new CommManager());
}
