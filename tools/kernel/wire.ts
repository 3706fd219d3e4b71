/**
 * The Jupyter messaging protocol's wire format (version 5.3), kernel side: a message arrives on a
 * ROUTER socket as [identities..., '<IDS|MSG>', hmac, header, parent_header, metadata, content,
 * buffers...]; replies go back to the same identities, signed with HMAC-SHA256 over the four JSON
 * frames. https://jupyter-client.readthedocs.io/en/stable/messaging.html#the-wire-protocol
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

export const PROTOCOL_VERSION = '5.3';
const DELIM = Buffer.from('<IDS|MSG>');

export interface Header {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

export interface Message {
  identities: Buffer[];
  header: Header;
  parent_header: Partial<Header>;
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
  buffers: Buffer[];
}

export class Signer {
  constructor(
    private readonly key: string,
    private readonly scheme = 'hmac-sha256',
  ) {
    if (key && scheme !== 'hmac-sha256') throw new Error(`unsupported signature_scheme '${scheme}' (hmac-sha256 only)`);
  }

  sign(frames: (Buffer | string)[]): string {
    if (!this.key) return '';
    const h = createHmac('sha256', this.key);
    for (const f of frames) h.update(f);
    return h.digest('hex');
  }

  /** Parses and verifies one multipart message; throws on a bad signature or a malformed message. */
  parse(frames: Buffer[]): Message {
    const d = frames.findIndex((f) => f.equals(DELIM));
    if (d < 0 || frames.length < d + 6) throw new Error('malformed message: no <IDS|MSG> delimiter or too few frames');
    const [sig, header, parent, metadata, content] = frames.slice(d + 1, d + 6);
    if (this.key) {
      const want = Buffer.from(this.sign([header, parent, metadata, content]));
      const got = Buffer.from(sig.toString());
      if (want.length !== got.length || !timingSafeEqual(want, got)) throw new Error('invalid message signature');
    }
    return {
      identities: frames.slice(0, d),
      header: JSON.parse(header.toString()),
      parent_header: JSON.parse(parent.toString()),
      metadata: JSON.parse(metadata.toString()),
      content: JSON.parse(content.toString()),
      buffers: frames.slice(d + 6),
    };
  }

  /** The frames of a new message of `msgType` in reply to (or caused by) `parent`. */
  frames(
    parent: Message | null,
    msgType: string,
    content: Record<string, unknown>,
    opts: { identities?: Buffer[]; metadata?: Record<string, unknown>; session: string; buffers?: Buffer[] },
  ): (Buffer | string)[] {
    const header: Header = {
      msg_id: randomUUID(),
      session: opts.session,
      username: parent?.header.username ?? 'kernel',
      date: new Date().toISOString(),
      msg_type: msgType,
      version: PROTOCOL_VERSION,
    };
    const body = [
      JSON.stringify(header),
      JSON.stringify(parent?.header ?? {}),
      JSON.stringify(opts.metadata ?? {}),
      JSON.stringify(content),
    ];
    return [...(opts.identities ?? []), DELIM, this.sign(body), ...body, ...(opts.buffers ?? [])];
  }
}
