/**
 * downloadFile (src/data/download.ts) against a local server: the redirect limit at its boundary,
 * which statuses are followed, where a failure happened (the URL after redirects), the messages
 * of each failure, progress reports, and the digests it returns. data_files.test.ts covers the
 * same through ensureFashionMnist.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as path from 'path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DownloadProgress, downloadFile } from '../../src/data/download';
import { DataFileError } from '../../src/data/verify';
import { removeTmpDirs, tmpDir } from './helpers';

const BODY = Buffer.from(Array.from({ length: 40000 }, (_, i) => (i * 31) % 251));
const SHA = crypto.createHash('sha256').update(BODY).digest('hex');
const MD5 = crypto.createHash('md5').update(BODY).digest('hex');
const OK = [{ sha256: SHA }];

let server: http.Server;
let base: string;
const requests: string[] = [];
let lastHeaders: http.IncomingHttpHeaders = {};

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push(req.url!);
    lastHeaders = req.headers;
    const parts = req.url!.split('/').slice(1);
    const [mode] = parts;
    if (mode === 'good') {
      res.writeHead(200, { 'content-length': BODY.length }).end(BODY);
    } else if (mode === 'chunked') {
      res.writeHead(200);
      res.write(BODY.subarray(0, 1000));
      setTimeout(() => res.end(BODY.subarray(1000)), 5);
    } else if (mode === 'hops') {
      // /hops/<n>/<status>/f: n more redirects (relative locations) before the file
      const n = Number(parts[1]);
      res.writeHead(Number(parts[2]), { location: n > 1 ? `../../${n - 1}/${parts[2]}/f` : '/good/f' }).end();
    } else if (mode === 'to404') {
      res.writeHead(302, { location: '/missing/f' }).end();
    } else if (mode === 'nolocation') {
      res.writeHead(302).end();
    } else if (mode === 'status') {
      res.writeHead(Number(parts[1]), { location: '/good/f' }).end();
    } else if (mode === 'blank') {
      res.writeHead(500, '').end(); // a status line without a reason phrase
    } else if (mode === 'silent') {
      // headers never come
    } else if (mode === 'stall') {
      res.writeHead(200); // no length
      res.write(BODY.subarray(0, 7));
    } else if (mode === 'cut') {
      res.writeHead(200); // chunked, then the connection drops
      res.write(BODY.subarray(0, 9), () => res.socket?.destroy());
    } else {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(removeTmpDirs);
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  requests.length = 0;
});

/** The DataFileError of a download that must fail, and the directory it was to land in. */
async function failure(url: string, opts: Parameters<typeof downloadFile>[3] = {}) {
  const dir = tmpDir();
  try {
    await downloadFile(url, path.join(dir, 'f'), OK, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(DataFileError);
    expect((e as DataFileError).file).toBe('f');
    expect((e as DataFileError).url).toBe(url);
    expect(fs.readdirSync(dir)).toEqual([]); // no file, no .part file
    return (e as Error).message;
  }
  throw new Error(`expected ${url} to fail`);
}

describe('downloadFile', () => {
  it('lands the file (mode 644) and returns its SHA-256 and MD5', async () => {
    const dir = tmpDir();
    const dest = path.join(dir, 'f');
    expect(await downloadFile(`${base}/good/f`, dest, OK)).toEqual({ sha256: SHA, md5: MD5 });
    expect(fs.readFileSync(dest).equals(BODY)).toBe(true);
    expect(fs.statSync(dest).mode & 0o777).toBe(0o644);
    expect(fs.readdirSync(dir)).toEqual(['f']);
  });

  it('reports progress with the file, the URL, bytes so far and the total when the server gives one', async () => {
    const progress: DownloadProgress[] = [];
    const url = `${base}/chunked/f`;
    await downloadFile(url, path.join(tmpDir(), 'f'), OK, { onProgress: (p) => progress.push({ ...p }) });
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.every((p) => p.file === 'f' && p.url === url && p.total === undefined)).toBe(true);
    const received = progress.map((p) => p.received);
    expect(received).toEqual([...received].sort((a, b) => a - b));
    expect(received.at(-1)).toBe(BODY.length);
    const sized: DownloadProgress[] = [];
    await downloadFile(`${base}/good/f`, path.join(tmpDir(), 'f'), OK, { onProgress: (p) => sized.push(p) });
    expect(sized.at(-1)).toEqual({ file: 'f', url: `${base}/good/f`, received: BODY.length, total: BODY.length });
  });

  it('follows up to maxRedirects redirects (5 by default), relative locations included', async () => {
    await downloadFile(`${base}/hops/5/302/f`, path.join(tmpDir(), 'f'), OK);
    expect(requests).toEqual([
      '/hops/5/302/f',
      '/hops/4/302/f',
      '/hops/3/302/f',
      '/hops/2/302/f',
      '/hops/1/302/f',
      '/good/f',
    ]);
    expect(await failure(`${base}/hops/6/302/f`)).toBe(
      `downloading f from ${base}/hops/6/302/f: too many redirects (more than 5)`,
    );
    await downloadFile(`${base}/hops/2/302/f`, path.join(tmpDir(), 'f'), OK, { maxRedirects: 2 });
    expect(await failure(`${base}/hops/3/302/f`, { maxRedirects: 2 })).toMatch(/: too many redirects \(more than 2\)$/);
    requests.length = 0;
    expect(await failure(`${base}/hops/1/302/f`, { maxRedirects: 0 })).toMatch(/: too many redirects \(more than 0\)$/);
    expect(requests).toEqual(['/hops/1/302/f']);
  });

  it('follows 301, 302, 303, 307 and 308; other statuses with a location are errors', async () => {
    for (const status of [301, 302, 303, 307, 308])
      await downloadFile(`${base}/status/${status}/f`, path.join(tmpDir(), 'f'), OK);
    expect(await failure(`${base}/status/300/f`)).toBe(
      `downloading f from ${base}/status/300/f: HTTP 300 Multiple Choices`,
    );
    expect(await failure(`${base}/status/304/f`)).toMatch(/: HTTP 304 Not Modified$/);
    expect(await failure(`${base}/status/201/f`)).toMatch(/: HTTP 201 Created$/);
    // A redirect without a location is not followed.
    expect(await failure(`${base}/nolocation/f`)).toBe(`downloading f from ${base}/nolocation/f: HTTP 302 Found`);
  });

  it('says where it failed when that is not the URL asked for', async () => {
    expect(await failure(`${base}/to404/f`)).toBe(
      `downloading f from ${base}/to404/f: HTTP 404 Not Found (at ${base}/missing/f)`,
    );
    expect(await failure(`${base}/missing/f`)).toBe(`downloading f from ${base}/missing/f: HTTP 404 Not Found`);
  });

  it('no headers within the timeout, or no more data: a timeout naming the wait and the bytes so far', async () => {
    expect(await failure(`${base}/silent/f`, { timeoutMs: 150 })).toBe(
      `downloading f from ${base}/silent/f: timeout: no data for 150 ms`,
    );
    expect(await failure(`${base}/stall/f`, { timeoutMs: 150 })).toBe(
      `downloading f from ${base}/stall/f: timeout: no data for 150 ms after 7 bytes`,
    );
  });

  it('a connection that drops in a body of unknown length: the error and the bytes so far', async () => {
    expect(await failure(`${base}/cut/f`)).toMatch(
      new RegExp(`^downloading f from ${base}/cut/f: (aborted|.*closed.*) after 9 bytes$`),
    );
  });

  it('asks for the file as resnet-ts, uncompressed (the digests are of the bytes as stored)', async () => {
    await downloadFile(`${base}/good/f`, path.join(tmpDir(), 'f'), OK);
    expect(lastHeaders['user-agent']).toBe('resnet-ts');
    expect(lastHeaders['accept-encoding']).toBe('identity');
  });

  it('a status line without a reason phrase: just the code', async () => {
    expect(await failure(`${base}/blank/f`)).toBe(`downloading f from ${base}/blank/f: HTTP 500`);
  });

  it('wrong content: the expected and the actual digests', async () => {
    const other = [{ sha256: '0'.repeat(64) }];
    const dir = tmpDir();
    const e = await downloadFile(`${base}/good/f`, path.join(dir, 'f'), other).catch((x: Error) => x);
    expect(e).toBeInstanceOf(DataFileError);
    expect((e as Error).message).toBe(
      `downloading f from ${base}/good/f: checksum mismatch: expected SHA-256 ${'0'.repeat(64)}; actual SHA-256 ${SHA}`,
    );
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a local failure after the download (the destination is a directory) is named too, and the temp file removed', async () => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'f'));
    fs.writeFileSync(path.join(dir, 'f', 'inside'), 'x');
    const e = await downloadFile(`${base}/good/f`, path.join(dir, 'f'), OK).catch((x: Error) => x);
    expect(e).toBeInstanceOf(DataFileError);
    expect((e as Error).message).toMatch(new RegExp(`^downloading f from ${base}/good/f: E[A-Z]+: `));
    expect(fs.readdirSync(dir)).toEqual(['f']);
  });

  it('https URLs go through TLS (a plain HTTP server does not speak it)', async () => {
    const msg = await failure(`${base.replace('http:', 'https:')}/good/f`, { timeoutMs: 2000 });
    expect(msg).toMatch(new RegExp(`^downloading f from https://127\\.0\\.0\\.1:\\d+/good/f: `));
    expect(msg).not.toContain('unsupported protocol');
  });

  it('an unsupported protocol is named', async () => {
    expect(await failure('ftp://example.org/f')).toBe(
      'downloading f from ftp://example.org/f: unsupported protocol ftp:',
    );
  });
});
