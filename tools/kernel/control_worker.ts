/**
 * The control channel on its own thread. A cell that runs a synchronous loop blocks the main
 * thread's event loop, so an interrupt_request read there would wait for the loop to end. This
 * worker owns the control socket: it answers interrupt_request at once and turns it into SIGINT
 * for the process (which stops a synchronous loop through vm's breakOnSigint, and reaches the
 * main thread's SIGINT handler otherwise); every other control message goes to the main thread,
 * whose replies come back here to be sent.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as zmq from 'zeromq';
import { Signer } from './wire';

export interface ControlWorkerData {
  address: string;
  key: string;
  scheme: string;
  session: string;
  /** Set to 1 by the worker once its socket is closed (the main thread waits on it before exiting). */
  closed: Int32Array;
}

/** Main thread -> worker: frames to send on the control socket, or 'close'. */
export type ToControlWorker = { send: (Buffer | string)[] } | { close: true };
/** Worker -> main thread: a control message to handle, or the socket is bound. */
export type FromControlWorker = { frames: Buffer[] } | { bound: true } | { error: string };

async function main(): Promise<void> {
  const { address, key, scheme, session, closed } = workerData as ControlWorkerData;
  const signer = new Signer(key, scheme);
  const sock = new zmq.Router({ linger: 0 });
  let queue: Promise<unknown> = Promise.resolve();
  const send = (frames: (Buffer | string)[]) => {
    queue = queue.then(() => sock.send(frames)).catch(() => {});
  };
  parentPort!.on('message', (m: ToControlWorker) => {
    if ('send' in m) send(m.send.map((f) => (typeof f === 'string' ? f : Buffer.from(f))));
    else {
      sock.close();
      Atomics.store(closed, 0, 1);
      Atomics.notify(closed, 0);
    }
  });
  try {
    await sock.bind(address);
  } catch (e) {
    parentPort!.postMessage({ error: `control socket: ${(e as Error).message}` } satisfies FromControlWorker);
    return;
  }
  parentPort!.postMessage({ bound: true } satisfies FromControlWorker);
  try {
    for await (const frames of sock) {
      let type = '';
      try {
        const msg = signer.parse(frames);
        type = msg.header.msg_type;
        if (type === 'interrupt_request') {
          send(signer.frames(msg, 'interrupt_reply', { status: 'ok' }, { identities: msg.identities, session }));
          process.kill(process.pid, 'SIGINT');
          continue;
        }
      } catch {
        /* a bad message: the main thread logs it */
      }
      parentPort!.postMessage({ frames } satisfies FromControlWorker);
    }
  } catch {
    /* socket closed */
  }
}

void main();
