/** A generic HTTP(S) download that lands only complete, verified files (temporary file, fsync, rename). */
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as path from 'path';
import { Transform } from 'stream';
import { pipeline } from 'stream/promises';
import { FileDigest } from './checksums';
import { DataFileError, Digests, digestMatches, mismatchMessage, newHashers } from './verify';

export interface DownloadProgress {
  file: string;
  url: string;
  received: number;
  /** From Content-Length; undefined when the server does not say. */
  total?: number;
}

export interface DownloadOptions {
  timeoutMs?: number;
  maxRedirects?: number;
  onProgress?: (p: DownloadProgress) => void;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function get(url: URL, timeoutMs: number): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : null;
    if (!mod) {
      reject(new Error(`unsupported protocol ${url.protocol}`));
      return;
    }
    const req: http.ClientRequest = mod.get(
      url,
      { headers: { 'user-agent': 'resnet-ts', 'accept-encoding': 'identity' } },
      (res) => resolve({ req, res }),
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout: no data for ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** GET `url`, following up to `maxRedirects` redirects, to a 200 response (else the error `fail` makes). */
async function followRedirects(
  url: string,
  timeoutMs: number,
  maxRedirects: number,
  fail: (problem: string) => DataFileError,
): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
  let current = new URL(url);
  const at = () => (current.href !== url ? ` (at ${current.href})` : '');
  for (let hops = 0; ; hops++) {
    let got: { req: http.ClientRequest; res: http.IncomingMessage };
    try {
      got = await get(current, timeoutMs);
    } catch (e) {
      throw fail(`${(e as Error).message}${at()}`);
    }
    const { res } = got;
    const status = res.statusCode ?? 0;
    if (REDIRECTS.has(status) && res.headers.location) {
      res.resume();
      if (hops >= maxRedirects) throw fail(`too many redirects (more than ${maxRedirects})`);
      current = new URL(res.headers.location, current);
      continue;
    }
    if (status !== 200) {
      res.resume();
      throw fail(`HTTP ${status} ${res.statusMessage ?? ''}`.trimEnd() + at());
    }
    return got;
  }
}

/**
 * Downloads `url` to `dest` atomically: streams into `.<name>.part-<pid>` next to `dest` while
 * hashing, checks the digests against `accepted`, fsyncs and renames. On any failure the temp
 * file is removed and a {@link DataFileError} naming the file and URL is thrown; `dest` is then
 * untouched (it is never partially written).
 */
export async function downloadFile(
  url: string,
  dest: string,
  accepted: readonly FileDigest[],
  opts: DownloadOptions = {},
): Promise<Digests> {
  const timeoutMs = opts.timeoutMs ?? 30000;
  const maxRedirects = opts.maxRedirects ?? 5;
  const name = path.basename(dest);
  const tmp = path.join(path.dirname(dest), `.${name}.part-${process.pid}`);
  const fail = (problem: string) => new DataFileError(`downloading ${name} from ${url}: ${problem}`, name, url);

  try {
    const { req, res } = await followRedirects(url, timeoutMs, maxRedirects, fail);
    const lenHeader = res.headers['content-length'];
    const total = lenHeader !== undefined && /^\d+$/.test(lenHeader) ? Number(lenHeader) : undefined;
    const hasher = newHashers();
    let received = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        received += chunk.length;
        hasher.update(chunk);
        opts.onProgress?.({ file: name, url, received, total });
        cb(null, chunk);
      },
    });
    // The request's socket timeout also covers the body; make the reason survive.
    req.removeAllListeners('timeout');
    req.setTimeout(timeoutMs, () => res.destroy(new Error(`timeout: no data for ${timeoutMs} ms`)));
    try {
      await pipeline(res, tap, fs.createWriteStream(tmp, { flags: 'w', mode: 0o644 }));
    } catch (e) {
      const msg = (e as Error).message;
      if (msg.startsWith('timeout:'))
        throw fail(`${msg} after ${received}${total !== undefined ? ` of ${total}` : ''} bytes`);
      if (total !== undefined && received < total) {
        throw fail(`truncated: connection closed after ${received} of ${total} bytes (${msg})`);
      }
      throw fail(`${msg} after ${received} bytes`);
    }
    if (!res.complete) throw fail(`connection closed early after ${received} bytes`);
    if (total !== undefined && received !== total) {
      throw fail(`truncated: received ${received} of ${total} bytes (Content-Length)`);
    }
    const digests = hasher.digest();
    if (!digestMatches(digests, accepted)) {
      throw fail(mismatchMessage('content', accepted, digests).replace(/^content: /, ''));
    }
    const fh = await fs.promises.open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, dest);
    return digests;
  } catch (e) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    if (e instanceof DataFileError) throw e;
    throw fail((e as Error).message);
  }
}
